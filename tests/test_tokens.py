"""Signed unsubscribe and manage tokens: they name a subscriber's key, never the address."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from digest import tokens

SECRET = b"test-secret-0123456789"
KEY = tokens.new_key()


def legacy(email: str, secret: bytes = SECRET, purpose: str = tokens.UNSUBSCRIBE) -> str:
    """A token as digest signed them before subscriber keys (in emails already sent): the
    address in base64url, and an HMAC over the purpose and the address. Built by hand here, so
    that the format stays what old emails carry whatever the code becomes."""

    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    address = email.strip().lower().encode()
    mac = hmac.new(secret, purpose.encode() + b"\0" + address, hashlib.sha256).digest()[:16]
    return f"{b64(address)}.{b64(mac)}"


def test_round_trip_names_the_key() -> None:
    token = tokens.sign(KEY, SECRET)
    assert tokens.verify(token, SECRET) == tokens.Claim(key=KEY)
    assert token == tokens.sign(KEY, SECRET)  # the same link in every edition


def test_keys_are_random_url_and_local_part_safe() -> None:
    keys = {tokens.new_key() for _ in range(1000)}
    assert len(keys) == 1000
    assert all(re.fullmatch(r"[a-z2-7]{32}", k) for k in keys)
    assert tokens.NOBODY not in keys


def test_token_is_url_safe_and_holds_no_form_of_the_address() -> None:
    token = tokens.sign(KEY, SECRET)
    assert all(c.isalnum() or c in "-_." for c in token)
    assert "zoë" not in token
    assert token.split(".")[0] == KEY


def test_a_reader_without_a_key_gets_a_token_as_long_that_names_nobody() -> None:
    nobody = tokens.sign(None, SECRET)
    assert len(nobody) == len(tokens.sign(KEY, SECRET))
    assert tokens.verify(nobody, SECRET) == tokens.Claim(key=tokens.NOBODY)


@pytest.mark.parametrize(
    "mangle",
    [
        lambda t: t[:-1] + ("A" if t[-1] != "A" else "B"),  # altered MAC
        lambda t: tokens.new_key() + "." + t.split(".")[1],  # another key, the same MAC
        lambda t: t.split(".")[0],  # no MAC
        lambda t: "",
        lambda t: "....",
        lambda t: "%%%." + t.split(".")[1],  # not base64
        lambda t: t.upper(),
    ],
)
def test_forged_or_malformed_tokens_are_refused(mangle: object) -> None:
    token = tokens.sign(KEY, SECRET)
    assert callable(mangle)
    assert tokens.verify(mangle(token), SECRET) is None


def test_other_secret_or_purpose_is_refused() -> None:
    token = tokens.sign(KEY, SECRET)
    assert tokens.verify(token, b"another secret") is None
    assert tokens.verify(token, SECRET, purpose=tokens.MANAGE) is None
    manage = tokens.sign(KEY, SECRET, purpose=tokens.MANAGE)
    assert tokens.verify(manage, SECRET, purpose=tokens.MANAGE) == tokens.Claim(key=KEY)
    assert manage != token


def test_empty_secret_or_a_key_that_is_not_one_is_an_error() -> None:
    with pytest.raises(ValueError, match="secret"):
        tokens.sign(KEY, b"")
    with pytest.raises(ValueError, match="not a subscriber key"):
        tokens.sign("alice@example.com", SECRET)


def test_tokens_of_emails_already_sent_still_verify_with_their_purpose() -> None:
    old = legacy("Alice@Example.COM")
    assert tokens.verify(old, SECRET) == tokens.Claim(email="alice@example.com")
    assert tokens.verify(old, SECRET, purpose=tokens.MANAGE) is None
    manage = legacy("alice@example.com", purpose=tokens.MANAGE)
    assert tokens.verify(manage, SECRET, purpose=tokens.MANAGE) == tokens.Claim(email="alice@example.com")
    assert tokens.verify(legacy("alice@example.com", b"another secret"), SECRET) is None
    swapped = legacy("mallory@example.com").split(".")[0] + "." + old.split(".")[1]
    assert tokens.verify(swapped, SECRET) is None


def test_a_key_token_never_verifies_as_an_address() -> None:
    """The MAC of a key token covers a prefix no address has: it cannot be replayed as the
    legacy token of an address that happens to look like a key."""
    head = base64.urlsafe_b64encode(KEY.encode()).rstrip(b"=").decode()
    token = tokens.sign(KEY, SECRET)
    assert tokens.verify(f"{head}.{token.split('.')[1]}", SECRET) is None


@given(st.emails())
def test_any_legacy_address_round_trips(address: str) -> None:
    assert tokens.verify(legacy(address), SECRET) == tokens.Claim(email=address.strip().lower())
