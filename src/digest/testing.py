"""Helpers for testing code that uses digest, importable by users too.

- :class:`MemoryTransport`: a transport that keeps messages in ``.outbox``;
- :func:`sample_edition`: a realistic, fictional edition of any size;
- :func:`make_article`: an article with sensible defaults, for condenser and grouping tests.
"""

from __future__ import annotations

import hashlib
import html
from datetime import UTC, datetime

from .deliver import MemoryTransport
from .models import Article
from .render.sample import sample_edition

__all__ = ["MemoryTransport", "make_article", "sample_edition"]


def make_article(
    text: str,
    *,
    title: str = "",
    id: str | None = None,
    feed: str = "https://example.org/feed.xml",
    feed_name: str = "Example News",
    link: str = "",
    published: datetime | None = None,
    topic: str | None = None,
) -> Article:
    """An :class:`~digest.models.Article` from plain text, defaults filled in."""
    ident = id or "urn:test:" + hashlib.sha256(f"{title}\n{text}".encode()).hexdigest()[:16]
    return Article(
        id=ident,
        feed_url=feed,
        feed_name=feed_name,
        title=title,
        link=link,
        published=published or datetime(2026, 1, 5, 7, 0, tzinfo=UTC),
        html="".join(f"<p>{html.escape(p)}</p>" for p in text.split("\n\n") if p.strip()),
        text=text,
        topic=topic,
    )
