"""Signed unsubscribe and manage tokens."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from digest import tokens

SECRET = b"test-secret-0123456789"


def test_round_trip_and_case_insensitive_address() -> None:
    token = tokens.sign("Alice@Example.COM", SECRET)
    assert tokens.verify(token, SECRET) == "alice@example.com"
    assert token == tokens.sign("alice@example.com", SECRET)


def test_token_is_url_safe() -> None:
    token = tokens.sign("zoë+news@例え.jp", SECRET)
    assert all(c.isalnum() or c in "-_." for c in token)
    assert tokens.verify(token, SECRET) == "zoë+news@例え.jp"


@pytest.mark.parametrize(
    "mangle",
    [
        lambda t: t[:-1] + ("A" if t[-1] != "A" else "B"),  # altered MAC
        lambda t: (
            tokens.sign("mallory@example.com", SECRET).split(".")[0] + "." + t.split(".")[1]
        ),  # swapped address
        lambda t: t.split(".")[0],  # no MAC
        lambda t: "",
        lambda t: "....",
        lambda t: "%%%." + t.split(".")[1],  # not base64
    ],
)
def test_forged_or_malformed_tokens_are_refused(mangle: object) -> None:
    token = tokens.sign("alice@example.com", SECRET)
    assert callable(mangle)
    assert tokens.verify(mangle(token), SECRET) is None


def test_other_secret_or_purpose_is_refused() -> None:
    token = tokens.sign("alice@example.com", SECRET)
    assert tokens.verify(token, b"another secret") is None
    assert tokens.verify(token, SECRET, purpose=tokens.MANAGE) is None
    manage = tokens.sign("alice@example.com", SECRET, purpose=tokens.MANAGE)
    assert tokens.verify(manage, SECRET, purpose=tokens.MANAGE) == "alice@example.com"
    assert manage != token


def test_empty_secret_is_an_error() -> None:
    with pytest.raises(ValueError, match="secret"):
        tokens.sign("alice@example.com", b"")


@given(st.emails())
def test_any_address_round_trips(address: str) -> None:
    assert tokens.verify(tokens.sign(address, SECRET), SECRET) == address.strip().lower()
