"""Parsing in worker processes gives exactly what parsing in-process gives."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

from digest.config import GatherConfig
from digest.gather import gather
from digest.gather._pool import POOL_MIN_FEEDS, workers_for
from digest.models import FeedSpec

NOW = datetime(2026, 11, 26, 7, 0, tzinfo=UTC)


def _run(feeds: list[FeedSpec], workers: int) -> list[tuple[str, str, str]]:
    config = GatherConfig(full_text=False, parse_workers=workers)
    result = asyncio.run(gather(feeds, config=config, states={}, seen=lambda ids: set(), now=NOW))
    assert not result.failed
    return sorted((a.id, a.title, a.html) for a in result.articles)


def test_worker_processes_parse_like_a_thread(repo_root: Path, tmp_path: Path) -> None:
    folder = repo_root / "examples" / "feeds"
    feeds = [
        FeedSpec(url=str(p), name=p.stem) for p in sorted(folder.iterdir()) if p.suffix in (".xml", ".atom")
    ]
    feeds += [FeedSpec(url=str(repo_root / "examples" / "feeds" / "world-desk.xml"), name="again")]  # dedup
    broken = tmp_path / "broken.xml"
    broken.write_bytes(b"<rss><channel><title>x</title>")
    in_process = _run(feeds, 0)
    assert len(in_process) >= 20
    assert _run(feeds, 2) == in_process
    # a bad feed in a worker is reported like in-process, and the others still arrive
    config = GatherConfig(full_text=False, parse_workers=2)
    result = asyncio.run(
        gather(
            [*feeds, FeedSpec(url=str(broken), name="b")],
            config=config,
            states={},
            seen=lambda i: set(),
            now=NOW,
        )
    )
    (bad,) = [o for o in result.outcomes if o.status == "error"]
    assert bad.url == str(broken)
    assert len(result.articles) == len(in_process)


def test_pool_only_for_large_runs() -> None:
    assert workers_for(3, None) == 0
    assert workers_for(POOL_MIN_FEEDS, 0) == 0
    assert workers_for(5, 2) == 2
