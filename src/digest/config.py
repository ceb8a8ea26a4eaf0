"""Configuration: a TOML file validated into typed, frozen settings.

Read only at the edge (the CLI). Library functions take the section they need as an
argument. Relative paths in the file are resolved against the file's own folder; secrets
never live in the file: it names environment variables that hold them.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import replace
from datetime import timedelta
from email.utils import parseaddr
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AliasChoices,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from .config_errors import describe
from .crontab import cron_trigger  # the scheduler's own reading of a crontab line
from .errors import ConfigError
from .models import FeedSpec

DEFAULT_CONFIG = "digest.toml"
CONFIG_ENV = "DIGEST_CONFIG"  # names the configuration file when --config does not


def _address(value: str, shown: str | None = None) -> str:
    """An email address, checked for shape only (no DNS): ``name@domain.tld``."""
    local, at, domain = value.strip().rpartition("@")
    if not at or not local or "." not in domain or any(c.isspace() or c in "<>,;" for c in value.strip()):
        hint = " (write it as 'Name <name@example.org>')" if shown is not None else ""
        raise ValueError(f"not an email address: {shown if shown is not None else value!r}{hint}")
    return value.strip()


_DURATION = re.compile(r"(\d+(?:\.\d+)?)\s*(d|h|m|s)")
_UNITS = {"d": 86400, "h": 3600, "m": 60, "s": 1}


def parse_duration(value: object) -> timedelta:
    """``"30m"``, ``"2h"``, ``"1h30m"``, ``"45s"``, ``"1d"`` or a number of seconds."""
    if isinstance(value, timedelta):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool) and value >= 0:
        try:
            return timedelta(seconds=value)
        except (OverflowError, ValueError) as exc:
            raise ValueError(f"not a duration: {value!r} seconds is out of range") from exc
    text = str(value).strip().lower().replace(" ", "")
    if text in ("0", ""):
        return timedelta(0)
    parts = _DURATION.findall(text)
    if not parts or "".join(n + u for n, u in parts) != text:
        raise ValueError(f"not a duration: {value!r} (write it as '30m', '2h', '1h30m' or '90s')")
    try:
        return timedelta(seconds=sum(float(n) * _UNITS[u] for n, u in parts))
    except (OverflowError, ValueError) as exc:
        raise ValueError(f"not a duration: {value!r} is too long") from exc


def human(span: timedelta) -> str:
    """A duration as the config writes it (the inverse of :func:`parse_duration`): ``3h``,
    ``1h30m``, ``45s``. Contains no I/O."""
    seconds = max(0, round(span.total_seconds()))
    if seconds >= 60:
        seconds = round(seconds / 60) * 60  # "missed by 3h", not "by 3h0m12s"
    parts = [(seconds // 86400, "d"), (seconds % 86400 // 3600, "h"), (seconds % 3600 // 60, "m")]
    text = "".join(f"{n}{unit}" for n, unit in parts if n)
    return text or f"{seconds}s"


Duration = Annotated[timedelta, BeforeValidator(parse_duration)]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class FeedConfig(_Section):
    url: str
    name: str = ""
    topic: str | None = None
    weight: Annotated[float, Field(gt=0)] = 1.0

    @field_validator("url")
    @classmethod
    def _url(cls, v: str) -> str:
        v = v.strip()
        if not v:
            raise ValueError("must not be empty")
        return v

    def spec(self) -> FeedSpec:
        return FeedSpec(url=self.url, name=self.name or self.url, topic=self.topic, weight=self.weight)


class GatherConfig(_Section):
    """How feeds and linked pages are fetched."""

    connect_timeout: Annotated[float, Field(gt=0)] = 10.0
    read_timeout: Annotated[float, Field(gt=0)] = 20.0
    total_timeout: Annotated[float, Field(gt=0)] = 60.0
    # the whole gather: pending fetches are abandoned then (full text falls back to snippets)
    deadline: Duration = timedelta(minutes=3)
    max_bytes: Annotated[int, Field(gt=0)] = 10 * 1024 * 1024
    concurrency: Annotated[int, Field(ge=1)] = 64  # in all; politeness is per_host
    per_host: Annotated[int, Field(ge=1)] = 2
    user_agent: str | None = None
    full_text: bool = True
    full_text_min_words: Annotated[int, Field(ge=0)] = 120
    allow_private_addresses: bool = False
    group_threshold: Annotated[float, Field(gt=0, le=1)] = 0.3
    max_per_topic: Annotated[int, Field(ge=1)] | None = None
    parse_workers: Annotated[int, Field(ge=0, le=64)] | None = None  # None: one per core for 16+ feeds

    @field_validator("deadline")
    @classmethod
    def _deadline(cls, v: timedelta) -> timedelta:
        if v <= timedelta(0):
            raise ValueError("must be more than 0 (write it as '3m' or '90s')")
        return v


class CondenseConfig(_Section):
    """Which condenser runs. The extractive one needs no network and no model."""

    backend: Literal["extractive", "llm"] = "extractive"
    base_url: str | None = None
    model: str | None = None
    api_key_env: str = "DIGEST_LLM_API_KEY"
    timeout: Annotated[float, Field(gt=0)] = 60.0
    retries: Annotated[int, Field(ge=0)] = 2
    token_budget: Annotated[int, Field(ge=0)] = 200_000
    max_key_points: Annotated[int, Field(ge=3, le=5)] = 5
    backoff: Annotated[float, Field(ge=0)] = 1.0  # seconds before the first retry; doubles each time
    max_input_chars: Annotated[int, Field(ge=1000)] = 12_000  # per article sent to the LLM

    @model_validator(mode="after")
    def _llm_needs_endpoint(self) -> CondenseConfig:
        if self.backend == "llm" and not (self.base_url and self.model):
            raise ValueError("backend = 'llm' needs base_url and model")
        return self


class RenderConfig(_Section):
    """How the email looks. ``subject`` and ``preheader`` are jinja2 templates.

    Both see ``title``, ``date``, ``short_date``, ``date_iso``, ``top_headline``,
    ``headlines`` and ``count``. The subject leads with the news (the From name already says
    which newsletter it is); the preheader defaults to the next headlines, which the subject
    does not name. The unsubscribe and manage links get a signed ``token`` query parameter per
    subscriber; the manage link falls back to the unsubscribe one, the mailto to the sender's
    address. Gmail clips an HTML part over 102 KB, hiding the rest (the unsubscribe link
    included): past ``clip_limit_kb`` a run warns and, with ``trim_to_fit``, drops the
    lowest-ranked stories until every reader's HTML part fits.
    """

    subject: str = "{{ top_headline }}"
    preheader: str | None = None
    clip_limit_kb: Annotated[int, Field(ge=20, le=10_000)] = 100
    trim_to_fit: bool = True
    intro: str = ""
    language: str = "en"
    skip_empty: bool = True
    unsubscribe_url: str = "https://example.org/unsubscribe"
    manage_url: str | None = None
    unsubscribe_mailto: str | None = None
    list_id: str | None = None

    @field_validator("unsubscribe_url", "manage_url")
    @classmethod
    def _https(cls, v: str | None) -> str | None:
        # RFC 8058 one-click unsubscribe needs https; the link carries a per-subscriber token.
        if v is not None and (not v.startswith("https://") or not v.isascii() or any(c.isspace() for c in v)):
            raise ValueError(f"must be an https:// URL without spaces, got {v!r}")
        return v

    @field_validator("unsubscribe_mailto")
    @classmethod
    def _mailto(cls, v: str | None) -> str | None:
        return None if v is None else _address(v)

    @field_validator("subject", "preheader", "list_id")
    @classmethod
    def _one_line(cls, v: str | None) -> str | None:
        if v is not None and ("\r" in v or "\n" in v):
            raise ValueError("must be one line (it becomes a header)")
        return v

    @field_validator("language")
    @classmethod
    def _lang(cls, v: str) -> str:
        if not v.replace("-", "").isalnum():
            raise ValueError(f"must be a language tag such as 'en' or 'pt-BR', got {v!r}")
        return v


_CAP = re.compile(r"\s*(\d+)\s*/\s*(\S+)\s*")


def parse_cap(value: object) -> tuple[int, timedelta] | None:
    """``"50000/24h"``: at most that many messages in any window of that length."""
    if value is None or (isinstance(value, tuple) and len(value) == 2):
        return value
    match = _CAP.fullmatch(str(value))
    if not match or int(match[1]) < 1:
        raise ValueError(f"not a cap: {value!r} (write it as '50000/24h': messages per window)")
    window = parse_duration(match[2])
    if window < timedelta(minutes=1):
        raise ValueError(f"not a cap: {value!r}: the window must be a minute or more")
    return int(match[1]), window


_RATE_NAMES = AliasChoices("rate", "rate_per_second")


class DeliveryConfig(_Section):
    """Where messages go. The transport is a URL: ``smtp://``, ``smtps://`` or ``file:DIR``.

    ``rate``, ``rate_per_hour`` and ``rate_cap`` hold for every worker of a store together.
    """

    transport: str = "file:outbox"
    username_env: str = "DIGEST_SMTP_USER"
    password_env: str = "DIGEST_SMTP_PASSWORD"
    timeout: Annotated[float, Field(gt=0)] = 30.0
    pool_size: Annotated[int, Field(ge=1, le=64)] = 8
    # messages per second; ``rate_per_second`` is its older name
    rate: Annotated[float | None, Field(gt=0, validation_alias=AliasChoices("rate", "rate_per_second"))] = (
        None
    )
    rate_per_hour: Annotated[int, Field(gt=0)] | None = None
    rate_cap: Annotated[tuple[int, timedelta] | None, BeforeValidator(parse_cap)] = None  # "50000/24h"
    lease: Duration = timedelta(seconds=60)  # a worker silent this long is dead; others take its claims
    batch: Annotated[int, Field(ge=1, le=10_000)] = 50  # deliveries a worker claims at a time
    send_within: Duration = timedelta(hours=20)  # workers leave an edition's leftovers after this
    max_attempts: Annotated[int, Field(ge=1)] = 5
    backoff_base: Annotated[float, Field(ge=0)] = 1.0
    backoff_max: Annotated[float, Field(ge=0)] = 60.0
    bounce_after: Annotated[int, Field(ge=1)] = 3
    ca_file: Path | None = None
    dkim_key: Path | None = None
    dkim_selector: str | None = None
    dkim_domain: str | None = None

    @field_validator("lease")
    @classmethod
    def _lease(cls, v: timedelta) -> timedelta:
        if v < timedelta(seconds=3):
            raise ValueError("must be at least 3s (the heartbeat renews it three times per lease)")
        return v

    @property
    def rate_per_second(self) -> float | None:
        return self.rate


class BounceConfig(_Section):
    """What comes back (``[bounces]``): bounces and complaints, read by ``digest bounces`` or
    posted by an email provider to ``/hooks/bounce``.

    With ``domain`` set, every message's return path (SMTP MAIL FROM) is a VERP address,
    ``bounces+<key>-<yyyymmdd>@<domain>``, so a bounce names its subscriber and edition.
    """

    domain: str | None = None  # the bounce domain: its MX delivers bounces+*@ to a mailbox digest reads
    hard_after: Annotated[int, Field(ge=1)] = 1  # hard bounces that mark a subscriber bounced
    soft_after: Annotated[int, Field(ge=1)] = 3  # soft bounces, in that many separate editions
    secret_env: str = "DIGEST_BOUNCE_SECRET"  # the shared secret of /hooks/bounce
    imap_password_env: str = "DIGEST_IMAP_PASSWORD"  # the password of `digest bounces --imap`
    max_body: Annotated[int, Field(ge=1024, le=10 * 1024 * 1024)] = 256 * 1024  # a webhook's body, bytes

    @field_validator("domain")
    @classmethod
    def _domain(cls, v: str | None) -> str | None:
        if v is None:
            return v
        v = v.strip().lower().rstrip(".")
        if not re.fullmatch(r"(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}", v):
            raise ValueError(f"not a domain name: {v!r} (for example bounces.example.org)")
        return v


class PoolConfig(_Section):
    """Database connections each process keeps open to a PostgreSQL store (``[store_pool]``).

    Every digest process (a run, each worker, the desk, the scheduler) has its own pool; the
    server's ``max_connections`` must cover them all.
    """

    size: Annotated[int, Field(ge=1, le=100)] = 5
    overflow: Annotated[int, Field(ge=0, le=100)] = 5  # extra connections under load, closed after
    timeout: Annotated[float, Field(gt=0)] = 30.0  # seconds to wait for a free connection


class ArchiveConfig(_Section):
    """The public web archive of sent editions (``digest archive``, ``/archive/`` of ``digest serve``).

    ``base_url`` is where the archive is published: each edition's page is ``base_url`` plus
    the edition's day and a slash, which is also the emails' "View in browser" link.
    """

    base_url: str | None = None

    @field_validator("base_url")
    @classmethod
    def _base(cls, v: str | None) -> str | None:
        if v is None:
            return None
        v = v.strip()
        parts = urlsplit(v)
        if parts.scheme not in ("https", "http") or not parts.hostname or not v.isascii():
            raise ValueError(f"must be an http(s) URL such as 'https://example.org/archive/', got {v!r}")
        if parts.query or parts.fragment or any(c.isspace() or c in "<>\"'" for c in v):
            raise ValueError(f"must be a plain URL without query, fragment or quotes, got {v!r}")
        return v if v.endswith("/") else v + "/"


class DeskConfig(_Section):
    """The editors' desk (``digest serve``).

    Bound to loopback it needs no login; bound to any other address it refuses to start
    unless the environment variable named by ``token_env`` holds a token, which editors
    then give as the password of the browser's login prompt (any user name) or as a
    ``Authorization: Bearer`` header.
    """

    token_env: str = "DIGEST_DESK_TOKEN"
    # where editors reach the desk when not on loopback ("https://desk.example.org/"): its host
    # joins the names the server answers to (the links' and the archive's hosts, and loopback)
    public_url: str | None = None
    # a connection must send a request's headers this long after it opened (or after the last
    # response); past that it is closed (slow clients holding connections open)
    header_timeout: Annotated[Duration, Field(ge=timedelta(seconds=1), le=timedelta(minutes=5))] = timedelta(
        seconds=10
    )
    max_connections: Annotated[int, Field(ge=10, le=100_000)] = 1000  # more are closed at once

    @field_validator("public_url")
    @classmethod
    def _public(cls, v: str | None) -> str | None:
        if v is None:
            return None
        parts = urlsplit(v.strip())
        if parts.scheme not in ("https", "http") or not parts.hostname or not v.isascii():
            raise ValueError(f"must be an http(s) URL such as 'https://desk.example.org/', got {v!r}")
        return v.strip()


class Settings(_Section):
    """The whole configuration. Build with :func:`load_config`."""

    title: str = "Daily digest"
    sender: str = "Digest <digest@example.org>"
    reply_to: str | None = None  # where replies go, when not to the sender
    postal_address: str = ""
    timezone: str = "UTC"
    schedule: str = "0 7 * * *"
    review: Duration = timedelta(0)  # prepare the edition this long before the send time
    approval: Literal["none", "required"] = "none"
    misfire_grace: Duration = timedelta(hours=2)  # how late a missed run may still go out
    local_time: bool = False  # each reader at the schedule's time in their own timezone
    window_hours: Annotated[float, Field(gt=0)] = 36.0
    max_stories: Annotated[int, Field(ge=1, le=100)] = 15
    secret_env: str = "DIGEST_SECRET"
    store: str = "digest.db"
    store_pool: PoolConfig = PoolConfig()
    subscribers: Path | None = None
    templates: Path | None = None
    feeds: tuple[FeedConfig, ...] = ()
    gather: GatherConfig = GatherConfig()
    condense: CondenseConfig = CondenseConfig()
    render: RenderConfig = RenderConfig()
    delivery: DeliveryConfig = DeliveryConfig()
    desk: DeskConfig = DeskConfig()
    bounces: BounceConfig = BounceConfig()
    archive: ArchiveConfig = ArchiveConfig()
    base_dir: Path = Path(".")  # folder of the config file; not read from the file

    @field_validator("sender")
    @classmethod
    def _sender(cls, v: str) -> str:
        if "\r" in v or "\n" in v:
            raise ValueError("must be one line (it becomes the From header)")
        _address(parseaddr(v)[1], shown=v)
        return v

    @field_validator("reply_to")
    @classmethod
    def _reply_to(cls, v: str | None) -> str | None:
        if v is None:
            return None
        if "\r" in v or "\n" in v:
            raise ValueError("must be one line (it becomes the Reply-To header)")
        _address(parseaddr(v)[1], shown=v)
        return v

    @field_validator("timezone")
    @classmethod
    def _tz(cls, v: str) -> str:
        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown timezone {v!r}") from exc
        return v

    @field_validator("schedule")
    @classmethod
    def _cron(cls, v: str) -> str:
        try:
            cron_trigger(v, ZoneInfo("UTC"))
        except ValueError as exc:
            raise ValueError(f"invalid cron expression {v!r}: {exc}") from exc
        return v

    @field_validator("local_time")
    @classmethod
    def _one_time_a_day(cls, v: bool, info: ValidationInfo) -> bool:
        if v and "schedule" in info.data:
            from .waves import send_time  # below the config: pure arithmetic on the crontab line

            send_time(info.data["schedule"])
        return v

    @field_validator("review")
    @classmethod
    def _review(cls, v: timedelta) -> timedelta:
        if v > timedelta(hours=23):
            raise ValueError("must be less than a day (the edition is prepared the same day)")
        return v

    @field_validator("misfire_grace")
    @classmethod
    def _grace(cls, v: timedelta) -> timedelta:
        if v < timedelta(seconds=1) or v > timedelta(hours=23):
            raise ValueError("must be between 1s and 23h (a later run would be the next day's)")
        return v

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def feed_specs(self) -> tuple[FeedSpec, ...]:
        """The feeds, with local file paths resolved against the config file's folder."""
        specs = []
        for f in self.feeds:
            spec = f.spec()
            if "://" not in spec.url and not spec.url.startswith("file:"):
                spec = replace(spec, url=str(self.path(spec.url)))
            specs.append(spec)
        return tuple(specs)

    def path(self, p: Path | str) -> Path:
        """Resolve a path from the config file against the file's folder."""
        p = Path(p).expanduser()
        return p if p.is_absolute() else Path(os.path.normpath(self.base_dir / p))

    @property
    def store_url(self) -> str:
        """SQLAlchemy URL of the store: a URL as given, else a SQLite file path."""
        if "://" in self.store:
            return self.store
        return f"sqlite:///{self.path(self.store)}"

    @property
    def templates_dir(self) -> Path | None:
        return self.path(self.templates) if self.templates else None

    @property
    def subscribers_path(self) -> Path | None:
        return self.path(self.subscribers) if self.subscribers else None

    def transport_url(self) -> str:
        """The delivery URL; a relative ``file:`` folder is resolved against the config's folder."""
        url = self.delivery.transport
        if url.startswith("file:") and not url.startswith("file://"):
            return f"file:{self.path(url[5:])}"
        return url


