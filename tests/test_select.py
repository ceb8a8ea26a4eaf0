"""Ranking and caps: sources, recency, feed weight; per edition and per topic."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from digest.models import Article, Story
from digest.select import select_stories, story_score

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
WINDOW = timedelta(hours=36)


def story(
    sid: str, *, sources: int = 1, hours: float = 1, weight: float = 1.0, topic: str | None = None
) -> Story:
    articles = tuple(
        Article(
            id=f"{sid}-{n}",
            feed_url=f"https://feed{n}.example/rss",
            feed_name=f"feed{n}",
            title=sid,
            link="",
            published=NOW - timedelta(hours=hours),
            html="",
            text="",
            topic=topic,
            weight=weight,
        )
        for n in range(sources)
    )
    return Story(id=sid, articles=articles, topic=topic)


def ids(stories: list[Story]) -> list[str]:
    return [s.id for s in stories]


def test_more_sources_rank_higher_then_recency_then_weight() -> None:
    chosen = select_stories(
        [story("old-one", hours=20), story("fresh-one", hours=1), story("covered", sources=3, hours=5)],
        now=NOW,
        window=WINDOW,
        max_stories=10,
    )
    assert ids(chosen) == ["covered", "fresh-one", "old-one"]
    assert chosen[0].score > chosen[1].score > chosen[2].score > 0
    heavy = select_stories(
        [story("a", hours=1), story("b", hours=2, weight=3)], now=NOW, window=WINDOW, max_stories=5
    )
    assert ids(heavy) == ["b", "a"]


def test_window_and_caps() -> None:
    stories = [story(f"t{i}", hours=i + 1, topic="tech") for i in range(5)]
    stories += [story(f"w{i}", hours=i + 1.5, topic="world") for i in range(5)]
    stories += [story("stale", hours=40), story("untopical", hours=0.5)]
    chosen = select_stories(stories, now=NOW, window=WINDOW, max_stories=6, max_per_topic=2)
    assert ids(chosen) == ["untopical", "t0", "w0", "t1", "w1"]
    assert "stale" not in ids(select_stories(stories, now=NOW, window=WINDOW, max_stories=100))
    assert len(select_stories(stories, now=NOW, window=WINDOW, max_stories=3)) == 3


def test_score_halves_every_half_window() -> None:
    fresh = story_score(story("a", hours=0), now=NOW, window=WINDOW)
    later = story_score(story("a", hours=18), now=NOW, window=WINDOW)
    assert fresh == 1.0
    assert abs(later - 0.5) < 1e-9
