"""Opening a store: the engine, and for a SQLite file its folder, its permissions and its
read-only mode.

A SQLite store holds every address and the key that signs unsubscribe links: it is created
readable by its owner only (the file 0600, a new folder 0700; SQLite gives its ``-wal`` and
``-shm`` files the database file's mode), and opening one that others can read says so. A
command that only reads (``digest status``) creates nothing: a store that is not there is an
error, and one on a read-only filesystem opens read-only.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import stat
import time
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError

from ..config import PoolConfig
from ..errors import StorageError, StoreMissing, StoreUnusable

log = logging.getLogger("digest.store")


def _pragmas(*, writable: bool) -> Any:
    def on_connect(dbapi_conn: Any, _record: Any) -> None:
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA busy_timeout=10000")
        if writable:
            _wal(cur)
            cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.close()

    return on_connect


def _wal(cur: Any) -> None:
    """Put the database in WAL mode (once: the mode is kept in the file). Switching needs the
    database to itself, and SQLite answers "locked" at once, without waiting, while another
    process has it open: so try again for a while, as processes starting together do."""
    for attempt in range(50):
        if cur.execute("PRAGMA journal_mode").fetchone()[0] == "wal":
            return
        try:
            cur.execute("PRAGMA journal_mode=WAL")
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or attempt == 49:
                raise
            time.sleep(0.1)


def sqlite_file(url: str) -> Path | None:
    """The database file of a SQLite URL (``None``: another database, or in memory)."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        return None
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return Path(parsed.database)


def _make_folder(folder: Path, shown: str) -> None:
    """Create the store's folder, and any missing parent, readable by its owner only."""
    missing = [p for p in (folder, *folder.parents) if not p.exists()]
    try:
        for path in reversed(missing):
            path.mkdir(mode=0o700)
    except FileExistsError:
        pass  # made meanwhile by another process
    except OSError as exc:
        raise StorageError(f"store {shown}: cannot create its folder: {exc.strerror or exc}") from exc


def prepare_file(path: Path, shown: str, *, create: bool) -> None:
    """Make sure a SQLite store's file is there (created 0600 when ``create``), and warn
    when an existing one is readable by other users.

    Raises:
        StoreUnusable: it is not there and ``create`` is false.
        StorageError: it cannot be created.
    """
    if not path.exists():
        if not create:
            raise StoreMissing(f"store {shown}: no such store (`digest run` or `digest migrate` creates it)")
        _make_folder(path.parent, shown)
        try:
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        except FileExistsError:
            pass
        except OSError as exc:
            raise StorageError(f"store {shown}: cannot create it: {exc.strerror or exc}") from exc
        return
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        log.warning(
            "store %s can be read by other users (mode %04o): it holds every address and the key"
            " that signs unsubscribe links; chmod 600 it",
            shown,
            mode,
        )


def writable(path: Path) -> bool:
    """Whether this process may write the store (its file, and its folder for the -wal file)."""
    return os.access(path, os.W_OK) and os.access(path.parent, os.W_OK)


def make_engine(url: str, shown: str, *, pool: PoolConfig | None, read_only: bool) -> Engine:
    """The SQLAlchemy engine of a store URL; a SQLite file opened read-only when ``read_only``
    (``mode=ro``, or ``immutable`` when not even its -shm file could be made).

    Raises:
        StorageError: the URL cannot be used (unknown driver, bad URL).
    """
    options: dict[str, Any] = {}
    path = sqlite_file(url)
    if path is not None and read_only:
        url = f"sqlite:///file:{path}?mode=ro&uri=true"
        if not os.access(path.parent, os.W_OK):
            url += "&immutable=1"  # nothing can be written beside it: nobody else writes either
    elif path is None and pool is not None and not url.startswith("sqlite"):
        options = {"pool_size": pool.size, "max_overflow": pool.overflow, "pool_timeout": pool.timeout}
    try:
        engine = create_engine(url, pool_pre_ping=not url.startswith("sqlite"), **options)
    except (SQLAlchemyError, ImportError, ValueError) as exc:
        raise StorageError(f"store {shown}: {first_line(exc)}") from exc
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _pragmas(writable=not read_only))
    return engine


def unusable(exc: BaseException, shown: str) -> StoreUnusable | None:
    """A store that is not a database, or a damaged one: the user's to mend (exit code 2)."""
    cause = exc.__cause__ if isinstance(exc, StorageError) else exc
    orig = getattr(cause, "orig", cause)
    if isinstance(orig, sqlite3.DatabaseError) and not isinstance(orig, sqlite3.OperationalError):
        return StoreUnusable(f"store {shown}: not a digest store, or damaged: {first_line(orig)}")
    return None


def first_line(exc: BaseException) -> str:
    """SQLAlchemy appends a "Background on this error" line: keep errors to one line."""
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
