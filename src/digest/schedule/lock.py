"""One scheduler per store, wherever the schedulers run.

- SQLite: an ``flock`` on a file beside the database (only processes of this machine can
  share a SQLite file). The kernel drops the lock when the process ends, however it ends.
- PostgreSQL: a session advisory lock held on a connection of its own, which the server drops
  when that connection ends, however the process or its machine ends. Schedulers on several
  machines therefore elect one, with no coordinator of digest's own.

Either way the holder says who it is (pid, host, since when), for the refusal of the next.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError
from sqlalchemy.pool import NullPool

from ..errors import Busy, StorageError
from ..store.core import shown_url as shown_store
from ..store.core import storage_reason

#: The advisory lock key of the scheduler (PostgreSQL); any constant of digest's own.
SCHEDULER_LOCK = 0x64696766  # "digf"
_HOLDER = "scheduler_lock_holder"  # meta key: who holds the advisory lock


def _url(store_url: str) -> str:
    return store_url if "://" in store_url else f"sqlite:///{Path(store_url)}"


def lock_path(store_url: str) -> Path | None:
    """The scheduler's lock file of a SQLite store (beside the database file, never in the
    current folder); ``None`` for a server's store, which is locked in the server. Contains no I/O.

    Raises:
        StorageError: not a database URL, or a database digest cannot lock.
    """
    try:
        url = make_url(_url(store_url))
    except ArgumentError as exc:
        raise StorageError(f"store {store_url}: not a database URL") from exc
    backend = url.get_backend_name()
    if backend == "sqlite" and url.database not in (None, "", ":memory:"):
        return Path(f"{url.database}.scheduler.lock")
    if backend == "postgresql":
        return None
    raise StorageError(f"store {shown_store(store_url)}: a scheduler needs a SQLite file or PostgreSQL")


@contextmanager
def hold_lock(store_url: str, *, pid: int, host: str, now: datetime) -> Iterator[str]:
    """Hold the one-scheduler-per-store lock for the block; yield where it is held (for logs).

    Raises:
        Busy: another scheduler holds it; the message names that process.
        StorageError: the lock cannot be taken (the file cannot be created, the server is away).
    """
    holder = f"pid {pid} on {host} since {now.isoformat(timespec='seconds')}"
    path = lock_path(store_url)
    if path is None:
        with _advisory(store_url, holder) as where:
            yield where
    else:
        with _flock(store_url, path, holder):
            yield str(path)


@contextmanager
def _flock(store_url: str, path: Path, holder: str) -> Iterator[None]:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    except OSError as exc:
        raise StorageError(
            f"store {shown_store(store_url)}: cannot create the lock file {path}: {exc.strerror or exc}"
        ) from exc
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            other = os.read(fd, 500).decode(errors="replace").strip() or "a process still starting"
            raise Busy(
                f"store {shown_store(store_url)}: another scheduler holds it ({other}; lock file {path})"
            ) from exc
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{holder}\n".encode(), 0)
        try:
            yield
        finally:
            # the file stays: removing it would let a newcomer lock a new file beside a held one
            os.ftruncate(fd, 0)
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


@contextmanager
def _advisory(store_url: str, holder: str) -> Iterator[str]:
    shown = shown_store(store_url)
    engine = create_engine(_url(store_url), poolclass=NullPool)
    try:
        conn = engine.connect()
    except SQLAlchemyError as exc:
        engine.dispose()
        raise StorageError(f"store {shown}: {storage_reason(exc)}") from exc
    try:
        with conn.begin():
            got = conn.scalar(text("SELECT pg_try_advisory_lock(:key)"), {"key": SCHEDULER_LOCK})
            if not got:
                other = conn.scalar(text("SELECT value FROM meta WHERE key = :k"), {"k": _HOLDER})
                raise Busy(f"store {shown}: another scheduler holds it ({other or 'a process starting'})")
            conn.execute(text("DELETE FROM meta WHERE key = :k"), {"k": _HOLDER})
            conn.execute(text("INSERT INTO meta (key, value) VALUES (:k, :v)"), {"k": _HOLDER, "v": holder})
        try:
            yield f"advisory lock {SCHEDULER_LOCK} in {shown}"
        finally:
            with conn.begin():
                mine = {"k": _HOLDER, "v": holder}
                conn.execute(text("DELETE FROM meta WHERE key = :k AND value = :v"), mine)
                conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": SCHEDULER_LOCK})
    except SQLAlchemyError as exc:
        raise StorageError(f"store {shown}: {storage_reason(exc)}") from exc
    finally:
        conn.close()
        engine.dispose()


__all__ = ["SCHEDULER_LOCK", "hold_lock", "lock_path", "shown_store"]
