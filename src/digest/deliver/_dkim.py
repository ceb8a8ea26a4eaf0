"""Optional DKIM signing (dkimpy) of the exact bytes a transport sends."""

from __future__ import annotations

from pathlib import Path

import dkim

from ..config import DeliveryConfig
from ..errors import ConfigError, DeliveryError
from ..models import OutgoingMessage

_PROBE = b"From: a@example.org\r\nTo: b@example.org\r\nSubject: probe\r\n\r\nprobe\r\n"


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
            data, self._selector, self._domain, self._key, canonicalize=(b"relaxed", b"relaxed")
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
