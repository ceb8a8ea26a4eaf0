"""Feeds (conditional-GET state, health) and the entries seen so far."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from sqlalchemy import Connection, select

from ..models import Article, FeedState
from . import schema
from ._sql import insert_ignore, upsert
from .base import StoreBase, chunks, utc

_F = schema.feeds
_E = schema.entries


def _state(row: object) -> FeedState:
    r = row._mapping  # type: ignore[attr-defined]
    return FeedState(
        url=r["url"],
        etag=r["etag"],
        last_modified=r["last_modified"],
        moved_to=r["moved_to"],
        last_success=utc(r["last_success"]),
        last_error=r["last_error"],
        last_error_at=utc(r["last_error_at"]),
        failures=r["failures"] or 0,
    )


class EntryStore(StoreBase):
    def feed_states(self, urls: Iterable[str] | None = None) -> dict[str, FeedState]:
        """The remembered state of the given feeds (all feeds when ``urls`` is None)."""
        with self.begin() as conn:
            q = select(_F)
            if urls is not None:
                q = q.where(_F.c.url.in_(list(urls)))
            return {s.url: s for s in map(_state, conn.execute(q))}

    def save_feed_states(self, states: Iterable[FeedState], names: dict[str, str] | None = None) -> None:
        """Insert or update each feed's state, in one transaction. A feed's name is kept as it
        was unless ``names`` gives one."""
        names = names or {}
        fields = [
            "etag",
            "last_modified",
            "moved_to",
            "last_success",
            "last_error",
            "last_error_at",
            "failures",
        ]
        rows = [
            {
                "url": s.url,
                "name": names.get(s.url, ""),
                "etag": s.etag,
                "last_modified": s.last_modified,
                "moved_to": s.moved_to,
                "last_success": s.last_success,
                "last_error": s.last_error,
                "last_error_at": s.last_error_at,
                "failures": s.failures,
            }
            for s in states
        ]
        named = [r for r in rows if r["url"] in names]
        unnamed = [r for r in rows if r["url"] not in names]
        with self.begin() as conn:
            upsert(conn, _F, named, key=["url"], update=[*fields, "name"])
            upsert(conn, _F, unnamed, key=["url"], update=fields)

    def seen_ids(self, ids: Iterable[str]) -> set[str]:
        """Which of these entry ids are already stored."""
        wanted = list(dict.fromkeys(ids))
        found: set[str] = set()
        with self.begin() as conn:
            for part in chunks(wanted):
                found.update(conn.scalars(select(_E.c.id).where(_E.c.id.in_(part))))
        return found

    def add_articles(self, articles: Sequence[Article], *, now: datetime) -> list[Article]:
        """Store the articles not seen before (by id); return those that were new."""
        with self.begin() as conn:
            return self._add(conn, articles, now)

    @staticmethod
    def _add(conn: Connection, articles: Sequence[Article], now: datetime) -> list[Article]:
        seen: set[str] = set()
        for part in chunks([a.id for a in articles]):
            seen.update(conn.scalars(select(_E.c.id).where(_E.c.id.in_(part))))
        new: list[Article] = []
        for a in articles:
            if a.id not in seen:
                seen.add(a.id)
                new.append(a)
        rows = [
            {
                "id": a.id,
                "feed_url": a.feed_url,
                "feed_name": a.feed_name,
                "title": a.title,
                "link": a.link,
                "published": a.published,
                "first_seen": now,
                "html": a.html,
                "text": a.text,
                "topic": a.topic,
                "weight": a.weight,
            }
            for a in new
        ]
        insert_ignore(conn, _E, rows)  # another process may store the same entry meanwhile
        return new

    def articles_since(self, since: datetime) -> list[Article]:
        """Stored articles published at or after ``since``, newest first."""
        with self.begin() as conn:
            rows = conn.execute(select(_E).where(_E.c.published >= since).order_by(_E.c.published.desc()))
            return [
                Article(
                    id=r.id,
                    feed_url=r.feed_url,
                    feed_name=r.feed_name,
                    title=r.title,
                    link=r.link,
                    published=utc(r.published) or since,
                    html=r.html,
                    text=r.text,
                    topic=r.topic,
                    weight=r.weight,
                )
                for r in rows
            ]
