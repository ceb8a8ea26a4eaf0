"""Engine, migrations and the :class:`Store` that composes the per-domain parts."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import URL, Connection, Engine, delete, insert, inspect, select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError

from ..config import PoolConfig
from ..errors import StorageError, StoreUnusable
from . import schema
from ._open import first_line, make_engine, prepare_file, sqlite_file, unusable, writable
from ._sql import advisory_lock, insert_ignore
from .bounces import BounceStore
from .cache import CacheStore
from .entries import EntryStore
from .ledger import LedgerStore
from .rates import RateStore
from .review import ReviewStore
from .runs import RunStore
from .subscribers import SubscriberStore
from .workers import WorkerStore


class Store(
    EntryStore,
    CacheStore,
    SubscriberStore,
    LedgerStore,
    ReviewStore,
    RunStore,
    WorkerStore,
    RateStore,
    BounceStore,
):
    """All persistent state. Thread-safe for short transactions; use as a context manager."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @property
    def shown(self) -> str:
        """The store as messages name it: the SQLite file, or the URL without its password."""
        return shown_url(self.engine.url)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @contextmanager
    def begin(self) -> Iterator[Connection]:
        """One transaction: committed on success, rolled back on error.

        Raises:
            StorageError: any database error, in one line that names the store and never holds
                the statement or its values (an address, a secret).
        """
        try:
            with self.engine.begin() as conn:
                yield conn
        except SQLAlchemyError as exc:
            raise StorageError(f"store {self.shown}: {storage_reason(exc)}") from exc

    def applied_migrations(self) -> set[int]:
        """The versions of the migrations applied to this store."""
        with self.begin() as conn:
            if not inspect(conn).has_table(schema.schema_version.name):
                return set()
            return set(conn.scalars(select(schema.schema_version.c.version)))

    def migrate(self) -> int:
        """Apply pending migrations; return the schema version now in force.

        Safe from several processes and machines at once: the migrations run under a lock (an
        advisory lock on PostgreSQL, the write lock on SQLite), and each process looks again
        at what is done once it holds it. A store already up to date takes no lock.

        Raises:
            StorageError: the store's schema is newer than this digest, or a migration failed.
        """
        latest = max(v for v, _, _ in schema.MIGRATIONS)
        done = self.applied_migrations()
        if done and max(done) > latest:
            raise StoreUnusable(
                f"store {self.shown}: schema version {max(done)} is newer than this digest ({latest}): "
                "upgrade digest"
            )
        if done >= {v for v, _, _ in schema.MIGRATIONS}:
            return latest
        with self.begin() as conn:
            advisory_lock(conn, MIGRATION_LOCK)
            if not inspect(conn).has_table(schema.schema_version.name):
                schema.schema_version.create(conn)
            done = set(conn.scalars(select(schema.schema_version.c.version)))
            for version, name, migrate in schema.MIGRATIONS:
                if version not in done:
                    migrate(conn)
                    conn.execute(
                        insert(schema.schema_version).values(version=version, name=name, applied=now_utc())
                    )
        return latest

    def meta_value(self, key: str, default: Callable[[], str]) -> str:
        """A value kept in the store; ``default()`` is computed and saved on first use. When two
        processes get there at once, both return the one value that was kept."""
        t = schema.meta
        with self.begin() as conn:
            value = conn.scalar(select(t.c.value).where(t.c.key == key))
            if value is None:
                insert_ignore(conn, t, [{"key": key, "value": default()}])
                value = conn.scalar(select(t.c.value).where(t.c.key == key))
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


#: The advisory lock key under which migrations run (PostgreSQL); any constant of digest's own.
MIGRATION_LOCK = 0x64696765  # "dige"


def storage_reason(exc: SQLAlchemyError) -> str:
    """What went wrong, in one line, without the SQL statement or its parameters: the driver's
    own first line ("database or disk is full", "duplicate key value violates …")."""
    orig = getattr(exc, "orig", None)
    return first_line(orig if isinstance(orig, BaseException) else exc)


def shown_url(url: URL | str) -> str:
    """A store as messages name it: the SQLite file, or the URL without its password."""
    try:
        parsed = make_url(url if not isinstance(url, str) or "://" in url else f"sqlite:///{Path(url)}")
    except (ArgumentError, ValueError):
        text = str(url)
        scheme, sep, rest = text.partition("://")
        return f"{scheme}://***@{rest.rsplit('@', 1)[1]}" if sep and "@" in rest else text
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        return str(parsed.database)
    return parsed.render_as_string(hide_password=True)


def now_utc() -> datetime:
    return datetime.now(UTC)


def open_store(
    url_or_path: str | Path,
    *,
    pool: PoolConfig | None = None,
    migrate: bool = True,
    create: bool = True,
    read_only: bool = False,
) -> Store:
    """Open (and migrate) the store at a SQLAlchemy URL or a SQLite file path.

    Args:
        url_or_path: ``sqlite:///FILE``, a plain file path, or ``postgresql+psycopg://…``.
        pool: connection pool sizes (PostgreSQL); default: SQLAlchemy's.
        migrate: bring the schema up to date first (``digest migrate`` does it on its own).
        create: make a SQLite store that is not there yet (0600, in a 0700 folder); a command
            that only reads passes False, and creates nothing.
        read_only: open a SQLite store read-only when this process cannot write it (a
            read-only filesystem); with pending migrations that is an error.

    Raises:
        StoreUnusable: the store is not there (``create`` false), is not a digest store or is
            damaged, or its schema is newer than this digest (exit code 2).
        StorageError: the database cannot be opened.
    """
    url = str(url_or_path)
    if "://" not in url:
        url = f"sqlite:///{Path(url)}"
    shown = shown_url(url)
    path = sqlite_file(url)
    if path is not None:
        prepare_file(path, shown, create=create)
    store = Store(
        make_engine(url, shown, pool=pool, read_only=read_only and path is not None and not writable(path))
    )
    try:
        if migrate:
            store.migrate()
        else:
            store.applied_migrations()  # that it opens at all, and is a database
    except BaseException as exc:
        store.close()  # no connection left behind by a store that cannot be used
        bad = unusable(exc, shown)
        if bad is not None:
            raise bad from exc
        raise
    return store
