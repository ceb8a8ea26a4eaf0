"""Subscribers: once imported, the store is the source of truth."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import bindparam, case, func, select, update

from ..models import Subscriber, SubscriberStatus
from ..tokens import new_key
from . import schema
from ._sql import BATCH, upsert
from .base import StoreBase, batched

_S = schema.subscribers


def _leaving_only(excluded: Any) -> dict[str, Any]:
    """An import changes a known subscriber's status only from active (towards leaving)."""
    active = SubscriberStatus.ACTIVE.value
    return {"status": case((_S.c.status == active, excluded.status), else_=_S.c.status)}


def _topics(raw: str) -> frozenset[str]:
    return frozenset(t for t in (p.strip() for p in raw.split(",")) if t)


def _subscriber(r: Any) -> Subscriber:
    return Subscriber(
        email=r.email,
        name=r.name,
        status=SubscriberStatus(r.status),
        timezone=r.timezone,
        topics=_topics(r.topics),
        first_name=r.first_name,
        key=r.key,
    )


class SubscriberStore(StoreBase):
    def merge_subscribers(self, subs: Iterable[Subscriber]) -> tuple[int, int]:
        """Insert new subscribers and update known ones, in batches (bounded memory, one
        statement per batch); safe beside another process importing the same list.

        A known subscriber's status is changed only towards leaving: an import never
        resubscribes someone who unsubscribed or bounced.

        Returns:
            (added, updated)
        """
        added = updated = 0
        now = datetime.now(UTC)
        for batch in batched(subs, BATCH):
            rows = {
                s.email: {
                    "email": s.email,
                    "name": s.name,
                    "status": s.status.value,
                    "first_name": s.first_name,
                    "timezone": s.timezone,
                    "topics": ",".join(sorted(s.topics)),
                    "key": new_key(),  # a new subscriber's; a known one keeps theirs (not updated)
                    "created": now,
                    "updated": now,
                }
                for s in batch
            }
            with self.begin() as conn:
                known = len(list(conn.scalars(select(_S.c.email).where(_S.c.email.in_(list(rows))))))
                upsert(
                    conn,
                    _S,
                    list(rows.values()),
                    key=["email"],
                    update=["name", "first_name", "timezone", "topics", "updated"],
                    computed=_leaving_only,
                )
            added += len(rows) - known
            updated += known
        return added, updated

    def subscribers(self, *, active_only: bool = False, limit: int | None = None) -> list[Subscriber]:
        q = select(_S).order_by(_S.c.email).limit(limit)
        if active_only:
            q = q.where(_S.c.status == SubscriberStatus.ACTIVE.value)
        with self.begin() as conn:
            return [_subscriber(r) for r in conn.execute(q)]

    def count_subscribers(self, *, active_only: bool = False) -> int:
        q = select(func.count()).select_from(_S)
        if active_only:
            q = q.where(_S.c.status == SubscriberStatus.ACTIVE.value)
        with self.begin() as conn:
            return int(conn.scalar(q) or 0)

    def longest_readers(self) -> list[Subscriber]:
        """Per set of topics of the active subscribers, one stand-in whose name, first name and
        address are as long as the longest among them, written in three-byte characters: no
        reader of those topics makes a longer message (the Gmail clip guard measures these)."""
        length = func.length
        query = (
            select(
                _S.c.topics,
                func.max(length(_S.c.name)),
                func.max(length(_S.c.first_name)),
                func.max(length(_S.c.email)),
            )
            .where(_S.c.status == SubscriberStatus.ACTIVE.value)
            .group_by(_S.c.topics)
        )
        with self.begin() as conn:
            rows = conn.execute(query).all()
        wide = "\u20ac"  # "€": three bytes, nine once quoted-printable
        return [
            Subscriber(
                email=f"{'x' * max(1, (mail or 0) - 12)}@example.org",
                name=wide * (name or 0),
                first_name=wide * (first or 0),
                topics=_topics(topics),
            )
            for topics, name, first, mail in rows
        ]

    def subscribers_by_email(self, emails: Iterable[str]) -> dict[str, Subscriber]:
        """The named subscribers (by index; unknown addresses are left out)."""
        found: dict[str, Subscriber] = {}
        with self.begin() as conn:
            for part in batched(emails, 500):
                found.update(
                    (s.email, s)
                    for s in map(_subscriber, conn.execute(select(_S).where(_S.c.email.in_(part))))
                )
        return found

    def set_subscriber_status(self, email: str, status: SubscriberStatus) -> bool:
        """Change one subscriber's status; False when the address is unknown."""
        with self.begin() as conn:
            res = conn.execute(
                update(_S).where(_S.c.email == email).values(status=status.value, updated=datetime.now(UTC))
            )
            return bool(res.rowcount > 0)

    def record_hard_failure(self, email: str, *, bounce_after: int) -> bool:
        """Count a permanent failure; mark the subscriber bounced at ``bounce_after``. True if
        bounced. One atomic increment: two workers counting at once lose no count."""
        with self.begin() as conn:
            res = conn.execute(
                update(_S)
                .where(_S.c.email == email)
                .values(hard_failures=_S.c.hard_failures + 1, updated=datetime.now(UTC))
            )
            if not res.rowcount:
                return False
            n = conn.scalar(select(_S.c.hard_failures).where(_S.c.email == email)) or 0
            if n < bounce_after:
                return False
            conn.execute(
                update(_S)
                .where(_S.c.email == email, _S.c.status == SubscriberStatus.ACTIVE.value)
                .values(status=SubscriberStatus.BOUNCED.value)
            )
            return True

    def set_subscriber_topics(self, email: str, topics: frozenset[str]) -> bool:
        """Set the sections one subscriber gets (empty: all); False when the address is unknown."""
        with self.begin() as conn:
            res = conn.execute(
                update(_S)
                .where(_S.c.email == email)
                .values(topics=",".join(sorted(topics)), updated=datetime.now(UTC))
            )
            return bool(res.rowcount > 0)

    # -- the readers' links: one indexed statement each (see digest.web) -------------------

    def subscriber(self, email: str) -> Subscriber | None:
        """One subscriber by address (the primary key), or ``None``."""
        with self.begin() as conn:
            row = conn.execute(_BY_EMAIL, {"who": email}).first()
        return None if row is None else _subscriber(row)

    def subscriber_by_key(self, key: str) -> Subscriber | None:
        """One subscriber by key (an index), or ``None``: what the links in emails name."""
        with self.begin() as conn:
            row = conn.execute(_BY_KEY, {"which": key}).first()
        return None if row is None else _subscriber(row)

    def unsubscribe(self, *, key: str | None = None, email: str | None = None) -> str | None:
        """Mark the subscriber with this key (or, for a link from before keys, this address)
        unsubscribed, in one statement; their address, or ``None`` when nobody has it."""
        values = {"left": SubscriberStatus.UNSUBSCRIBED.value, "now": datetime.now(UTC)}
        with self.begin() as conn:
            if key is not None:
                found = conn.scalar(_LEAVE_BY_KEY, {**values, "which": key})
            else:
                found = conn.scalar(_LEAVE_BY_EMAIL, {**values, "who": email})
        return None if found is None else str(found)


# Built once: a request of the readers' links runs one of these, and nothing else.
_BY_EMAIL = select(_S).where(_S.c.email == bindparam("who"))
_BY_KEY = select(_S).where(_S.c.key == bindparam("which"))
_LEAVE = update(_S).values(status=bindparam("left"), updated=bindparam("now")).returning(_S.c.email)
_LEAVE_BY_KEY = _LEAVE.where(_S.c.key == bindparam("which"))
_LEAVE_BY_EMAIL = _LEAVE.where(_S.c.email == bindparam("who"))
