"""Workers and their leases: who may hold claims on deliveries, and until when.

Every process that runs an edition or sends (``digest run``, ``digest worker``, the scheduler's
and the desk's runs) registers a worker with a lease that its heartbeat extends. Whoever
finds a lease run out (a heartbeat, a worker looking for work) marks that worker and its runs
dead and puts its claims back to pending, so another worker sends them. Times are the
database's own (:func:`~digest.store._sql.db_now`), the one clock every machine shares.
"""

from __future__ import annotations

import os
import secrets
import socket
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection, func, select, update

from . import schema
from ._sql import db_now
from .base import StoreBase, utc

_W = schema.workers
_D = schema.deliveries
_R = schema.runs


@dataclass(frozen=True, slots=True)
class WorkerRecord:
    """A worker as ``digest status`` shows it."""

    id: str
    name: str
    host: str
    pid: int
    started: datetime
    heartbeat: datetime
    lease_until: datetime
    finished: datetime | None
    status: str  # running, stopped, dead
    sent: int
    failed: int
    holding: int  # deliveries it has claimed and not yet recorded


@dataclass(frozen=True, slots=True)
class Released:
    """What :meth:`WorkerStore.release_expired` did."""

    workers: int  # leases found run out: marked dead
    runs: int  # their runs, marked dead
    deliveries: int  # their claims, back to pending (each may have reached its reader)


def default_worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


class WorkerStore(StoreBase):
    def register_worker(self, *, name: str | None = None, lease: timedelta) -> str:
        """A new worker, holding a lease from now; returns its id (what its claims carry)."""
        worker_id = f"w-{secrets.token_hex(8)}"
        with self.begin() as conn:
            now = db_now(conn)
            conn.execute(
                _W.insert().values(
                    id=worker_id,
                    name=(name or default_worker_name())[:200],
                    host=socket.gethostname()[:255],
                    pid=os.getpid(),
                    started=now,
                    heartbeat=now,
                    lease_until=now + lease,
                    status="running",
                    sent=0,
                    failed=0,
                )
            )
        return worker_id

    def renew_lease(self, worker_id: str, *, lease: timedelta) -> bool:
        """Extend the worker's lease from now (its heartbeat). False when it is too late: the
        lease ran out and another process has marked the worker dead and taken its claims."""
        with self.begin() as conn:
            now = db_now(conn)
            res = conn.execute(
                update(_W)
                .where(_W.c.id == worker_id, _W.c.status == "running")
                .values(heartbeat=now, lease_until=now + lease)
            )
            return bool(res.rowcount)

    def end_worker(self, worker_id: str, *, status: str = "stopped") -> None:
        """The worker stops: its lease ends now, and claims it still holds go back to pending."""
        with self.begin() as conn:
            now = db_now(conn)
            conn.execute(
                update(_W)
                .where(_W.c.id == worker_id, _W.c.status == "running")
                .values(status=status, finished=now, lease_until=now)
            )
            conn.execute(
                update(_D)
                .where(_D.c.state == "sending", _D.c.claimed_by == worker_id)
                .values(state="pending", claimed_by=None, updated=now)
            )

    def release_expired(self) -> Released:
        """Mark workers whose lease ran out dead, with their runs, and put their claims (and
        claims naming no live worker) back to pending. Safe from many processes at once."""
        with self.begin() as conn:
            now = db_now(conn)
            dead = list(conn.scalars(select(_W.c.id).where(_W.c.status == "running", _W.c.lease_until < now)))
            if dead:
                conn.execute(
                    update(_W)
                    .where(_W.c.id.in_(dead), _W.c.status == "running")
                    .values(status="dead", finished=now)
                )
            runs = (
                conn.execute(
                    update(_R)
                    .where(_R.c.worker_id.in_(dead), _R.c.status == "running")
                    .values(status="dead", finished=now)
                ).rowcount
                if dead
                else 0
            )
            released = self._release_orphans(conn, now)
        return Released(workers=len(dead), runs=int(runs or 0), deliveries=released)

    @staticmethod
    def _release_orphans(conn: Connection, now: datetime) -> int:
        """Claims whose worker holds no live lease (dead, stopped, or unknown) go back."""
        live = select(_W.c.id).where(_W.c.status == "running", _W.c.lease_until >= now)
        res = conn.execute(
            update(_D)
            .where(_D.c.state == "sending", (_D.c.claimed_by.is_(None)) | (_D.c.claimed_by.not_in(live)))
            .values(state="pending", claimed_by=None, updated=now)
        )
        return int(res.rowcount or 0)

    def workers(self, *, limit: int = 20) -> list[WorkerRecord]:
        """The latest workers first; a running worker whose lease ran out shows as dead."""
        holding = (
            select(func.count())
            .select_from(_D)
            .where(_D.c.state == "sending", _D.c.claimed_by == _W.c.id)
            .scalar_subquery()
        )
        with self.begin() as conn:
            now = db_now(conn)
            query = select(_W, holding.label("holding")).order_by(_W.c.started.desc()).limit(limit)
            rows = conn.execute(query).all()
        out = []
        for r in rows:
            lease_until = utc(r.lease_until) or now
            status = "dead" if r.status == "running" and lease_until < now else r.status
            out.append(
                WorkerRecord(
                    id=r.id,
                    name=r.name,
                    host=r.host,
                    pid=r.pid,
                    started=utc(r.started) or now,
                    heartbeat=utc(r.heartbeat) or now,
                    lease_until=lease_until,
                    finished=utc(r.finished),
                    status=status,
                    sent=r.sent,
                    failed=r.failed,
                    holding=int(r.holding or 0),
                )
            )
        return out
