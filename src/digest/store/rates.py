"""Send rates shared by every worker of a store: a pace (the next free slot, GCRA) and a cap
over a sliding window (messages counted per minute), both on the database's clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import Connection, delete, select, update

from . import schema
from ._sql import db_now, insert_ignore, lock_for_update, upsert
from .base import StoreBase, utc

_P = schema.rate_slots
_M = schema.rate_minutes
MINUTE = timedelta(minutes=1)


def _minute(t: datetime) -> datetime:
    return t.replace(second=0, microsecond=0)


class RateStore(StoreBase):
    def reserve_send_slot(self, key: str, *, interval: float, cap: tuple[int, timedelta] | None) -> float:
        """Book the next send slot of ``key`` for whichever worker asks; return the seconds
        until it. Slots are ``interval`` seconds apart (0: no pace), and no window of
        ``cap[1]`` holds more than ``cap[0]`` of them. One short transaction that locks the
        key's row, so workers on any number of machines book one slot each, in turn."""
        with self.begin() as conn:
            insert_ignore(conn, _P, [{"key": key, "next_at": datetime(2000, 1, 1, tzinfo=UTC)}])
            lock_for_update(conn, _P, _P.c.key == key)
            now = db_now(conn)
            at = max(now, utc(conn.scalar(select(_P.c.next_at).where(_P.c.key == key))) or now)
            if cap is not None:
                at = self._room(conn, key, at, cap)
                upsert(
                    conn,
                    _M,
                    [{"key": key, "minute": _minute(at), "count": 1}],
                    key=["key", "minute"],
                    computed=lambda excluded: {"count": _M.c.count + 1},
                )
                conn.execute(delete(_M).where(_M.c.key == key, _M.c.minute < now - cap[1] - MINUTE))
            conn.execute(update(_P).where(_P.c.key == key).values(next_at=at + timedelta(seconds=interval)))
        return max(0.0, (at - now).total_seconds())

    @staticmethod
    def _room(conn: Connection, key: str, at: datetime, cap: tuple[int, timedelta]) -> datetime:
        """The first instant from ``at`` on when the window ending there holds fewer than the
        cap. A minute's count leaves the window a whole minute late: never over the cap."""
        limit, window = cap
        rows = conn.execute(
            select(_M.c.minute, _M.c.count)
            .where(_M.c.key == key, _M.c.minute > at - window - MINUTE)
            .order_by(_M.c.minute)
        ).all()
        total = sum(n for _, n in rows)
        for minute, n in rows:
            if total < limit:
                break
            total -= n
            at = max(at, (utc(minute) or at) + window + MINUTE)
        return at
