"""Render an edition into complete MIME messages, one per subscriber, cheaply.

Each *variant* of an edition (the stories one topic selection chooses) is rendered with
jinja, compiled from MJML, CSS-inlined and quoted-printable encoded once. The subscriber's
own values (greeting, address, signed links) sit in the compiled documents as random slot
markers; per subscriber we only encode those short values and join the pieces, so a list
of 100,000 costs seconds and memory does not grow with it.
"""

from __future__ import annotations

import html as htmlmod
import re
import secrets as secretsmod
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any

from jinja2.sandbox import SandboxedEnvironment

from .. import tokens
from ..bounces import verp_address
from ..config import Settings
from ..errors import ConfigError, DigestError, HeaderError, TemplateError
from ..models import Edition, OutgoingMessage, Subscriber
from . import mime, templates, view
from .html import compile_mjml

__all__ = ["EditionRenderer", "RenderedMessage", "WebPage"]

SLOTS = ("greeting", "name", "first_name", "email", "unsubscribe", "manage")
MAX_VARIANTS = 32  # compiled variants kept; a miss costs one compile (a few ms)


@dataclass(frozen=True, slots=True)
class RenderedMessage:
    """One subscriber's message, with its decoded parts (for ``digest preview``)."""

    subject: str
    html: str
    text: str
    message: OutgoingMessage
    preheader: str = ""


@dataclass(frozen=True, slots=True)
class WebPage:
    """The edition's web page (the archive's), with its subject, preview line and headlines."""

    subject: str
    preheader: str
    html: str
    headlines: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class _Variant:
    subject: str
    html: str  # with slot markers
    text: str
    frame: mime.Frame
    preheader: str = ""


@dataclass(frozen=True, slots=True)
class _Placeholders:
    """What templates see as ``subscriber``: markers filled in per subscriber after compiling."""

    name: str
    email: str
    first_name: str


def _with_query(url: str, **params: str) -> str:
    query = "&".join(f"{k}={v}" for k, v in params.items())
    return f"{url}{'&' if '?' in url else '?'}{query}"


