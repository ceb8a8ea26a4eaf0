"""The deliver stage: from rendered bytes to the server's 250 reply, recorded in the ledger.

:func:`open_transport` picks an adapter by URL scheme (``smtp://``, ``smtps://``, ``file:``,
``memory:``); :func:`deliver` drives it with a pool of workers, pacing and retries.
"""

from __future__ import annotations

import ssl
from collections.abc import Callable, Mapping
from pathlib import Path
from urllib.parse import unquote, urlsplit

from ..config import DeliveryConfig
from ..errors import ConfigError
from ..models import OutgoingMessage
from ._base import Ledger, LedgerReport, Settled, Transport, TransportUnavailable, check_message
from ._dkim import DkimSigner, dkim_signer
from ._local import FileTransport, MemoryTransport, eml_name
from ._loop import DeliveryReport, deliver
from ._rate import LocalPacer, Pacer, RateLimiter, backoff_delay
from ._smtp import SmtpTarget, SmtpTransport

__all__ = [
    "DeliveryReport",
    "FileTransport",
    "Ledger",
    "LedgerReport",
    "LocalPacer",
    "MemoryTransport",
    "Pacer",
    "RateLimiter",
    "Settled",
    "SmtpTransport",
    "Transport",
    "TransportUnavailable",
    "backoff_delay",
    "check_message",
    "deliver",
    "eml_name",
    "open_transport",
    "shown_transport",
]

Prepare = Callable[[OutgoingMessage], bytes]
_Opener = Callable[[str, DeliveryConfig, Mapping[str, str], Prepare], Transport]


def _prepare(signer: DkimSigner | None) -> Prepare:
    """What every transport does to a message first: refuse unsafe headers, then sign."""

    def prepare(message: OutgoingMessage) -> bytes:
        check_message(message)
        return signer.sign(message, message.data) if signer else message.data

    return prepare


def tls_context(config: DeliveryConfig) -> ssl.SSLContext:
    """A verifying client context: the system's CAs, or only ``config.ca_file`` when set."""
    try:
        return ssl.create_default_context(cafile=str(config.ca_file) if config.ca_file else None)
    except (OSError, ssl.SSLError) as exc:
        raise ConfigError(f"delivery.ca_file {config.ca_file}: cannot load: {exc}") from exc


def _smtp(url: str, config: DeliveryConfig, environ: Mapping[str, str], prepare: Prepare) -> Transport:
    parts = urlsplit(url)
    implicit = parts.scheme == "smtps"
    try:
        host, port = parts.hostname, parts.port or (465 if implicit else 25)
    except ValueError as exc:
        raise ConfigError(f"transport {shown_transport(url)!r}: {exc}") from exc
    if parts.query or parts.fragment:
        raise ConfigError(
            f"transport {shown_transport(url)!r}: no query or fragment in the URL (a password comes"
            f" from ${config.password_env}); expected {parts.scheme}://[user@]host:port"
        )
    if not host or parts.path not in ("", "/"):
        raise ConfigError(f"transport {shown_transport(url)!r}: expected {parts.scheme}://[user@]host:port")
    if parts.password is not None:
        raise ConfigError(
            f"transport {parts.scheme}://{host}:{port}: no password in the URL; set ${config.password_env}"
        )
    username = unquote(parts.username) if parts.username else environ.get(config.username_env) or None
    password = environ.get(config.password_env) or None
    if (username is None) != (password is None):
        missing = f"${config.password_env}" if password is None else f"a user (URL or ${config.username_env})"
        raise ConfigError(f"transport {parts.scheme}://{host}:{port}: AUTH needs {missing}")
    target = SmtpTarget(
        host=host,
        port=port,
        implicit_tls=implicit,
        tls_context=tls_context(config),
        username=username,
        password=password,
        timeout=config.timeout,
        pool_size=config.pool_size,
        give_up_after=config.pool_size * config.max_attempts,
    )
    return SmtpTransport(target, prepare)


def _file(url: str, config: DeliveryConfig, environ: Mapping[str, str], prepare: Prepare) -> Transport:
    rest = url[len("file:") :]
    if rest.startswith("//"):
        parts = urlsplit(url)
        if parts.netloc not in ("", "localhost"):
            raise ConfigError(f"transport {shown_transport(url)!r}: file: URLs name a local folder")
        rest = unquote(parts.path)
    if not rest:
        raise ConfigError(f"transport {shown_transport(url)!r}: expected file:DIR")
    return FileTransport(Path(rest).expanduser(), prepare)


def _memory(url: str, config: DeliveryConfig, environ: Mapping[str, str], prepare: Prepare) -> Transport:
    if url != "memory:":
        raise ConfigError(f"transport {shown_transport(url)!r}: expected memory:")
    return MemoryTransport(prepare)


# Adapters by URL scheme; add one here, never as an if/elif in the callers.
TRANSPORTS: dict[str, _Opener] = {"smtp": _smtp, "smtps": _smtp, "file": _file, "memory": _memory}


def shown_transport(url: str) -> str:
    """A transport URL as logs, the store and the desk show it: without user name, password,
    query or fragment (which could carry secrets). Contains no I/O.

    ``smtp://user:pw@mail.example.org:587`` -> ``smtp://mail.example.org:587``; a ``file:``
    folder as it is.
    """
    parts = urlsplit(url)
    if not parts.netloc:
        return url.split("?", 1)[0].split("#", 1)[0]
    host = parts.hostname or ""
    host = f"[{host}]" if ":" in host else host
    try:
        port = f":{parts.port}" if parts.port is not None else ""
    except ValueError:  # not a number: open_transport refuses it; show the host alone
        port = ""
    shown = f"{parts.scheme}://{host}{port}{parts.path}"
    return "".join(c if c.isprintable() else "?" for c in shown)


def open_transport(url: str, config: DeliveryConfig, *, environ: Mapping[str, str]) -> Transport:
    """The transport a URL names, ready for ``async with``.

    ``smtp://[user@]host:port`` (STARTTLS whenever the server offers it; credentials are
    sent only over TLS), ``smtps://[user@]host:port`` (implicit TLS), ``file:DIR`` (one
    ``.eml`` per message, written atomically; the offline default), ``memory:`` (an
    in-memory outbox, for tests). The user comes from the URL or ``$username_env``; the
    password only from ``$password_env``. Certificates are verified (``ca_file`` to
    trust a private CA); ``dkim_key`` signs every message.

    Raises:
        ConfigError: unknown scheme, malformed URL, incomplete credentials, unusable
            CA file or DKIM key.
    """
    scheme, colon, _ = url.partition(":")
    opener = TRANSPORTS.get(scheme.lower()) if colon else None
    if opener is None:
        known = ", ".join(f"{s}:" for s in TRANSPORTS)
        raise ConfigError(f"transport {shown_transport(url)!r}: unknown scheme (expected one of {known})")
    return opener(url, config, environ, _prepare(dkim_signer(config)))
