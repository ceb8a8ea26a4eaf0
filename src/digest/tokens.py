"""HMAC-signed per-subscriber tokens for unsubscribe and manage links. Contains no I/O.

A token is ``<address>.<mac>``, both parts base64url without padding. The address travels in
the token so that the web handler needs no lookup table; the MAC (HMAC-SHA256 over the
purpose and the address, truncated to 128 bits) proves that digest issued it. The purpose
keeps an unsubscribe token from being replayed as a manage token and the other way round.
Tokens do not expire: an unsubscribe link in an old email must keep working.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac

__all__ = ["MANAGE", "UNSUBSCRIBE", "sign", "verify"]

UNSUBSCRIBE = "unsubscribe"
MANAGE = "manage"
_MAC_BYTES = 16


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _mac(address: bytes, secret: bytes, purpose: str) -> bytes:
    if not secret:
        raise ValueError("the token secret must not be empty")
    msg = purpose.encode("utf-8") + b"\0" + address
    return hmac.new(secret, msg, hashlib.sha256).digest()[:_MAC_BYTES]


def sign(email: str, secret: bytes, *, purpose: str = UNSUBSCRIBE) -> str:
    """A URL-safe token naming ``email`` for ``purpose``.

    Args:
        email: the subscriber's address; compared case-insensitively.
        secret: the signing key (from the environment, never from the config file).
        purpose: what the token allows, e.g. :data:`UNSUBSCRIBE` or :data:`MANAGE`.

    Raises:
        ValueError: ``secret`` is empty.
    """
    address = email.strip().lower().encode("utf-8")
    return f"{_b64(address)}.{_b64(_mac(address, secret, purpose))}"


def verify(token: str, secret: bytes, *, purpose: str = UNSUBSCRIBE) -> str | None:
    """The address a valid token names, or ``None`` when it is forged, altered or malformed.

    Raises:
        ValueError: ``secret`` is empty.
    """
    head, sep, tail = token.strip().partition(".")
    if not sep or not head or not tail:
        return None
    try:
        address, mac = _unb64(head), _unb64(tail)
        email = address.decode("utf-8")
    except (binascii.Error, ValueError):
        return None
    if not hmac.compare_digest(mac, _mac(address, secret, purpose)):
        return None
    return email
