"""One scheduler per store: an ``flock`` on a file beside the database."""

from __future__ import annotations

import fcntl
import hashlib
import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from ..errors import Busy, StorageError


def _url(store_url: str) -> str:
    return store_url if "://" in store_url else f"sqlite:///{Path(store_url)}"


def shown_store(store_url: str) -> str:
    """The store as messages name it: the SQLite file, or the URL without its password."""
    try:
        url = make_url(_url(store_url))
    except ArgumentError:
        return store_url
    if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
        return str(url.database)
    return url.render_as_string(hide_password=True)


def lock_path(store_url: str) -> Path:
    """The scheduler's lock file for a store: beside a SQLite file; for any other store, in the
    current folder, named by a hash of the URL. Contains no I/O."""
    try:
        url = make_url(_url(store_url))
    except ArgumentError as exc:
        raise StorageError(f"store {store_url}: not a database URL") from exc
    if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
        return Path(f"{url.database}.scheduler.lock")
    return Path(f"digest-scheduler-{hashlib.sha256(_url(store_url).encode()).hexdigest()[:16]}.lock")


@contextmanager
def hold_lock(store_url: str, *, pid: int, host: str, now: datetime) -> Iterator[Path]:
    """Hold the one-scheduler-per-store lock for the block; yield the lock file.

    ``flock`` rather than a pid file alone: the kernel drops the lock when the process ends,
    however it ends, so a crashed scheduler never blocks the next one. The file says who holds it.

    Raises:
        Busy: another process holds it; the message names that process.
        StorageError: the lock file cannot be created.
    """
    path = lock_path(store_url)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        raise StorageError(
            f"store {shown_store(store_url)}: cannot create the lock file {path}: {exc.strerror or exc}"
        ) from exc
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            holder = os.read(fd, 500).decode(errors="replace").strip() or "a process still starting"
            raise Busy(
                f"store {shown_store(store_url)}: another scheduler holds it ({holder}; lock file {path})"
            ) from exc
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"pid {pid} on {host} since {now.isoformat(timespec='seconds')}\n".encode(), 0)
        try:
            yield path
        finally:
            # the file stays: removing it would let a newcomer lock a new file beside a held one
            os.ftruncate(fd, 0)
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)
