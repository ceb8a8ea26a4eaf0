"""Choosing an edition's stories: ranked by how many sources cover them, how recent they
are and the feeds' weights; capped per edition and per topic. Contains no I/O."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime, timedelta

from .models import Story


def story_score(story: Story, *, now: datetime, window: timedelta) -> float:
    """A story's rank: ``weight × (1 + log2(sources)) × recency``.

    ``sources`` counts distinct feeds; ``weight`` is the highest feed weight among them;
    ``recency`` halves every half window (1 for a story published now).
    """
    sources = len({a.feed_url for a in story.articles})
    weight = max(a.weight for a in story.articles)
    age = max((now - story.published).total_seconds(), 0.0)
    half_life = max(window.total_seconds() / 2, 1.0)
    return float(weight * (1 + math.log2(sources)) * 0.5 ** (age / half_life))


def select_stories(
    stories: Sequence[Story],
    *,
    now: datetime,
    window: timedelta,
    max_stories: int,
    max_per_topic: int | None = None,
) -> list[Story]:
    """The stories of one edition, best first, each with its ``score`` set.

    Args:
        stories: candidate stories (from :func:`digest.gather.group_stories`).
        now: the time of the edition; stories last published before ``now - window``
            are left out.
        window: the recency window.
        max_stories: at most this many stories.
        max_per_topic: at most this many per topic (``None``: no cap); stories without a
            topic count as one topic.
    """
    since = now - window
    scored = [
        replace(s, score=story_score(s, now=now, window=window)) for s in stories if s.published >= since
    ]
    scored.sort(key=lambda s: (-s.score, -s.published.timestamp(), s.id))
    chosen: list[Story] = []
    per_topic: Counter[str | None] = Counter()
    for story in scored:
        if len(chosen) >= max_stories:
            break
        if max_per_topic is not None and per_topic[story.topic] >= max_per_topic:
            continue
        per_topic[story.topic] += 1
        chosen.append(story)
    return chosen