def parse_config(
    data: Mapping[str, Any], *, source: str, base_dir: Path, text: str | None = None
) -> Settings:
    """Validate a parsed TOML mapping; errors name ``source``, the line (when ``text``, the
    file's text, is given) and the key, and suggest the key meant by a typo."""
    if "base_dir" in data:
        raise ConfigError(f"{source}: base_dir: not a setting")
    try:
        settings = Settings.model_validate({**data, "base_dir": base_dir})
    except ValidationError as exc:
        raise ConfigError(describe(exc, source=source, text=text, model=Settings)) from exc
    # key files named in the file are relative to the file, like every other path in it
    d = settings.delivery
    files = {k: settings.path(v) for k, v in (("ca_file", d.ca_file), ("dkim_key", d.dkim_key)) if v}
    return settings.model_copy(update={"delivery": d.model_copy(update=files)}) if files else settings


class ConfigMissing(ConfigError):
    """No configuration file was named and none was found. Exit code 2."""


def find_config(path: Path | str | None, environ: Mapping[str, str]) -> Path:
    """The configuration file a command reads, looked for as mature tools do: ``path`` (the
    ``--config`` flag), else the file named by ``$DIGEST_CONFIG``, else ``./digest.toml``.

    A file named by the flag is returned whether or not it exists, so that reading it fails
    naming it; built-in defaults are never used silently.

    Raises:
        ConfigError: ``$DIGEST_CONFIG`` names no file.
        ConfigMissing: nothing named and no ``digest.toml`` in the current folder.
    """
    if path is not None:
        return Path(path)
    named = environ.get(CONFIG_ENV, "").strip()
    if named:
        if not Path(named).is_file():
            raise ConfigError(f"{CONFIG_ENV}={named}: no such file")
        return Path(named)
    here = Path(DEFAULT_CONFIG)
    if here.is_file():
        return here
    raise ConfigMissing(
        f"no {DEFAULT_CONFIG} here (looked in ./{DEFAULT_CONFIG}); pass --config FILE, "
        f"set {CONFIG_ENV}, or start one with `digest init`"
    )


def default_settings(base_dir: Path) -> Settings:
    """The built-in defaults, for a command that needs no file (one given a store alone)."""
    return parse_config({}, source="(defaults)", base_dir=base_dir)


def load_config(path: Path | str | None = None, *, environ: Mapping[str, str] | None = None) -> Settings:
    """Read and validate a TOML configuration file.

    Args:
        path: the file; ``None`` looks for one with :func:`find_config` (``$DIGEST_CONFIG``
            in ``environ``, else ``./digest.toml``).
        environ: where ``DIGEST_CONFIG`` is looked up; none by default.

    Raises:
        ConfigMissing: ``path`` is ``None`` and no file was found.
        ConfigError: the file cannot be read, is not TOML, or holds an invalid value.
    """
    path = find_config(path, environ or {})
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror or exc}") from exc
    try:
        text = raw.decode("utf-8")
        data = tomllib.loads(text)
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 text") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: {exc}") from exc
    return parse_config(data, source=str(path), base_dir=path.resolve().parent, text=text)


def secret(name: str, environ: Mapping[str, str]) -> str | None:
    """A secret from the environment, or ``None`` when unset or empty."""
    value = environ.get(name, "")
    return value or None
