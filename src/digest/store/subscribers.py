"""Subscribers: once imported, the store is the source of truth."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

from sqlalchemy import insert, select, update

from ..models import Subscriber, SubscriberStatus
from . import schema
from .base import StoreBase

_S = schema.subscribers


def _topics(raw: str) -> frozenset[str]:
    return frozenset(t for t in (p.strip() for p in raw.split(",")) if t)


class SubscriberStore(StoreBase):
    def merge_subscribers(self, subs: Iterable[Subscriber]) -> tuple[int, int]:
        """Insert new subscribers and update known ones, in one transaction.

        A known subscriber's status is changed only towards leaving: an import never
        resubscribes someone who unsubscribed or bounced.

        Returns:
            (added, updated)
        """
        added = updated = 0
        now = datetime.now(UTC)
        with self.begin() as conn:
            for s in subs:
                row = conn.execute(select(_S.c.status).where(_S.c.email == s.email)).first()
                values = {
                    "name": s.name,
                    "first_name": s.first_name,
                    "timezone": s.timezone,
                    "topics": ",".join(sorted(s.topics)),
                    "updated": now,
                }
                if row is None:
                    conn.execute(
                        insert(_S).values(email=s.email, status=s.status.value, created=now, **values)
                    )
                    added += 1
                else:
                    if row.status == SubscriberStatus.ACTIVE and not s.active:
                        values["status"] = s.status.value
                    conn.execute(update(_S).where(_S.c.email == s.email).values(**values))
                    updated += 1
        return added, updated

    def subscribers(self, *, active_only: bool = False) -> list[Subscriber]:
        q = select(_S).order_by(_S.c.email)
        if active_only:
            q = q.where(_S.c.status == SubscriberStatus.ACTIVE.value)
        with self.begin() as conn:
            return [
                Subscriber(
                    email=r.email,
                    name=r.name,
                    status=SubscriberStatus(r.status),
                    timezone=r.timezone,
                    topics=_topics(r.topics),
                    first_name=r.first_name,
                )
                for r in conn.execute(q)
            ]

    def set_subscriber_status(self, email: str, status: SubscriberStatus) -> bool:
        """Change one subscriber's status; False when the address is unknown."""
        with self.begin() as conn:
            res = conn.execute(
                update(_S).where(_S.c.email == email).values(status=status.value, updated=datetime.now(UTC))
            )
            return bool(res.rowcount > 0)

    def record_hard_failure(self, email: str, *, bounce_after: int) -> bool:
        """Count a permanent failure; mark the subscriber bounced at ``bounce_after``. True if bounced."""
        with self.begin() as conn:
            n = conn.scalar(select(_S.c.hard_failures).where(_S.c.email == email))
            if n is None:
                return False
            n += 1
            values: dict[str, object] = {"hard_failures": n, "updated": datetime.now(UTC)}
            if n >= bounce_after:
                values["status"] = SubscriberStatus.BOUNCED.value
            conn.execute(update(_S).where(_S.c.email == email).values(**values))
            return bool(n >= bounce_after)

    def set_subscriber_topics(self, email: str, topics: frozenset[str]) -> bool:
        """Set the sections one subscriber gets (empty: all); False when the address is unknown."""
        with self.begin() as conn:
            res = conn.execute(
                update(_S)
                .where(_S.c.email == email)
                .values(topics=",".join(sorted(topics)), updated=datetime.now(UTC))
            )
            return bool(res.rowcount > 0)
