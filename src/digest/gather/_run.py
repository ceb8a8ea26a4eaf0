"""The gather stage: every feed fetched, parsed and sanitized; new entries completed with
their full text. One feed's failure never stops the others."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit
from urllib.request import url2pathname

from ..config import GatherConfig
from ..models import Article, FeedSpec, FeedState
from . import _state
from ._clean import paragraphs_to_html, sanitize_html
from ._fetch import PAGE_ACCEPT, Fetched, Fetcher, FetchError
from ._fulltext import extract_main_text, is_snippet
from ._parse import ParseError
from ._pool import Parser, workers_for

Status = Literal["ok", "not_modified", "error"]


@dataclass(frozen=True, slots=True)
class FeedOutcome:
    """What happened to one feed in this run."""

    url: str
    name: str
    status: Status
    entries: int = 0  # entries in the feed
    new: int = 0  # entries not seen before (in the store or earlier in this run)
    error: str | None = None
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class GatherResult:
    outcomes: tuple[FeedOutcome, ...]
    articles: tuple[Article, ...]  # new entries, deduplicated across feeds, sanitized
    states: tuple[FeedState, ...]  # the new state of every feed
    full_text_abandoned: int = 0  # full-text fetches given up at the gather deadline (snippets kept)

    @property
    def failed(self) -> bool:
        """Whether any feed failed."""
        return any(o.status == "error" for o in self.outcomes)


@dataclass
class _Run:
    """What the feeds of one run share."""

    config: GatherConfig
    fetcher: Fetcher
    parser: Parser
    seen: Callable[[Iterable[str]], set[str]]
    now: datetime
    deadline: float  # event-loop time at which every pending fetch is abandoned
    claimed: set[str] = field(default_factory=set)  # ids taken by an earlier feed of this run
    abandoned: int = 0  # full-text fetches abandoned at the deadline


class DeadlinePassed(FetchError):
    """A feed not fetched by the gather deadline."""


def _is_local(url: str) -> bool:
    scheme = urlsplit(url).scheme.lower()
    return scheme == "file" or ("://" not in url and len(scheme) <= 1)  # "C:\..." is a path


def _read_local(url: str, state: FeedState, limit: int) -> Fetched:
    """A feed file: its modification time and size stand in for Last-Modified."""
    path = Path(url2pathname(urlsplit(url).path)) if url.lower().startswith("file:") else Path(url)
    try:
        st = path.stat()
        stamp = f"file:{st.st_mtime_ns}:{st.st_size}"
        if state.last_modified == stamp:
            return Fetched(url, 304, {}, b"")
        if st.st_size > limit:
            raise FetchError(f"file of {st.st_size} bytes exceeds the {limit}-byte limit")
        with path.open("rb") as f:
            data = f.read(limit + 1)
    except OSError as exc:
        raise FetchError(f"cannot read: {exc.strerror or exc}") from exc
    if len(data) > limit:
        raise FetchError(f"file exceeds the {limit}-byte limit")
    return Fetched(url, 200, {"last-modified": stamp}, data)


async def _fetch_feed(run: _Run, spec: FeedSpec, state: FeedState) -> Fetched:
    url = _state.fetch_url(spec, state)
    if _is_local(url):
        return await asyncio.to_thread(_read_local, url, state, run.config.max_bytes)
    if urlsplit(url).scheme.lower() not in ("http", "https"):
        raise FetchError(f"unsupported URL scheme {urlsplit(url).scheme!r}")
    # the editor trusted the host they named; a recorded move to another host is checked like
    # any link on every run (its address may have changed since the move was recorded)
    trusted = _host(url) == _host(spec.url)
    return await run.fetcher.fetch(url, trusted=trusted, conditional=_state.conditional_headers(spec, state))


def _host(url: str) -> str:
    return (urlsplit(url).hostname or "").lower()


async def _fetch_feed_in_time(run: _Run, spec: FeedSpec, state: FeedState) -> Fetched:
    """The feed's bytes, unless the gather deadline passes first.

    Raises:
        DeadlinePassed: the deadline passed while the fetch waited for a slot or ran.
        FetchError: the fetch failed.
    """
    try:
        async with asyncio.timeout_at(run.deadline):
            return await _fetch_feed(run, spec, state)
    except TimeoutError:  # the fetcher turns its own timeouts into FetchError: this is the deadline
        raise DeadlinePassed(f"gather deadline passed ({run.config.deadline.total_seconds():g} s)") from None


async def _full_text(run: _Run, article: Article) -> Article:
    """The article with its linked page's main text, or unchanged when that fails.

    A page not fetched by the gather deadline is abandoned (and counted): links queue per
    host, so a few slow hosts could otherwise hold the whole run for many timeouts. A page
    already here is still extracted; that costs CPU bounded by ``max_bytes``, not waiting.
    """
    if asyncio.get_running_loop().time() >= run.deadline:  # too late to open a connection
        run.abandoned += 1
        return article
    try:
        async with asyncio.timeout_at(run.deadline):
            page = await run.fetcher.fetch(article.link, trusted=False, accept=PAGE_ACCEPT)
    except TimeoutError:
        run.abandoned += 1
        return article
    except FetchError:
        return article
    text = await asyncio.to_thread(extract_main_text, page.body, page.url)
    if len(text) <= len(article.text):
        return article
    return replace(article, html=sanitize_html(paragraphs_to_html(text)), text=text)


async def _one(run: _Run, spec: FeedSpec, state: FeedState) -> tuple[FeedOutcome, list[Article], FeedState]:
    try:
        fetched = await _fetch_feed_in_time(run, spec, state)
        if fetched.status == 304:
            return (
                FeedOutcome(spec.url, spec.name, "not_modified"),
                [],
                _state.after_not_modified(state, now=run.now),
            )
        parsed = await run.parser.parse(fetched.body, fetched.url, fetched.headers, spec, run.now)
    except DeadlinePassed as exc:  # slowness is no sign that a recorded move or validators are wrong
        new_state = _state.after_abandoned(state, now=run.now, reason=exc.reason)
        return FeedOutcome(spec.url, spec.name, "error", error=exc.reason), [], new_state
    except (FetchError, ParseError) as exc:
        new_state = _state.after_error(state, now=run.now, reason=exc.reason)
        return FeedOutcome(spec.url, spec.name, "error", error=exc.reason), [], new_state
    except Exception as exc:  # a bug met on hostile input: this feed fails, the run goes on
        reason = f"unexpected {type(exc).__name__}: {str(exc)[:200]}"
        new_state = _state.after_error(state, now=run.now, reason=reason)
        return FeedOutcome(spec.url, spec.name, "error", error=reason), [], new_state
    name = parsed.title
    articles = list(parsed.articles)
    known = run.seen([a.id for a in articles]) | run.claimed
    new = [a for a in articles if a.id not in known]
    run.claimed.update(a.id for a in new)
    if run.config.full_text:
        min_words = run.config.full_text_min_words
        jobs = [_full_text(run, a) if a.link and is_snippet(a.text, min_words) else _done(a) for a in new]
        new = list(await asyncio.gather(*jobs))
    new_state = _state.after_fetch(
        state,
        now=run.now,
        etag=fetched.headers.get("etag"),
        last_modified=fetched.headers.get("last-modified"),
        moved_to=fetched.moved_to,
    )
    outcome = FeedOutcome(spec.url, name, "ok", parsed.entries, len(new), warnings=parsed.warnings)
    return outcome, new, new_state


async def _done(article: Article) -> Article:
    return article


async def gather(
    feeds: Sequence[FeedSpec],
    *,
    config: GatherConfig,
    states: Mapping[str, FeedState],
    seen: Callable[[Iterable[str]], set[str]],
    now: datetime,
    progress: Callable[[FeedOutcome], None] | None = None,
) -> GatherResult:
    """Fetch every feed, parse and sanitize its entries, and complete snippets with full text.

    Args:
        feeds: the feeds the editor named (trusted: loopback and private addresses allowed);
            http(s) URLs, ``file:`` URLs or local paths. Duplicates are fetched once.
        config: timeouts, limits, concurrency and full-text settings.
        states: what the store remembers of each feed (by ``FeedSpec.url``).
        seen: returns which of the given entry ids the store already has; only new
            entries get their full text fetched and are returned.
        now: the time of this run (first-seen time of undated entries; health stamps).
        progress: called once per feed as soon as it is done.

    ``config.deadline`` bounds the whole gather: a feed not fetched by then is an error
    ("gather deadline passed"), a linked page not fetched by then leaves its entry's
    snippet (counted in ``full_text_abandoned``); what was fetched is still parsed and used.

    Returns:
        Per-feed outcomes (in the order of ``feeds``), new articles (deduplicated across
        feeds and against the store), the new state of every feed, and how many full-text
        fetches the deadline cut short.
    """
    unique = list({f.url: f for f in feeds}.values())
    workers = workers_for(len(unique), config.parse_workers)
    deadline = asyncio.get_running_loop().time() + config.deadline.total_seconds()
    async with Fetcher(config) as fetcher, Parser(workers) as parser:
        run = _Run(config, fetcher, parser, seen, now, deadline)

        async def one(spec: FeedSpec) -> tuple[FeedOutcome, list[Article], FeedState]:
            result = await _one(run, spec, states.get(spec.url) or FeedState(url=spec.url))
            if progress is not None:
                progress(result[0])
            return result

        results = await asyncio.gather(*(one(spec) for spec in unique))
    return GatherResult(
        outcomes=tuple(r[0] for r in results),
        articles=tuple(a for r in results for a in r[1]),
        states=tuple(r[2] for r in results),
        full_text_abandoned=run.abandoned,
    )
