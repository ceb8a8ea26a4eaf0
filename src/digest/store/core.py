"""Engine, migrations and the :class:`Store` that composes the per-domain parts."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, delete, event, insert, inspect, select
from sqlalchemy.exc import SQLAlchemyError

from ..errors import StorageError
from . import schema
from .cache import CacheStore
from .entries import EntryStore
from .ledger import LedgerStore
from .review import ReviewStore
from .runs import RunStore
from .subscribers import SubscriberStore


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=10000")
    cur.close()


class Store(EntryStore, CacheStore, SubscriberStore, LedgerStore, ReviewStore, RunStore):
    """All persistent state. Thread-safe for short transactions; use as a context manager."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @contextmanager
    def begin(self) -> Iterator[Connection]:
        """One transaction: committed on success, rolled back on error."""
        try:
            with self.engine.begin() as conn:
                yield conn
        except SQLAlchemyError as exc:
            raise StorageError(
                f"store {self.engine.url.render_as_string(hide_password=True)}: {exc}"
            ) from exc

    def migrate(self) -> int:
        """Apply pending migrations; return the schema version now in force."""
        with self.begin() as conn:
            if not inspect(conn).has_table(schema.schema_version.name):
                schema.schema_version.create(conn)
            done = set(conn.scalars(select(schema.schema_version.c.version)))
            latest = max(v for v, _, _ in schema.MIGRATIONS)
            newer = [v for v in done if v > latest]
            if newer:
                raise StorageError(
                    f"store schema version {max(newer)} is newer than this digest ({latest}): upgrade digest"
                )
            for version, name, migrate in schema.MIGRATIONS:
                if version not in done:
                    migrate(conn)
                    conn.execute(
                        insert(schema.schema_version).values(version=version, name=name, applied=now_utc())
                    )
        return latest

    def meta_value(self, key: str, default: Callable[[], str]) -> str:
        """A value kept in the store; ``default()`` is computed and saved on first use."""
        t = schema.meta
        with self.begin() as conn:
            value = conn.scalar(select(t.c.value).where(t.c.key == key))
            if value is None:
                value = default()
                conn.execute(insert(t).values(key=key, value=value))
            return str(value)

    def get_meta(self, key: str) -> str | None:
        t = schema.meta
        with self.begin() as conn:
            value = conn.scalar(select(t.c.value).where(t.c.key == key))
        return None if value is None else str(value)

    def set_meta(self, key: str, value: str | None) -> None:
        """Keep (or with ``None`` forget) a small value, such as the scheduler's state."""
        t = schema.meta
        with self.begin() as conn:
            conn.execute(delete(t).where(t.c.key == key))
            if value is not None:
                conn.execute(insert(t).values(key=key, value=value))

    def signing_secret(self, environ: Mapping[str, str], env_name: str) -> bytes:
        """The key that signs unsubscribe tokens: the environment variable when set, else one made
        at random the first time and kept in the store (so links stay valid across runs)."""
        from_env = environ.get(env_name)
        if from_env:
            return from_env.encode()
        return self.meta_value("signing_secret", lambda: secrets.token_urlsafe(32)).encode()

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _first_line(exc: BaseException) -> str:
    """SQLAlchemy appends a "Background on this error" line: keep errors to one line."""
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


def now_utc() -> datetime:
    return datetime.now(UTC)


def open_store(url_or_path: str | Path) -> Store:
    """Open (and migrate) the store at a SQLAlchemy URL or a SQLite file path.

    Raises:
        StorageError: the database cannot be opened or its schema is too new.
    """
    url = str(url_or_path)
    if "://" not in url:
        url = f"sqlite:///{Path(url)}"
    try:
        engine = create_engine(url)
    except (SQLAlchemyError, ImportError, ValueError) as exc:
        raise StorageError(f"store {url}: {_first_line(exc)}") from exc
    if engine.dialect.name == "sqlite" and engine.url.database not in (None, "", ":memory:"):
        try:
            Path(engine.url.database).parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StorageError(f"store {url}: cannot create its folder: {exc.strerror or exc}") from exc
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    store = Store(engine)
    store.migrate()
    return store
