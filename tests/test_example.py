"""The bundled example is what a new user sees first: hold it to the promises of the README."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

from digest.config import load_config
from digest.gather import gather, group_stories


def test_example_feeds_group_into_the_two_shared_stories(repo_root: Path) -> None:
    s = load_config(repo_root / "examples" / "digest.toml")
    result = asyncio.run(
        gather(s.feed_specs, config=s.gather, states={}, seen=lambda ids: set(), now=datetime.now(UTC))
    )
    assert not result.failed
    assert len(result.articles) >= 20
    stories = group_stories(result.articles, threshold=s.gather.group_threshold)
    shared = sorted(sorted(a.feed_name for a in st.articles) for st in stories if len(st.articles) > 1)
    # two events are each reported by two outlets (examples/feeds/README.md); nothing else merges
    assert shared == [["Market Wire", "World Desk"], ["Science Daily Review", "World Desk"]]
    assert len(stories) == len(result.articles) - 2
