"""A record of each run, for ``digest status``."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import insert, select, update

from . import schema
from .base import StoreBase, utc

_R = schema.runs


@dataclass(frozen=True, slots=True)
class RunRecord:
    id: int
    edition_id: str
    started: datetime
    finished: datetime | None
    status: str
    summary: dict[str, Any]


class RunStore(StoreBase):
    def start_run(self, edition_id: str) -> int:
        with self.begin() as conn:
            res = conn.execute(
                insert(_R).values(edition_id=edition_id, started=datetime.now(UTC), status="running")
            )
            key = res.inserted_primary_key
            assert key is not None
            return int(key[0])

    def finish_run(self, run_id: int, status: str, summary: dict[str, Any]) -> None:
        with self.begin() as conn:
            conn.execute(
                update(_R)
                .where(_R.c.id == run_id)
                .values(finished=datetime.now(UTC), status=status, summary=json.dumps(summary, default=str))
            )

    def recent_runs(self, limit: int = 10) -> list[RunRecord]:
        with self.begin() as conn:
            rows = conn.execute(select(_R).order_by(_R.c.id.desc()).limit(limit))
            return [
                RunRecord(
                    id=r.id,
                    edition_id=r.edition_id,
                    started=utc(r.started) or datetime.now(UTC),
                    finished=utc(r.finished),
                    status=r.status,
                    summary=json.loads(r.summary or "{}"),
                )
                for r in rows
            ]
