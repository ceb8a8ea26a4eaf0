"""The few statements whose SQL differs between SQLite and PostgreSQL, in one place.

Everything else in the store is portable SQLAlchemy Core. These are what makes the store safe
for several processes at once: inserts that may race (``INSERT … ON CONFLICT``), the lock a
step takes before it reads what it is about to change, and the database's own clock (on
PostgreSQL several machines share one store, and only its clock is the same for all).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Table, func, select, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql.dml import Insert

from .base import utc

#: Rows per INSERT statement: bounded memory for a million subscribers, few round trips.
BATCH = 2000


def _insert(conn: Connection, table: Table) -> Any:
    """The dialect's own INSERT, the one that knows ON CONFLICT."""
    if conn.dialect.name == "postgresql":
        return postgresql.insert(table)
    if conn.dialect.name == "sqlite":
        return sqlite.insert(table)
    raise NotImplementedError(f"digest stores need SQLite or PostgreSQL, not {conn.dialect.name}")


def insert_ignore(conn: Connection, table: Table, rows: Sequence[Mapping[str, Any]]) -> int:
    """Insert the rows whose key is not taken yet; leave the others as they are. Returns how
    many were inserted (exact for one row; for many, as the driver counts them)."""
    added = 0
    for start in range(0, len(rows), BATCH):
        part = rows[start : start + BATCH]
        if part:
            stmt = _insert(conn, table).on_conflict_do_nothing().execution_options(preserve_rowcount=True)
            added += max(0, int(conn.execute(stmt, list(part)).rowcount or 0))
    return added


def insert_ignore_from(conn: Connection, table: Table, columns: Sequence[str], source: Any) -> int:
    """``INSERT INTO table (columns) SELECT … ON CONFLICT DO NOTHING``; how many were added."""
    stmt: Insert = _insert(conn, table).from_select(list(columns), source).on_conflict_do_nothing()
    # SQLAlchemy fetches an INSERT's row count only when asked to
    return int(conn.execute(stmt.execution_options(preserve_rowcount=True)).rowcount or 0)


def upsert(
    conn: Connection,
    table: Table,
    rows: Sequence[Mapping[str, Any]],
    *,
    key: Sequence[str],
    update: Sequence[str] = (),
    computed: Callable[[Any], Mapping[str, Any]] | None = None,
) -> None:
    """Insert the rows, or update the row whose ``key`` is taken: the columns named in
    ``update`` take the new row's values, and ``computed(excluded)`` gives expressions for
    others (``excluded`` is the row that was refused: ``excluded.status``)."""
    for start in range(0, len(rows), BATCH):
        part = list(rows[start : start + BATCH])
        if not part:
            continue
        stmt = _insert(conn, table)
        values: dict[str, Any] = {c: stmt.excluded[c] for c in update}
        if computed is not None:
            values.update(computed(stmt.excluded))
        if values:
            stmt = stmt.on_conflict_do_update(index_elements=list(key), set_=values)
        else:
            stmt = stmt.on_conflict_do_nothing()
        conn.execute(stmt, part)


def lock_for_update(conn: Connection, table: Table, *where: Any) -> None:
    """Lock the rows (PostgreSQL) or the database (SQLite) for the rest of the transaction, so
    that what the step reads next cannot change under it. A no-op write: SQLite takes its
    write lock with the first write, PostgreSQL locks the rows it updates."""
    first = next(iter(table.primary_key.columns))
    conn.execute(table.update().where(*where).values({first.name: first}))


def advisory_lock(conn: Connection, key: int) -> None:
    """Serialize a step across processes for the rest of the transaction: a transaction-level
    advisory lock on PostgreSQL, SQLite's write lock (``BEGIN IMMEDIATE``) on SQLite."""
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})
    elif not conn.connection.dbapi_connection.in_transaction:  # type: ignore[union-attr]
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def db_now(conn: Connection) -> datetime:
    """The database's clock on PostgreSQL (shared by every machine that uses the store), this
    machine's on SQLite (only processes of this machine share a SQLite file)."""
    if conn.dialect.name == "postgresql":
        value = conn.scalar(select(func.now()))
        assert isinstance(value, datetime)
        return utc(value) or datetime.now(UTC)
    return datetime.now(UTC)
