"""Editions and the delivery ledger: each (edition, subscriber) moves
pending -> sending -> sent | failed | skipped.

A delivery is planned (pending) once its edition is sealed; a worker claims a batch of them
(sending, under its lease) in one statement that skips rows other workers are claiming, and
records their outcomes in batches, each only while it still holds the claim."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Connection, bindparam, func, literal, select, update

from ..models import Edition
from ..serialize import edition_from_dict, edition_to_dict
from . import schema
from ._sql import db_now, insert_ignore, insert_ignore_from, lock_for_update
from .base import StoreBase, chunks, utc
from .subscribers import count_hard_failure

_D = schema.deliveries
_R = schema.runs
_ED = schema.editions
_S = schema.subscribers
_W = schema.workers
_ANY_ZONE: Any = object()  # plan_edition: every subscriber, whatever their timezone


class DeliveryState(StrEnum):
    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    SKIPPED = "skipped"  # nothing to send (no story in their topics), or no longer subscribed
    MISSED = "missed"  # its wave (local-time sending) passed more than the grace ago: not sent


@dataclass(frozen=True, slots=True)
class Claimed:
    """A delivery a worker claimed: it alone sends it while its lease lasts."""

    edition_id: str
    email: str


@dataclass(frozen=True, slots=True)
class Outcome:
    """How one claimed delivery ended, for :meth:`LedgerStore.record_outcomes`."""

    edition_id: str
    email: str
    state: DeliveryState  # SENT, FAILED or SKIPPED
    attempts: int = 1
    message_id: str = ""
    reason: str | None = None
    code: int | None = None
    permanent: bool = False
    counts_as_bounce: bool = False  # a refused address, counted once per edition


@dataclass(frozen=True, slots=True)
class Recorded:
    """What :meth:`LedgerStore.record_outcomes` wrote."""

    recorded: int
    lost: int  # the claim had passed to another worker (this one's lease ran out): not written
    bounced: int  # subscribers marked bounced


@dataclass(frozen=True, slots=True)
class DeliveryRecord:
    edition_id: str
    email: str
    state: DeliveryState
    attempts: int
    permanent: bool
    code: int | None
    reason: str | None
    updated: datetime


# One statement for every outcome of a batch (executemany), written only where the worker
# still holds the claim. A permanent failure stays flagged on the row while a later attempt
# is under way, so that a refused address is counted towards a bounce once per edition.
_RECORD = (
    update(_D)
    .where(
        _D.c.edition_id == bindparam("b_edition"),
        _D.c.email == bindparam("b_email"),
        _D.c.state == DeliveryState.SENDING.value,
        _D.c.claimed_by == bindparam("b_worker"),
    )
    .values(
        state=bindparam("b_state"),
        attempts=_D.c.attempts + bindparam("b_attempts"),
        updated=bindparam("b_now"),
        reason=bindparam("b_reason"),
        code=bindparam("b_code"),
        permanent=bindparam("b_permanent"),
        message_id=func.coalesce(bindparam("b_message_id"), _D.c.message_id),
    )
)


def _outcome_row(o: Outcome, worker_id: str, now: datetime) -> dict[str, object]:
    return {
        "b_edition": o.edition_id,
        "b_email": o.email,
        "b_worker": worker_id,
        "b_state": o.state.value,
        "b_attempts": o.attempts,
        "b_now": now,
        "b_reason": None if o.state is DeliveryState.SENT else (o.reason or "")[:2000] or None,
        "b_code": o.code,
        "b_permanent": o.permanent if o.state is DeliveryState.FAILED else False,
        "b_message_id": o.message_id or None,
    }


class LedgerStore(StoreBase):
    def edition(self, edition_id: str) -> Edition | None:
        with self.begin() as conn:
            data = conn.scalar(select(_ED.c.data).where(_ED.c.id == edition_id))
        return edition_from_dict(json.loads(data)) if data else None

    def published_article_ids(self, *, since: datetime, before: str) -> set[str]:
        """Ids of the articles placed in editions created since ``since``, other than edition
        ``before`` and later ones: what readers have already been sent."""
        with self.begin() as conn:
            rows = conn.scalars(select(_ED.c.data).where(_ED.c.created >= since, _ED.c.id < before))
            return {a["id"] for data in rows for s in json.loads(data)["stories"] for a in s["articles"]}

    def save_edition(self, edition: Edition, *, replace: bool = False) -> Edition:
        """Record an edition; return the one on record (an earlier one wins unless ``replace``)."""
        data = json.dumps(edition_to_dict(edition), ensure_ascii=False)
        with self.begin() as conn:
            if replace:
                conn.execute(update(_ED).where(_ED.c.id == edition.id).values(data=data))
            # two processes may build the day's edition at once: the first one kept wins
            insert_ignore(conn, _ED, [{"id": edition.id, "created": edition.created, "data": data}])
            kept = conn.scalar(select(_ED.c.data).where(_ED.c.id == edition.id))
        return edition if kept == data else edition_from_dict(json.loads(str(kept)))

    def delivery_states(self, edition_id: str) -> dict[str, DeliveryState]:
        with self.begin() as conn:
            rows = conn.execute(select(_D.c.email, _D.c.state).where(_D.c.edition_id == edition_id))
            return {r.email: DeliveryState(r.state) for r in rows}

    def plan_deliveries(self, edition_id: str, emails: Iterable[str]) -> int:
        """Add a pending row for each address not yet in the ledger; return how many."""
        now = datetime.now(UTC)
        pending = DeliveryState.PENDING.value
        rows = [
            {"edition_id": edition_id, "email": e, "state": pending, "updated": now, "due": now}
            for e in dict.fromkeys(emails)
        ]
        with self.begin() as conn:
            before = self._count(conn, edition_id)
            insert_ignore(conn, _D, rows)
            return self._count(conn, edition_id) - before

    def plan_edition(
        self,
        edition_id: str,
        *,
        new_readers: bool = True,
        due: Sequence[tuple[str | None, datetime]] | None = None,
        at: datetime | None = None,
    ) -> int:
        """Plan the sealed edition: with ``new_readers``, a pending delivery for every active
        subscriber it has none for, in one statement per timezone (a million readers cost a few
        ``INSERT … SELECT``); and the failed deliveries of active subscribers are tried again.
        Returns how many were added. Safe from several processes at once: one row per reader.

        Args:
            due: when the readers of each timezone (``None``: no timezone given) may get it
                (local-time sending); only those timezones are planned. Default: everyone, at
                ``at``.
            at: when everyone may get it (the run's now); default: now.
        """
        now = datetime.now(UTC)
        added = 0
        with self.begin() as conn:
            # one planner at a time per edition (the edition's row lock): a second finds it done
            lock_for_update(conn, _ED, _ED.c.id == edition_id)
            if new_readers:
                for zone, when in due if due is not None else [(_ANY_ZONE, at or now)]:
                    added += self._plan_zone(conn, edition_id, zone, when, now)
            conn.execute(
                update(_D)
                .where(
                    _D.c.edition_id == edition_id,
                    _D.c.state == DeliveryState.FAILED.value,
                    _D.c.email.in_(select(_S.c.email).where(_S.c.status == "active")),
                )
                .values(state=DeliveryState.PENDING.value, updated=now)
            )
        return added

    @staticmethod
    def _plan_zone(conn: Connection, edition_id: str, zone: str | None, due: datetime, now: datetime) -> int:
        """Plan the active subscribers of one timezone (or all of them: ``_ANY_ZONE``)."""
        readers = select(
            literal(edition_id), _S.c.email, literal(DeliveryState.PENDING.value), literal(now), literal(due)
        ).where(_S.c.status == "active")
        if zone is not _ANY_ZONE:
            readers = readers.where(_S.c.timezone.is_(None) if zone is None else _S.c.timezone == zone)
        return insert_ignore_from(conn, _D, ["edition_id", "email", "state", "updated", "due"], readers)

    def miss_overdue(self, edition_id: str, *, before: datetime, reason: str) -> int:
        """Pending deliveries of the edition due before ``before`` (their wave passed beyond the
        grace): recorded as missed, with ``reason``, and not sent. Returns how many."""
        with self.begin() as conn:
            res = conn.execute(
                update(_D)
                .where(
                    _D.c.edition_id == edition_id,
                    _D.c.state == DeliveryState.PENDING.value,
                    _D.c.due < before,
                )
                .values(state=DeliveryState.MISSED.value, reason=reason, updated=db_now(conn))
            )
            return int(res.rowcount or 0)

    def waves(self, edition_id: str) -> list[tuple[datetime, dict[str, int]]]:
        """The edition's deliveries by the time they are due: (due, state -> number), in time order."""
        query = (
            select(_D.c.due, _D.c.state, func.count())
            .where(_D.c.edition_id == edition_id)
            .group_by(_D.c.due, _D.c.state)
        )
        found: dict[datetime, dict[str, int]] = {}
        with self.begin() as conn:
            for due, state, n in conn.execute(query):
                at = utc(due) or datetime.min.replace(tzinfo=UTC)
                found.setdefault(at, {})[state] = n
        return sorted(found.items())

    @staticmethod
    def _count(conn: Connection, edition_id: str) -> int:
        return int(
            conn.scalar(select(func.count()).select_from(_D).where(_D.c.edition_id == edition_id)) or 0
        )

    def claim_batch(
        self, worker_id: str, edition_id: str, *, limit: int, due_by: datetime | None = None
    ) -> list[Claimed]:
        """Claim up to ``limit`` pending deliveries of the edition for the worker, in one
        statement: on PostgreSQL the rows other workers are claiming at the same moment are
        skipped (``FOR UPDATE SKIP LOCKED``, in a CTE so the batch is chosen once), on SQLite
        claimers take turns. Every claimed row is ``sending`` and names the worker, whose lease
        keeps it."""
        queue = (
            select(_D.c.email)
            .where(_D.c.edition_id == edition_id, _D.c.state == DeliveryState.PENDING.value)
            .order_by(_D.c.due, _D.c.email)
            .limit(limit)
        )
        if due_by is not None:  # only what is due (local-time sending: the waves that left)
            queue = queue.where(_D.c.due <= due_by)
        with self.begin() as conn:
            if conn.dialect.name == "postgresql":
                batch = queue.with_for_update(skip_locked=True).cte("batch")
                chosen: Any = _D.c.email == batch.c.email
            else:
                chosen = _D.c.email.in_(queue.scalar_subquery())
            rows = conn.execute(
                update(_D)
                .where(_D.c.edition_id == edition_id, _D.c.state == DeliveryState.PENDING.value, chosen)
                .values(state=DeliveryState.SENDING.value, claimed_by=worker_id, updated=db_now(conn))
                .returning(_D.c.email)
            ).all()
        return sorted((Claimed(edition_id, r.email) for r in rows), key=lambda c: c.email)

    def record_outcomes(self, worker_id: str, outcomes: Sequence[Outcome], *, bounce_after: int) -> Recorded:
        """Write the outcomes of the worker's claims in one transaction. An outcome whose claim
        the worker no longer holds (its lease ran out and another worker took the row) is not
        written: the row is that worker's now. Sent readers' run of hard failures ends; a
        refused address counts towards a bounce (``bounce_after``), once per edition."""
        if not outcomes:
            return Recorded(0, 0, 0)
        recorded = bounced = 0
        with self.begin() as conn:
            now = db_now(conn)
            by_edition: dict[str, list[Outcome]] = defaultdict(list)
            for o in outcomes:
                by_edition[o.edition_id].append(o)
            hard: list[Outcome] = []
            for edition_id, group in by_edition.items():
                held = self._held(conn, worker_id, edition_id, [o.email for o in group])
                mine = [o for o in group if o.email in held]
                recorded += len(mine)
                if mine:
                    conn.execute(_RECORD, [_outcome_row(o, worker_id, now) for o in mine])
                hard += [o for o in mine if o.counts_as_bounce and not held[o.email]]
                sent = [o.email for o in mine if o.state is DeliveryState.SENT]
                for part in chunks(sent):
                    conn.execute(
                        update(_S)
                        .where(_S.c.email.in_(part), _S.c.hard_failures != 0)
                        .values(hard_failures=0)
                    )
            for o in hard:
                said = " ".join(str(x) for x in (o.code, o.reason) if x) or "permanent failure"
                why = f"refused when sent (edition {o.edition_id}): {said}"
                if count_hard_failure(conn, o.email, bounce_after=bounce_after, now=now, why=why):
                    bounced += 1
            sent_n = sum(1 for g in by_edition.values() for o in g if o.state is DeliveryState.SENT)
            failed_n = sum(1 for g in by_edition.values() for o in g if o.state is DeliveryState.FAILED)
            if sent_n or failed_n:
                conn.execute(
                    update(_W)
                    .where(_W.c.id == worker_id)
                    .values(sent=_W.c.sent + sent_n, failed=_W.c.failed + failed_n)
                )
        return Recorded(recorded=recorded, lost=len(outcomes) - recorded, bounced=bounced)

    @staticmethod
    def _held(conn: Connection, worker_id: str, edition_id: str, emails: list[str]) -> dict[str, bool]:
        """Which of these deliveries the worker holds (locked for the transaction), each with
        whether an earlier attempt had failed permanently."""
        held: dict[str, bool] = {}
        for part in chunks(emails):
            rows = conn.execute(
                select(_D.c.email, _D.c.permanent)
                .where(
                    _D.c.edition_id == edition_id,
                    _D.c.email.in_(part),
                    _D.c.state == DeliveryState.SENDING.value,
                    _D.c.claimed_by == worker_id,
                )
                .with_for_update()
            )
            held.update({r.email: bool(r.permanent) for r in rows})
        return held

    def release_claims(self, worker_id: str, edition_id: str) -> int:
        """Give back the worker's claims on the edition that it did not send (it stopped, or
        its transport failed): pending again, for any worker."""
        with self.begin() as conn:
            res = conn.execute(
                update(_D)
                .where(
                    _D.c.edition_id == edition_id,
                    _D.c.state == DeliveryState.SENDING.value,
                    _D.c.claimed_by == worker_id,
                )
                .values(state=DeliveryState.PENDING.value, claimed_by=None, updated=db_now(conn))
            )
            return int(res.rowcount or 0)

    def in_flight(self, edition_id: str, *, besides: str | None = None) -> bool:
        """Whether any delivery of the edition is being sent (by a worker other than
        ``besides``): what a worker with nothing left to claim waits for."""
        query = select(_D.c.email).where(
            _D.c.state == DeliveryState.SENDING.value, _D.c.edition_id == edition_id
        )
        if besides is not None:
            query = query.where(_D.c.claimed_by != besides)
        with self.begin() as conn:
            return conn.execute(query.limit(1)).first() is not None

    def editions_to_send(self, *, sealed_since: datetime, due_by: datetime | None = None) -> list[str]:
        """Sealed editions with deliveries left to claim (due by ``due_by``), oldest first: a
        worker's work. An edition whose sending began before ``sealed_since`` is left alone
        (yesterday's leftovers are not news)."""
        queued = select(_D.c.edition_id).where(_D.c.state == DeliveryState.PENDING.value)
        if due_by is not None:
            queued = queued.where(_D.c.due <= due_by)
        queued = queued.distinct()
        with self.begin() as conn:
            return list(
                conn.scalars(
                    select(_ED.c.id)
                    .where(
                        _ED.c.id.in_(queued), _ED.c.sealed_at.is_not(None), _ED.c.sealed_at >= sealed_since
                    )
                    .order_by(_ED.c.id)
                )
            )

    def waiting(self, edition_id: str, *, due_by: datetime | None = None) -> dict[str, int]:
        """Deliveries of the edition not settled yet: pending (due by ``due_by``, when given)
        and sending, of subscribers still active (what a run waits for before it may say the
        edition is done; a later wave is not waiting)."""
        query = (
            select(_D.c.state, func.count())
            .where(
                _D.c.edition_id == edition_id,
                _D.c.state.in_([DeliveryState.PENDING.value, DeliveryState.SENDING.value]),
                _D.c.email.in_(select(_S.c.email).where(_S.c.status == "active")),
            )
            .group_by(_D.c.state)
        )
        if due_by is not None:
            query = query.where((_D.c.state != DeliveryState.PENDING.value) | (_D.c.due <= due_by))
        with self.begin() as conn:
            return {state: int(n) for state, n in conn.execute(query) if n}

    def mark_sending(self, edition_id: str, email: str, message_id: str, *, claimed_by: str) -> bool:
        """Claim one delivery for the worker ``claimed_by``, about to hand the message over
        (committed before DATA); a delivery never planned is planned first.

        The claim is one conditional UPDATE, so two workers never both send a message: the
        second finds the row ``sending`` (or ``sent``) and gets False. Attempts are counted
        when the outcome is recorded.
        """
        now = datetime.now(UTC)
        claimable = (DeliveryState.PENDING.value, DeliveryState.FAILED.value)
        with self.begin() as conn:
            pending = DeliveryState.PENDING.value
            row = {"edition_id": edition_id, "email": email, "state": pending, "updated": now, "due": now}
            insert_ignore(conn, _D, [row])
            res = conn.execute(
                update(_D)
                .where(_D.c.edition_id == edition_id, _D.c.email == email, _D.c.state.in_(claimable))
                .values(
                    state=DeliveryState.SENDING.value,
                    message_id=message_id,
                    updated=now,
                    claimed_by=claimed_by,
                )
            )
            return bool(res.rowcount)

    def delivery_counts(self, edition_id: str, *, active_only: bool = False) -> dict[str, int]:
        """State -> number of deliveries; ``active_only``: of subscribers still active (those a
        rerun would still send to)."""
        return self.delivery_counts_of([edition_id], active_only=active_only).get(edition_id, {})

    def delivery_counts_of(
        self, edition_ids: Iterable[str], *, active_only: bool = False
    ) -> dict[str, dict[str, int]]:
        """:meth:`delivery_counts` of many editions in one query: edition id -> state -> number."""
        query = select(_D.c.edition_id, _D.c.state, func.count()).where(
            _D.c.edition_id.in_(list(edition_ids))
        )
        if active_only:
            query = query.where(_D.c.email.in_(select(_S.c.email).where(_S.c.status == "active")))
        found: dict[str, dict[str, int]] = {}
        with self.begin() as conn:
            for edition_id, state, n in conn.execute(query.group_by(_D.c.edition_id, _D.c.state)):
                found.setdefault(edition_id, {})[state] = n
        return found

    def failed_deliveries(self, *, edition_id: str | None = None, limit: int = 100) -> list[DeliveryRecord]:
        q = select(_D).where(_D.c.state == DeliveryState.FAILED.value)
        if edition_id:
            q = q.where(_D.c.edition_id == edition_id)
        with self.begin() as conn:
            rows = conn.execute(q.order_by(_D.c.updated.desc()).limit(limit))
            return [
                DeliveryRecord(
                    edition_id=r.edition_id,
                    email=r.email,
                    state=DeliveryState(r.state),
                    attempts=r.attempts,
                    permanent=bool(r.permanent),
                    code=r.code,
                    reason=r.reason,
                    updated=utc(r.updated) or datetime.now(UTC),
                )
                for r in rows
            ]
