"""HMAC-signed per-subscriber tokens for unsubscribe and manage links. Contains no I/O.

A token is ``<key>.<mac>``: the subscriber's key (an opaque random id the store gives each
subscriber, 32 characters of lowercase base32) and an HMAC-SHA256 over the purpose and the key,
truncated to 128 bits, base64url. The token holds no form of the address, so links in mail
archives, proxy logs and browser histories name nobody; the web handler finds the subscriber by
the key's index. The purpose keeps an unsubscribe token from being replayed as a manage token
and the other way round. Tokens do not expire: an unsubscribe link in an old email must keep
working.

Tokens from before keys (``<address in base64url>.<mac>``) are still accepted: :func:`verify`
then names the address, which the handler looks up by the table's primary key.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass

__all__ = ["MANAGE", "NOBODY", "UNSUBSCRIBE", "Claim", "new_key", "sign", "verify"]

UNSUBSCRIBE = "unsubscribe"
MANAGE = "manage"
_MAC_BYTES = 16
_KEY_BYTES = 20  # 160 bits: 32 base32 characters, no padding
_KEY = re.compile(r"[a-z2-7]{32}")
#: The key in the tokens of readers the store does not know (a test copy, the desk's sample
#: reader): as long as a real one, and never given to a subscriber (it is 20 zero bytes).
NOBODY = "a" * 32
_V2 = b"key\0"  # the MAC of a key token covers this prefix: it can never verify as an address


@dataclass(frozen=True, slots=True)
class Claim:
    """What a genuine token names: a subscriber's ``key``, or (a token from before keys) an
    ``email``. Exactly one of the two is set."""

    key: str | None = None
    email: str | None = None


def new_key() -> str:
    """A new subscriber key: 160 random bits as lowercase base32, safe in a URL and in the local
    part of an address (``bounces+<key>@…``)."""
    while (key := base64.b32encode(secrets.token_bytes(_KEY_BYTES)).decode("ascii").lower()) == NOBODY:
        pass  # pragma: no cover - one chance in 2**160
    return key


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _mac(subject: bytes, secret: bytes, purpose: str) -> bytes:
    if not secret:
        raise ValueError("the token secret must not be empty")
    msg = purpose.encode("utf-8") + b"\0" + subject
    return hmac.new(secret, msg, hashlib.sha256).digest()[:_MAC_BYTES]


def sign(key: str | None, secret: bytes, *, purpose: str = UNSUBSCRIBE) -> str:
    """A URL-safe token naming the subscriber whose key is ``key``, for ``purpose``.

    Args:
        key: the subscriber's key (``Subscriber.key``); ``None`` for a reader the store does
            not know, whose token is as long as any other and resolves to nobody.
        secret: the signing key (from the environment, never from the config file).
        purpose: what the token allows, e.g. :data:`UNSUBSCRIBE` or :data:`MANAGE`.

    Raises:
        ValueError: ``secret`` is empty, or ``key`` is not a key.
    """
    key = NOBODY if key is None else key
    if not _KEY.fullmatch(key):
        raise ValueError(f"token: {key!r} is not a subscriber key")
    return f"{key}.{_b64(_mac(_V2 + key.encode('ascii'), secret, purpose))}"


def verify(token: str, secret: bytes, *, purpose: str = UNSUBSCRIBE) -> Claim | None:
    """What a valid token names, or ``None`` when it is forged, altered or malformed.

    Raises:
        ValueError: ``secret`` is empty.
    """
    head, sep, tail = token.strip().partition(".")
    if not sep or not head or not tail or len(token) > 2048:
        return None
    try:
        mac = _unb64(tail)
    except (binascii.Error, ValueError):
        return None
    if _b64(mac) != tail:  # one spelling per token: base64's unused low bits must be zero
        return None
    if _KEY.fullmatch(head) and hmac.compare_digest(mac, _mac(_V2 + head.encode("ascii"), secret, purpose)):
        return Claim(key=head)
    return _legacy(head, mac, secret, purpose)


def _legacy(head: str, mac: bytes, secret: bytes, purpose: str) -> Claim | None:
    """A token from before keys: the address in base64url, signed on its own."""
    try:
        address = _unb64(head)
        email = address.decode("utf-8")
    except (binascii.Error, ValueError):
        return None
    if _b64(address) != head:
        return None
    if not hmac.compare_digest(mac, _mac(address, secret, purpose)):
        return None
    return Claim(email=email)
