"""JSON-ready dicts for the data that the store keeps (editions, condensations)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from .models import Article, Condensed, Edition, EditionStory, KeyPoint, Story


def article_to_dict(a: Article) -> dict[str, Any]:
    return {
        "id": a.id,
        "feed_url": a.feed_url,
        "feed_name": a.feed_name,
        "title": a.title,
        "link": a.link,
        "published": a.published.isoformat(),
        "html": a.html,
        "text": a.text,
        "topic": a.topic,
        "weight": a.weight,
    }


def article_from_dict(d: dict[str, Any]) -> Article:
    return Article(
        id=d["id"],
        feed_url=d["feed_url"],
        feed_name=d["feed_name"],
        title=d["title"],
        link=d["link"],
        published=datetime.fromisoformat(d["published"]),
        html=d["html"],
        text=d["text"],
        topic=d.get("topic"),
        weight=float(d.get("weight", 1.0)),
    )


def condensed_to_dict(c: Condensed) -> dict[str, Any]:
    return {
        "headline": c.headline,
        "summary": c.summary,
        "key_points": [{"text": k.text, "source": k.source} for k in c.key_points],
        "language": c.language,
        "backend": c.backend,
    }


def condensed_from_dict(d: dict[str, Any]) -> Condensed:
    return Condensed(
        headline=d["headline"],
        summary=d["summary"],
        key_points=tuple(KeyPoint(k["text"], int(k.get("source", 0))) for k in d["key_points"]),
        language=d.get("language", "en"),
        backend=d.get("backend", "extractive"),
    )


def edition_to_dict(e: Edition) -> dict[str, Any]:
    return {
        "id": e.id,
        "day": e.day.isoformat(),
        "title": e.title,
        "created": e.created.isoformat(),
        "intro": e.intro,
        "subject": e.subject,
        "preheader": e.preheader,
        "stories": [
            {
                "id": s.story.id,
                "topic": s.story.topic,
                "score": s.story.score,
                "articles": [article_to_dict(a) for a in s.story.articles],
                "condensed": condensed_to_dict(s.condensed),
            }
            for s in e.stories
        ],
    }


def edition_from_dict(d: dict[str, Any]) -> Edition:
    return Edition(
        id=d["id"],
        day=date.fromisoformat(d["day"]),
        title=d["title"],
        created=datetime.fromisoformat(d["created"]),
        intro=d.get("intro", ""),
        subject=d.get("subject") or "",
        preheader=d.get("preheader") or "",
        stories=tuple(
            EditionStory(
                story=Story(
                    id=s["id"],
                    articles=tuple(article_from_dict(a) for a in s["articles"]),
                    topic=s.get("topic"),
                    score=float(s.get("score", 0.0)),
                ),
                condensed=condensed_from_dict(s["condensed"]),
            )
            for s in d["stories"]
        ),
    )
