"""Editions and the delivery ledger: each (edition, subscriber) moves
pending -> sending -> sent | failed, committed as it happens."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

from sqlalchemy import ColumnElement, Connection, func, insert, select, update

from ..models import Edition
from ..serialize import edition_from_dict, edition_to_dict
from . import schema
from .base import StoreBase, utc

_D = schema.deliveries
_ED = schema.editions
_S = schema.subscribers


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

    def mark_sending(self, edition_id: str, email: str, message_id: str) -> None:
        """About to hand the message over (committed before DATA): one more attempt."""
        values: dict[str, object] = {
            "state": DeliveryState.SENDING.value,
            "message_id": message_id,
            "attempts": _D.c.attempts + 1,
        }
        with self.begin() as conn:
            self._set(conn, edition_id, email, values)

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
    ) -> None:
        """Not handed over (yet): ``permanent`` for a 5xx or a refusal; ``reason`` is the reply."""
        values: dict[str, object] = {
            "state": DeliveryState.FAILED.value,
            "reason": reason[:2000],
            "code": code,
            "permanent": permanent,
        }
        with self.begin() as conn:
            self._set(conn, edition_id, email, values)

    def delivery_counts(self, edition_id: str) -> dict[str, int]:
        with self.begin() as conn:
            rows = conn.execute(
                select(_D.c.state, func.count()).where(_D.c.edition_id == edition_id).group_by(_D.c.state)
            )
            return {r[0]: r[1] for r in rows}

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