class EditionRenderer:
    """Renders one edition for any number of subscribers.

    Args:
        edition: the stories and their condensations.
        settings: ``title``, ``sender``, ``postal_address``, ``templates_dir`` and ``render``.
        secret: the key that signs unsubscribe and manage tokens and Message-IDs.
        now: the time written in the Date header.
        subject_prefix: put before every subject (the desk's test copies say "[Test] ").
        check: compile the edition once now, so that a template error surfaces before
            anything is sent; the archive's index and feed, which need only the subjects, skip it.

    Raises:
        TemplateError: a template cannot be loaded, rendered or compiled (naming file and line).
        HeaderError: the sender, list id or subject would be an unsafe header.
        ConfigError: the secret is empty or a link setting is not https.
    """

    def __init__(
        self,
        edition: Edition,
        settings: Settings,
        *,
        secret: bytes,
        now: datetime,
        subject_prefix: str = "",
        check: bool = True,
    ) -> None:
        if not secret:
            raise ConfigError(f"{settings.secret_env}: the signing secret is empty")
        self._edition = edition
        self._settings = settings
        self._subject_prefix = subject_prefix  # "[Test] " for an editor's test copy
        self._secret = secret
        cfg = settings.render
        self._env = templates.environment(settings.templates_dir)
        self._base = templates.load(self._env, templates.BASE)
        self._text = templates.load(self._env, templates.TEXT)
        self._greeting = templates.load(self._env, templates.GREETING)
        plain = SandboxedEnvironment(undefined=self._env.undefined, autoescape=False)
        self._subject = templates.from_string(plain, cfg.subject, "config render.subject")
        self._preheader = (
            templates.from_string(plain, cfg.preheader, "config render.preheader")
            if (cfg.preheader)
            else None
        )
        self._title = view.one_line(edition.title or settings.title)
        sender_name, self._sender = mime.parse_sender(settings.sender)
        self._domain = self._sender.rpartition("@")[2]
        self._unsubscribe = self._link(cfg.unsubscribe_url, "render.unsubscribe_url")
        self._manage = self._link(cfg.manage_url or cfg.unsubscribe_url, "render.manage_url")
        mailto = cfg.unsubscribe_mailto or self._sender
        self._mailto = mime.ascii_address(mailto.removeprefix("mailto:").split("?")[0], "List-Unsubscribe")
        when = now if now.tzinfo else now.replace(tzinfo=UTC)
        self._headers = (
            mime.mailbox("From", self._sender, sender_name)
            + self._reply_to(settings.reply_to)
            + mime.fold("Date", format_datetime(when))
            + mime.fold("List-Id", self._list_id(cfg.list_id))
            + b"List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n"
        )
        archive = settings.archive.base_url
        # the edition's page in the web archive (digest.archive): the "View in browser" link
        self.web_url = f"{archive}{edition.day.isoformat()}/" if archive else ""
        self._archive_url = archive or ""
        # A random marker per renderer, so that no feed text can pose as a slot.
        self._nonce = f"dgs{secretsmod.token_hex(8)}"
        self._marker = {s: f"{self._nonce}{s}x" for s in SLOTS}
        self._slot_re = re.compile(f"{self._nonce}({'|'.join(SLOTS)})x")
        self._variants: OrderedDict[tuple[int, ...], _Variant] = OrderedDict()
        self.compiled = 0  # variants compiled so far: one per distinct story selection
        if check:  # surface template errors now, before anything is sent
            self._variant(tuple(range(len(edition.stories))))
            self._values(Subscriber("reader@example.org", "Reader"))

    @staticmethod
    def _reply_to(setting: str | None) -> bytes:
        if not setting:
            return b""
        display, address = mime.parse_sender(setting)
        return mime.mailbox("Reply-To", address, display)

    @staticmethod
    def _link(url: str, key: str) -> str:
        if not url.lower().startswith("https://") or not url.isascii() or not view.safe_link(url):
            raise ConfigError(f"{key}: must be an https:// URL, got {url!r}")
        return url

    def _list_id(self, configured: str | None) -> str:
        if configured and "<" in configured:
            return configured
        ident = configured or (re.sub(r"[^a-z0-9]+", "-", self._title.lower()).strip("-") or "digest")
        if "." not in ident:
            ident = f"{ident}.{self._domain}"
        return f"{self._title} <{ident}>"

    # -- variants: compiled once per topic selection -------------------------------------

    def _context(self, indexes: tuple[int, ...], *, web: bool = False) -> dict[str, Any]:
        ed = self._edition
        secs, refs = view.sections(ed, indexes)
        heads = view.headlines(secs)
        ctx: dict[str, Any] = {
            "title": self._title,
            "date": view.long_date(ed.day),
            "short_date": view.short_date(ed.day),
            "date_iso": ed.day.isoformat(),
            "edition": ed,
            "count": len(heads),
            "headlines": heads,
            "top_headline": heads[0] if heads else "",
        }
        # Feed text reaches the context as one line; a line break here comes from the template.
        subject = self._subject_prefix + mime.check_value(
            "Subject", view.one_line(ed.subject) if ed.subject.strip() else self._subject(ctx).strip()
        )
        stories = [s for sec in secs for s in sec.stories]
        if ed.preheader.strip():
            pre = view.one_line(ed.preheader)
        elif self._preheader:
            pre = view.one_line(self._preheader(ctx))
        else:
            pre = view.default_preheader(heads, subject, stories[0].summary if stories else "")
        m = self._marker
        ctx.update(
            subject=subject,
            preheader=pre,
            intro=(ed.intro or self._settings.render.intro).strip(),
            sections=secs,
            stories=stories,
            references=refs,
            language=self._settings.render.language,
            postal_address=self._settings.postal_address.strip(),
            sender=self._sender,
            subscriber=_Placeholders(name=m["name"], email=m["email"], first_name=m["first_name"]),
            greeting=m["greeting"],
            unsubscribe_url=m["unsubscribe"],
            manage_url=m["manage"],
            web=web,
            view_url="" if web else self.web_url,
            archive_url=self._archive_url,
        )
        return ctx

    def _variant(self, indexes: tuple[int, ...]) -> _Variant:
        hit = self._variants.get(indexes)
        if hit is not None:
            self._variants.move_to_end(indexes)
            return hit
        ctx = self._context(indexes)
        html = compile_mjml(templates.render(self._base, ctx), self._env) + "\n"
        text = templates.render(self._text, ctx)
        for doc, name in ((html, templates.BASE), (text, templates.TEXT)):
            self._check_markers(doc, name)
        headers = self._headers + mime.fold("Subject", ctx["subject"])
        seed = f"{self._edition.id}/{indexes}"
        frame = mime.frame(headers, text, html, self._slot_re, seed)
        variant = _Variant(ctx["subject"], html, text, frame, ctx["preheader"])
        self.compiled += 1
        self._variants[indexes] = variant
        if len(self._variants) > MAX_VARIANTS:
            self._variants.popitem(last=False)
        return variant

    def _check_markers(self, doc: str, name: str) -> None:
        # A marker that a filter changed (upper, truncate …) would leak into the email.
        if doc.lower().count(self._nonce) != len(self._slot_re.findall(doc)):
            raise TemplateError(
                f"{name}: subscriber values (subscriber.name, greeting, links …) must be inserted "
                "as they are, without filters"
            )

    # -- per subscriber: cheap substitution ------------------------------------------------

    def _values(self, sub: Subscriber) -> tuple[dict[str, str], str]:
        """The slot values (plain text) and the unsubscribe token of one subscriber."""
        first = sub.greeting_name
        context = {
            "name": sub.name,
            "first_name": first,
            "email": sub.email,
            "subscriber": sub,
            "title": self._title,
        }
        greeting = view.one_line(templates.render(self._greeting, context))
        # signed with the store's key of the reader, never the address; a reader the store does
        # not know (a test copy, a stand-in) gets a token as long that names nobody
        unsub = tokens.sign(sub.key, self._secret, purpose=tokens.UNSUBSCRIBE)
        manage = tokens.sign(sub.key, self._secret, purpose=tokens.MANAGE)
        values = {
            "greeting": greeting,
            "name": sub.name,
            "first_name": first,
            "email": sub.email,
            "unsubscribe": _with_query(self._unsubscribe, token=unsub),
            "manage": _with_query(self._manage, token=manage),
        }
        return values, unsub

    def _build(self, variant: _Variant, sub: Subscriber) -> tuple[OutgoingMessage, dict[str, str]]:
        values, token = self._values(sub)
        recipient = mime.ascii_address(sub.email, "To")
        mid = mime.message_id(self._secret, self._edition.id, recipient, self._domain)
        mailto = f"mailto:{self._mailto}?subject=unsubscribe%20{token}"
        headers = (
            mime.mailbox("To", recipient, sub.name)
            + f"Message-ID: {mid}\r\n".encode("ascii")
            + f"List-Unsubscribe: <{values['unsubscribe']}>,\r\n <{mailto}>\r\n".encode("ascii")
        )
        html_values = {k: htmlmod.escape(v) for k, v in values.items()}
        data = mime.assemble(variant.frame, headers, values, html_values)
        message = OutgoingMessage(
            self._edition.id, self._return_path(sub), recipient, mid, data, subscriber=sub.email
        )
        return message, values

    def _return_path(self, sub: Subscriber) -> str:
        """The envelope sender (MAIL FROM), where bounces go: with a bounce domain a VERP address
        naming the subscriber's key and the edition; else the From address."""
        domain = self._settings.bounces.domain
        if domain and sub.key:
            return verp_address(sub.key, self._edition.id, domain)
        return self._sender

    def message(self, subscriber: Subscriber) -> OutgoingMessage | None:
        """The complete message for one subscriber.

        Returns:
            ``None`` when the subscriber is not active, or when their topics select no story
            and ``render.skip_empty`` is set.

        Raises:
            HeaderError: their name or address would be an unsafe header.
        """
        if not subscriber.active:
            return None
        indexes = view.select(self._edition, subscriber)
        if not indexes and self._settings.render.skip_empty:
            return None
        return self._build(self._variant(indexes), subscriber)[0]

    def messages(
        self,
        subscribers: Iterable[Subscriber],
        on_error: Callable[[Subscriber, DigestError], None] | None = None,
    ) -> Iterator[OutgoingMessage]:
        """Stream the messages of many subscribers, in order, in constant memory.

        Args:
            subscribers: any iterable; consumed lazily.
            on_error: called with a subscriber whose message cannot be built (for example a
                line break in their name) and the error; the others go on. Without it the
                error propagates.
        """
        for sub in subscribers:
            try:
                msg = self.message(sub)
            except (HeaderError, TemplateError) as exc:
                if on_error is None:
                    raise
                on_error(sub, exc)
                continue
            if msg is not None:
                yield msg

    def preview(self, subscriber: Subscriber) -> RenderedMessage:
        """One subscriber's message with its decoded HTML and text (any status, even if empty)."""
        variant = self._variant(view.select(self._edition, subscriber))
        msg, values = self._build(variant, subscriber)
        return RenderedMessage(
            subject=variant.subject,
            html=self._fill(variant.html, values, escape=True),
            text=self._fill(variant.text, values, escape=False),
            message=msg,
            preheader=variant.preheader,
        )

    # -- sizes (the Gmail clip guard) and the archive's web page -----------------------------

    def slot_sizes(self, subscriber: Subscriber) -> dict[str, int]:
        """Bytes each of the subscriber's own values takes in the HTML part as sent (escaped,
        quoted-printable): what :meth:`html_size` adds to a variant's constant pieces."""
        values, _ = self._values(subscriber)
        return {k: len(mime.qp_piece(htmlmod.escape(v))) for k, v in values.items()}

    def html_size(self, subscriber: Subscriber, slot_sizes: Mapping[str, int] | None = None) -> int | None:
        """Bytes of the subscriber's HTML part as sent: the quoted-printable body, as it stands
        in the message (a little larger than the decoded HTML, so a limit on it is safe).

        Args:
            slot_sizes: the sizes of the per-subscriber values to assume (the largest of many
                readers of the same topics gives a bound for them all); default: this
                subscriber's own.

        Returns:
            ``None`` when the subscriber gets no message (no story of their topics and
            ``render.skip_empty``).
        """
        indexes = view.select(self._edition, subscriber)
        if not indexes and self._settings.render.skip_empty:
            return None
        sizes = self.slot_sizes(subscriber) if slot_sizes is None else slot_sizes
        pieces = self._variant(indexes).frame.html
        return sum(len(p) if isinstance(p, bytes) else sizes[p] for p in pieces)

    def web_page(self, *, compiled: bool = True) -> WebPage:
        """The edition's page for the web archive: every story, from the same templates, for
        nobody in particular (``web`` is true: no greeting, address or signed links; a
        template that still inserts them gets blanks and the plain link settings).

        Args:
            compiled: ``False`` leaves ``html`` empty (the subject and headlines cost almost
                nothing; compiling the page is what takes time).
        """
        ctx = self._context(tuple(range(len(self._edition.stories))), web=True)
        if not compiled:
            return WebPage(ctx["subject"], ctx["preheader"], "", tuple(ctx["headlines"]))
        html = compile_mjml(templates.render(self._base, ctx), self._env) + "\n"
        self._check_markers(html, templates.BASE)
        anonymous = {"name": "", "first_name": "", "email": "", "subscriber": None, "title": self._title}
        neutral = {
            "greeting": view.one_line(templates.render(self._greeting, anonymous)),
            "name": "",
            "first_name": "",
            "email": "",
            "unsubscribe": self._unsubscribe,
            "manage": self._manage,
        }
        return WebPage(
            subject=ctx["subject"],
            preheader=ctx["preheader"],
            html=self._fill(html, neutral, escape=True),
            headlines=tuple(ctx["headlines"]),
        )

    def _fill(self, doc: str, values: Mapping[str, str], *, escape: bool) -> str:
        def sub(m: re.Match[str]) -> str:
            v = values[m.group(1)]
            return htmlmod.escape(v) if escape else v

        return self._slot_re.sub(sub, doc)
