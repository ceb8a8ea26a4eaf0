"""A record of each run, for ``digest status``."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import insert, select, update

from . import schema
from ._sql import db_now
from .base import StoreBase, utc

_R = schema.runs
_W = schema.workers


@dataclass(frozen=True, slots=True)
class RunRecord:
    id: int
    edition_id: str
    started: datetime
    finished: datetime | None
    status: str
    summary: dict[str, Any]
    worker_id: str | None = None  # its lease (a run whose lease ran out is dead)


def _status(recorded: str, lease_until: datetime | None, now: datetime) -> str:
    return "dead" if recorded == "running" and lease_until is not None and lease_until < now else recorded


class RunStore(StoreBase):
    def start_run(self, edition_id: str, *, worker_id: str | None = None) -> int:
        """Record a run as running; ``worker_id`` is its lease (a run whose lease runs out is dead)."""
        with self.begin() as conn:
            res = conn.execute(
                insert(_R).values(
                    edition_id=edition_id, started=datetime.now(UTC), status="running", worker_id=worker_id
                )
            )
            key = res.inserted_primary_key
            assert key is not None
            return int(key[0])

    def finish_run(self, run_id: int, status: str, summary: dict[str, Any]) -> None:
        """Record how the run ended (also over "dead": the run was slow, not gone)."""
        with self.begin() as conn:
            conn.execute(
                update(_R)
                .where(_R.c.id == run_id)
                .values(finished=datetime.now(UTC), status=status, summary=json.dumps(summary, default=str))
            )

    def recent_runs(self, limit: int = 10) -> list[RunRecord]:
        """The latest runs first. A run recorded as running whose lease ran out shows as dead,
        whether or not another process has marked it so yet."""
        lease = select(_W.c.lease_until).where(_W.c.id == _R.c.worker_id).scalar_subquery()
        with self.begin() as conn:
            now = db_now(conn)
            rows = conn.execute(select(_R, lease.label("lease_until")).order_by(_R.c.id.desc()).limit(limit))
            return [
                RunRecord(
                    id=r.id,
                    edition_id=r.edition_id,
                    started=utc(r.started) or now,
                    finished=utc(r.finished),
                    status="dead"
                    if r.status == "running" and (utc(r.lease_until) or now) < now
                    else r.status,
                    summary=json.loads(r.summary or "{}"),
                    worker_id=r.worker_id,
                )
                for r in rows
            ]
