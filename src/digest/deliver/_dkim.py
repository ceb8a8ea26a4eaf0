"""Optional DKIM signing (dkimpy) of the exact bytes a transport sends.

The signature covers dkimpy's recommended headers that the message has, plus
``List-Unsubscribe-Post``: RFC 8058 §4 requires both ``List-Unsubscribe`` headers to be
signed, or Gmail and Yahoo do not offer one-click unsubscribe (dkimpy's default list lacks it).
"""

from __future__ import annotations

import re
from pathlib import Path

import dkim

from ..config import DeliveryConfig
from ..errors import ConfigError, DeliveryError
from ..models import OutgoingMessage

_PROBE = b"From: a@example.org\r\nTo: b@example.org\r\nSubject: probe\r\n\r\nprobe\r\n"
SIGNED = (*dkim.DKIM.SHOULD, b"list-unsubscribe-post")
_FIELD = re.compile(rb"^([!-9;-~]+):", re.M)


def signed_headers(data: bytes) -> list[bytes]:
    """The header names to sign: those of :data:`SIGNED` that ``data`` has, in its order, once."""
    head = data.split(b"\r\n\r\n", 1)[0]
    names = (m.group(1).lower() for m in _FIELD.finditer(head))
    return [n for n in dict.fromkeys(names) if n in SIGNED]


class DkimSigner:
    """Signs messages with a private key read once, when the transport opens."""

    def __init__(self, key: bytes, *, selector: str, domain: str, source: str) -> None:
        self._key = key
        self._selector = selector.encode("ascii")
        self._domain = domain.encode("ascii")
        try:  # fail at start-up on a bad key, not on the first subscriber
            self._sign(_PROBE)
        except (dkim.DKIMException, ValueError) as exc:
            raise ConfigError(f"{source}: cannot sign with this DKIM key: {exc}") from exc

    def _sign(self, data: bytes) -> bytes:
        header: bytes = dkim.sign(
            data,
            self._selector,
            self._domain,
            self._key,
            canonicalize=(b"relaxed", b"relaxed"),
            include_headers=signed_headers(data),
        )
        return header + data

    def sign(self, message: OutgoingMessage, data: bytes) -> bytes:
        """Return ``data`` with a DKIM-Signature header prepended.

        Raises:
            DeliveryError: (permanent) the message cannot be signed.
        """
        try:
            return self._sign(data)
        except (dkim.DKIMException, ValueError) as exc:
            raise DeliveryError(message.recipient, f"DKIM signing failed: {exc}", permanent=True) from exc


def dkim_signer(config: DeliveryConfig) -> DkimSigner | None:
    """The signer the config asks for, or ``None`` when ``dkim_key`` is unset.

    Raises:
        ConfigError: the key file cannot be read or used, or selector/domain are missing.
    """
    if config.dkim_key is None:
        return None
    source = f"delivery.dkim_key {config.dkim_key}"
    if not (config.dkim_selector and config.dkim_domain):
        raise ConfigError(f"{source}: set delivery.dkim_selector and delivery.dkim_domain too")
    try:
        key = Path(config.dkim_key).read_bytes()
    except OSError as exc:
        raise ConfigError(f"{source}: cannot read: {exc.strerror or exc}") from exc
    try:
        return DkimSigner(key, selector=config.dkim_selector, domain=config.dkim_domain, source=source)
    except UnicodeEncodeError as exc:
        raise ConfigError(f"{source}: selector and domain must be ASCII") from exc
