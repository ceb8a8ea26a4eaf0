"""Subscribers: once imported, the store is the source of truth."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, bindparam, case, func, select, update

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


def _row(s: Subscriber, now: datetime) -> dict[str, Any]:
    return {
        "email": s.email,
        "name": s.name,
        "status": s.status.value,
        "first_name": s.first_name,
        "timezone": s.timezone,
        "topics": ",".join(sorted(s.topics)),
        "key": new_key(),  # a new subscriber's; a known one keeps theirs (never in the update list)
        "created": now,
        "updated": now,
    }


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


def count_hard_failure(conn: Connection, email: str, *, bounce_after: int, now: datetime, why: str) -> bool:
    """One atomic increment of the subscriber's permanent failures; at ``bounce_after`` an
    active subscriber is marked bounced, with ``why``. True when this bounced them."""
    conn.execute(
        update(_S).where(_S.c.email == email).values(hard_failures=_S.c.hard_failures + 1, updated=now)
    )
    res = conn.execute(
        update(_S)
        .where(
            _S.c.email == email,
            _S.c.status == SubscriberStatus.ACTIVE.value,
            _S.c.hard_failures >= bounce_after,
        )
        .values(status=SubscriberStatus.BOUNCED.value, status_reason=why[:2000], status_changed=now)
    )
    return bool(res.rowcount)


class SubscriberStore(StoreBase):
    def merge_subscribers(
        self,
        subs: Iterable[Subscriber],
        *,
        combine: Callable[[Subscriber, Subscriber], Subscriber] | None = None,
        atomic: bool = False,
    ) -> tuple[int, int]:
        """Insert new subscribers and update known ones, in batches of a few thousand: bounded
        memory and one statement per batch, for a list of any length; safe beside another
        process importing the same list.

        A known subscriber's status is changed only towards leaving: an import never
        resubscribes someone who unsubscribed or bounced.

        Args:
            subs: read lazily; an address may come more than once.
            combine: how an address that comes again combines with what came before (default:
                the later one wins); one already written in an earlier batch is read back.
            atomic: all or nothing: one transaction, so an error raised while reading ``subs``
                (an invalid row of a strict import) keeps nothing.

        Returns:
            (added, updated), each address counted once.
        """
        added = updated = 0
        seen: set[str] = set()
        with self._transaction(atomic) as outer:
            for batch in batched(subs, BATCH):
                with outer or self.begin() as conn:
                    new, known = self._merge_batch(conn, batch, seen, combine)
                added += new
                updated += known
        return added, updated

    @contextmanager
    def _transaction(self, atomic: bool) -> Iterator[AbstractContextManager[Connection] | None]:
        """One transaction for every batch (``atomic``), or ``None``: a transaction per batch."""
        if not atomic:
            yield None
            return
        with self.begin() as conn:
            yield nullcontext(conn)

    def _merge_batch(
        self,
        conn: Connection,
        batch: list[Subscriber],
        seen: set[str],
        combine: Callable[[Subscriber, Subscriber], Subscriber] | None,
    ) -> tuple[int, int]:
        """Write one batch; return (added, updated) of the addresses not seen before in it."""
        now = datetime.now(UTC)
        found: dict[str, Subscriber] = {}
        again = {s.email for s in batch if s.email in seen}  # written by an earlier batch
        if again and combine is not None:
            rows = conn.execute(select(_S).where(_S.c.email.in_(list(again))))
            found = {r.email: _subscriber(r) for r in rows}
        for s in batch:
            before = found.get(s.email)
            found[s.email] = combine(before, s) if before is not None and combine is not None else s
        fresh = [e for e in found if e not in seen]
        known = len(list(conn.scalars(select(_S.c.email).where(_S.c.email.in_(fresh))))) if fresh else 0
        upsert(
            conn,
            _S,
            [_row(s, now) for s in found.values()],
            key=["email"],
            update=["name", "first_name", "timezone", "topics", "updated"],
            computed=_leaving_only,
        )
        seen.update(fresh)
        return len(fresh) - known, known

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

    def subscriber_zones(self) -> list[str | None]:
        """The timezones the active subscribers named (``None``: some named none)."""
        query = select(_S.c.timezone).where(_S.c.status == SubscriberStatus.ACTIVE.value).distinct()
        with self.begin() as conn:
            return sorted(conn.scalars(query), key=lambda z: z or "")

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

    def set_subscriber_status(self, email: str, status: SubscriberStatus, *, why: str | None = None) -> bool:
        """Change one subscriber's status (``why``: kept with it); False when the address is unknown."""
        now = datetime.now(UTC)
        with self.begin() as conn:
            res = conn.execute(
                update(_S)
                .where(_S.c.email == email)
                .values(status=status.value, status_reason=why, status_changed=now, updated=now)
            )
            return bool(res.rowcount > 0)

    def record_hard_failure(self, email: str, *, bounce_after: int, why: str = "refused when sent") -> bool:
        """Count a permanent failure; mark the subscriber bounced at ``bounce_after``, with
        ``why``. True if this bounced them. One atomic increment: two workers counting at once
        lose no count."""
        with self.begin() as conn:
            return count_hard_failure(conn, email, bounce_after=bounce_after, now=datetime.now(UTC), why=why)

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
        values = {"left": SubscriberStatus.UNSUBSCRIBED.value, "now": datetime.now(UTC), "why": LEFT_BY_LINK}
        with self.begin() as conn:
            if key is not None:
                found = conn.scalar(_LEAVE_BY_KEY, {**values, "which": key})
            else:
                found = conn.scalar(_LEAVE_BY_EMAIL, {**values, "who": email})
        return None if found is None else str(found)


# Built once: a request of the readers' links runs one of these, and nothing else.
_BY_EMAIL = select(_S).where(_S.c.email == bindparam("who"))
_BY_KEY = select(_S).where(_S.c.key == bindparam("which"))
LEFT_BY_LINK = "unsubscribed by the link in an email"
_LEAVE = (
    update(_S)
    .values(
        status=bindparam("left"),
        status_reason=bindparam("why"),
        status_changed=bindparam("now"),
        updated=bindparam("now"),
    )
    .returning(_S.c.email)
)
_LEAVE_BY_KEY = _LEAVE.where(_S.c.key == bindparam("which"))
_LEAVE_BY_EMAIL = _LEAVE.where(_S.c.email == bindparam("who"))
