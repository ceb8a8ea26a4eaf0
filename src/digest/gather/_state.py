"""What a fetch means for a feed's remembered state. Contains no I/O.

The gather stage returns the new states; the caller stores them (one transaction).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from urllib.parse import urlsplit

from ..models import FeedSpec, FeedState


def fetch_url(spec: FeedSpec, state: FeedState) -> str:
    """Where to fetch a feed: the target of its last permanent redirect, else its own URL.

    Only an http(s) feed can have moved, and only to an http(s) URL (anything else in the
    store is ignored: a recorded "move" must never turn a feed into a local file read).
    """
    if state.moved_to and all(
        urlsplit(u).scheme.lower() in ("http", "https") for u in (spec.url, state.moved_to)
    ):
        return state.moved_to
    return spec.url


def conditional_headers(spec: FeedSpec, state: FeedState) -> dict[str, str]:
    """``If-None-Match`` / ``If-Modified-Since`` from the last successful fetch."""
    headers: dict[str, str] = {}
    if state.etag:
        headers["If-None-Match"] = state.etag
    if state.last_modified and not state.last_modified.startswith("file:"):
        headers["If-Modified-Since"] = state.last_modified
    return headers


def after_fetch(
    state: FeedState, *, now: datetime, etag: str | None, last_modified: str | None, moved_to: str | None
) -> FeedState:
    """A 200 that parsed: new validators, health reset. A 304 passes the old validators."""
    return replace(
        state,
        etag=etag,
        last_modified=last_modified,
        moved_to=moved_to or state.moved_to,
        last_success=now,
        failures=0,
    )


def after_not_modified(state: FeedState, *, now: datetime) -> FeedState:
    """A 304 (or an unchanged local file): nothing to parse, the feed is healthy."""
    return replace(state, last_success=now, failures=0)


def after_error(state: FeedState, *, now: datetime, reason: str) -> FeedState:
    """A failure: one more consecutive failure. A moved feed that fails is tried at its
    original URL next time, in case the move was a mistake that has been undone."""
    return replace(
        state,
        last_error=reason,
        last_error_at=now,
        failures=state.failures + 1,
        moved_to=None,
        etag=None if state.moved_to else state.etag,
        last_modified=None if state.moved_to else state.last_modified,
    )


def after_abandoned(state: FeedState, *, now: datetime, reason: str) -> FeedState:
    """Not fetched by the gather deadline: one more consecutive failure, but the validators
    and a recorded move are kept (a slow answer says nothing against them)."""
    return replace(state, last_error=reason, last_error_at=now, failures=state.failures + 1)
