"""Editions and the delivery ledger: each (edition, subscriber) moves
pending -> sending -> sent | failed, committed as it happens."""

from __future__ import annotations

import json
import os
import socket
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from sqlalchemy import ColumnElement, Connection, func, insert, select, update

from ..models import Edition
from ..serialize import edition_from_dict, edition_to_dict
from . import schema
from .base import StoreBase, chunks, utc

_D = schema.deliveries
_R = schema.runs
_ED = schema.editions
_S = schema.subscribers


#: A claim older than this is abandoned whoever made it: no message stays in flight for
#: minutes (each SMTP step times out well before).
STALE_CLAIM = timedelta(minutes=15)


def _pid_namespace() -> str:
    """Tells apart processes of different containers that share a host name (Linux)."""
    try:
        return str(os.stat("/proc/self/ns/pid").st_ino)
    except OSError:
        return "-"


def claimant(run_id: int | None = None) -> str:
    """Who claims a delivery: ``host|pid namespace|pid|run`` of the sending run."""
    return f"{socket.gethostname()}|{_pid_namespace()}|{os.getpid()}|{run_id if run_id is not None else '-'}"


@dataclass(frozen=True, slots=True)
class Claim:
    host: str
    namespace: str
    pid: int
    run_id: int | None

    @classmethod
    def parse(cls, text: str | None) -> Claim | None:
        parts = (text or "").split("|")
        if len(parts) != 4 or not parts[2].isdigit():
            return None
        run = int(parts[3]) if parts[3].isdigit() else None
        return cls(parts[0], parts[1], int(parts[2]), run)

    @property
    def here(self) -> bool:
        """Made by a process of this machine and container, whose pid this process can check."""
        return self.host == socket.gethostname() and self.namespace == _pid_namespace()


def _process_exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, under another user
        return True
    except (OverflowError, ValueError):
        return False
    return True


def claim_alive(claim: Claim | None, *, updated: datetime, now: datetime, run_running: bool) -> bool:
    """Whether the run that claimed a delivery may still be sending it: its claim is fresh, its
    run is recorded as running, and, when it was made here, its process is still there. A
    claim of this very process is alive only when it names a run (which then runs beside the
    caller); anything else, including a claim written before claims were signed, is abandoned.
    """
    if claim is None or now - updated > STALE_CLAIM or not run_running:
        return False
    if not claim.here:
        return True
    return claim.run_id is not None if claim.pid == os.getpid() else _process_exists(claim.pid)


