"""Parsing off the event loop.

Parsing and sanitizing are CPU-bound and hold the GIL (feedparser is pure Python): in a
thread they slow the event loop that drives the downloads, and they use one core. With many
feeds, :class:`Parser` runs them in worker processes instead; with few, a thread is cheaper
than starting processes.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
from collections.abc import Mapping
from concurrent.futures import Executor, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from datetime import datetime

from ..htmltext import html_to_text
from ..models import Article, FeedSpec
from ._identity import entry_id
from ._parse import ParsedEntry, parse_feed

#: Below this many feeds in a run, parsing stays in a thread of this process.
POOL_MIN_FEEDS = 16


@dataclass(frozen=True, slots=True)
class ParsedArticles:
    """A feed's title, its parse warnings, how many entries it had, and those entries as articles."""

    title: str
    warnings: tuple[str, ...]
    entries: int
    articles: tuple[Article, ...]


def to_article(spec: FeedSpec, feed_name: str, entry: ParsedEntry, now: datetime) -> Article:
    """One parsed entry as an article; missing dates are the first-seen time, future ones clamped."""
    text = html_to_text(entry.html)
    published = min(entry.published or now, now)
    return Article(
        id=entry_id(guid=entry.guid, link=entry.link, feed_url=spec.url, title=entry.title, text=text),
        feed_url=spec.url,
        feed_name=feed_name,
        title=entry.title,
        link=entry.link,
        published=published,
        html=entry.html,
        text=text,
        topic=spec.topic,
        weight=spec.weight,
    )


def parse_articles(
    body: bytes, url: str, headers: Mapping[str, str], spec: FeedSpec, now: datetime
) -> ParsedArticles:
    """Feed bytes to articles, deduplicated by id. Contains no I/O; runs in a worker process.

    Raises:
        ParseError: not a usable feed.
    """
    parsed = parse_feed(body, url=url, headers=headers)
    name = parsed.title if spec.name == spec.url and parsed.title else spec.name
    articles: dict[str, Article] = {}
    warnings = list(parsed.warnings)
    for number, entry in enumerate(parsed.entries, start=1):
        try:
            article = to_article(spec, name, entry, now)
        except Exception as exc:  # one hostile entry is skipped, the feed's others are kept
            warnings.append(f"entry {number} skipped: {type(exc).__name__}: {str(exc)[:200]}")
            continue
        articles.setdefault(article.id, article)
    return ParsedArticles(name, tuple(warnings), len(parsed.entries), tuple(articles.values()))


def workers_for(feeds: int, configured: int | None) -> int:
    """How many parsing processes: the config's number, else one per core for a large run."""
    if configured is not None:
        return configured
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return min(cores, 4) if feeds >= POOL_MIN_FEEDS and cores > 1 else 0


class Parser:
    """Parses feeds in ``workers`` processes (0: in a thread). Use as an async context manager."""

    def __init__(self, workers: int) -> None:
        self._workers = workers
        self._pool: Executor | None = None

    async def __aenter__(self) -> Parser:
        if self._workers > 0:
            # forkserver: forking a process that runs threads (asyncio, httpx) is unsafe
            method = "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn"
            self._pool = ProcessPoolExecutor(self._workers, mp_context=multiprocessing.get_context(method))
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)

    async def parse(
        self, body: bytes, url: str, headers: Mapping[str, str], spec: FeedSpec, now: datetime
    ) -> ParsedArticles:
        """Parse one feed; a broken worker pool falls back to a thread for this and later feeds."""
        if self._pool is not None:
            try:
                loop = asyncio.get_running_loop()
                return await loop.run_in_executor(self._pool, parse_articles, body, url, headers, spec, now)
            except BrokenProcessPool:
                self._pool = None
        return await asyncio.to_thread(parse_articles, body, url, headers, spec, now)