class DeliveryState(StrEnum):
    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"


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
            old = conn.scalar(select(_ED.c.data).where(_ED.c.id == edition.id))
            if old is None:
                conn.execute(insert(_ED).values(id=edition.id, created=edition.created, data=data))
            elif replace:
                conn.execute(update(_ED).where(_ED.c.id == edition.id).values(data=data))
            else:
                return edition_from_dict(json.loads(old))
        return edition

    def delivery_states(self, edition_id: str) -> dict[str, DeliveryState]:
        with self.begin() as conn:
            rows = conn.execute(select(_D.c.email, _D.c.state).where(_D.c.edition_id == edition_id))
            return {r.email: DeliveryState(r.state) for r in rows}

    def plan_deliveries(self, edition_id: str, emails: Iterable[str]) -> int:
        """Add a pending row for each address not yet in the ledger; return how many."""
        now = datetime.now(UTC)
        known = set(self.delivery_states(edition_id))
        todo = [e for e in dict.fromkeys(emails) if e not in known]
        if todo:
            with self.begin() as conn:
                conn.execute(
                    insert(_D),
                    [
                        {
                            "edition_id": edition_id,
                            "email": e,
                            "state": DeliveryState.PENDING.value,
                            "updated": now,
                        }
                        for e in todo
                    ],
                )
        return len(todo)

    def _set(self, conn: Connection, edition_id: str, email: str, values: dict[str, object]) -> None:
        """Update the (edition, email) row, or insert it when the delivery was never planned."""
        values["updated"] = datetime.now(UTC)
        res = conn.execute(
            update(_D).where(_D.c.edition_id == edition_id, _D.c.email == email).values(**values)
        )
        if res.rowcount == 0:
            if isinstance(values.get("attempts"), ColumnElement):
                values["attempts"] = 1
            conn.execute(insert(_D).values(edition_id=edition_id, email=email, **values))

    def mark_sending(
        self, edition_id: str, email: str, message_id: str, *, claimed_by: str | None = None
    ) -> bool:
        """Claim the delivery, about to hand the message over (committed before DATA).

        The claim is one conditional UPDATE, so two runs of one edition never both send a
        message: the second finds the row ``sending`` (or ``sent``) and gets False.
        ``claimed_by`` names the run (:func:`claimant`); default: this process.
        """
        values: dict[str, object] = {
            "state": DeliveryState.SENDING.value,
            "message_id": message_id,
            "attempts": _D.c.attempts + 1,
            "updated": datetime.now(UTC),
            "claimed_by": claimed_by or claimant(),
        }
        claimable = (DeliveryState.PENDING.value, DeliveryState.FAILED.value)
        with self.begin() as conn:
            row = _D.c.edition_id == edition_id, _D.c.email == email
            res = conn.execute(update(_D).where(*row, _D.c.state.in_(claimable)).values(**values))
            if res.rowcount:
                return True
            if conn.execute(select(_D.c.state).where(*row)).first() is not None:
                return False
            values["attempts"] = 1  # never planned (a caller outside the pipeline): insert
            conn.execute(insert(_D).values(edition_id=edition_id, email=email, **values))
            return True

    def release_sending(self, edition_id: str) -> int:
        """Make ``sending`` rows of an edition claimable again when the run that claimed them is
        gone (killed mid-send, or ended); rows of a run still sending stay its own, so two runs
        of one edition never send a message twice. Called as a run starts; returns how many
        were released (each may have reached its reader).
        """
        now = datetime.now(UTC)
        with self.begin() as conn:
            rows = conn.execute(
                select(_D.c.email, _D.c.claimed_by, _D.c.updated).where(
                    _D.c.edition_id == edition_id, _D.c.state == DeliveryState.SENDING.value
                )
            ).all()
            claims = {r.email: Claim.parse(r.claimed_by) for r in rows}
            runs = {c.run_id for c in claims.values() if c is not None and c.run_id is not None}
            running = (
                set(conn.scalars(select(_R.c.id).where(_R.c.id.in_(runs), _R.c.status == "running")))
                if runs
                else set()
            )

            def alive(email: str, updated: datetime) -> bool:
                claim = claims[email]
                in_run = claim is not None and (claim.run_id is None or claim.run_id in running)
                return claim_alive(claim, updated=updated, now=now, run_running=in_run)

            gone = [r.email for r in rows if not alive(r.email, utc(r.updated) or now)]
            released = 0
            for batch in chunks(gone):
                res = conn.execute(
                    update(_D)
                    .where(
                        _D.c.edition_id == edition_id,
                        _D.c.email.in_(batch),
                        _D.c.state == DeliveryState.SENDING.value,
                    )
                    .values(state=DeliveryState.PENDING.value, updated=now, claimed_by=None)
                )
                released += int(res.rowcount or 0)
            return released

    def mark_sent(self, edition_id: str, email: str) -> None:
        """The server said 250. Also clears the subscriber's run of hard failures."""
        values: dict[str, object] = {
            "state": DeliveryState.SENT.value,
            "reason": None,
            "code": None,
            "permanent": False,
        }
        with self.begin() as conn:
            self._set(conn, edition_id, email, values)
            conn.execute(
                update(_S).where(_S.c.email == email, _S.c.hard_failures != 0).values(hard_failures=0)
            )

    def mark_failed(
        self, edition_id: str, email: str, *, reason: str, code: int | None, permanent: bool
    ) -> bool:
        """Not handed over (yet): ``permanent`` for a 5xx or a refusal; ``reason`` is the reply.

        Returns whether this delivery had already failed permanently (in an earlier run of
        the edition), so that one refusal is counted towards a bounce once.
        """
        values: dict[str, object] = {
            "state": DeliveryState.FAILED.value,
            "reason": reason[:2000],
            "code": code,
            "permanent": permanent,
        }
        with self.begin() as conn:
            before = conn.execute(
                select(_D.c.state, _D.c.permanent).where(_D.c.edition_id == edition_id, _D.c.email == email)
            ).first()
            self._set(conn, edition_id, email, values)
        # "failed" + permanent stays on the row while a later attempt is "sending": check the flag
        return bool(before is not None and before.permanent and before.state != DeliveryState.SENT.value)

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
