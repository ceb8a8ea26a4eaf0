"""A throwaway PostgreSQL cluster for the tests: Debian's binaries, a free port on loopback, its
socket and data in a temporary folder, stopped at the end of the session.

Tests that need it get a store URL of a new, empty database each (``fresh_database``); where
the binaries are missing, they skip with the reason (CI installs Debian's ``postgresql``).
"""

from __future__ import annotations

import glob
import itertools
import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from smtpd_helpers import free_port

USER = "digest"


def pg_bin() -> Path | None:
    """Folder of pg_ctl and initdb: on the PATH, else Debian's /usr/lib/postgresql/N/bin."""
    found = shutil.which("pg_ctl")
    if found and shutil.which("initdb"):
        return Path(found).resolve().parent
    versions = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), key=lambda p: int(p.split("/")[4]))
    return Path(versions[-1]).parent if versions else None


@dataclass
class Cluster:
    port: int
    host: str = "127.0.0.1"
    _names: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://{USER}@{self.host}:{self.port}/{database}"

    def fresh_database(self) -> str:
        """A new, empty database; returns its SQLAlchemy URL."""
        import psycopg

        name = f"t{os.getpid()}_{next(self._names)}"
        with psycopg.connect(
            host=self.host, port=self.port, user=USER, dbname="postgres", autocommit=True
        ) as conn:
            conn.execute(f'CREATE DATABASE "{name}" TEMPLATE template0')
        return self.url(name)


def _as_postgres() -> dict[str, object]:
    """PostgreSQL refuses to run as root: as root, run its commands as the postgres user."""
    if os.geteuid() != 0:
        return {}
    try:
        entry = pwd.getpwnam("postgres")
    except KeyError as exc:
        raise RuntimeError("running as root and there is no 'postgres' user to run PostgreSQL as") from exc
    return {"user": entry.pw_uid, "group": entry.pw_gid}


@contextmanager
def cluster() -> Iterator[Cluster]:
    """Start a cluster for the block; raises RuntimeError (with the reason) when it cannot."""
    binaries = pg_bin()
    if binaries is None:
        raise RuntimeError("PostgreSQL binaries not found (Debian: apt-get install postgresql)")
    who = _as_postgres()
    root = Path(tempfile.mkdtemp(prefix="digest-pg-"))
    data, sockets = root / "data", root / "sock"
    sockets.mkdir()
    if who:
        for path in (root, sockets):
            os.chown(path, who["user"], who["group"])  # type: ignore[arg-type]
    port = free_port()
    env = {**os.environ, "LC_ALL": "C.UTF-8", "LANG": "C.UTF-8"}
    run = {"env": env, "check": True, "capture_output": True, **who}
    try:
        subprocess.run(  # type: ignore[call-overload]
            [binaries / "initdb", "-D", data, "-U", USER, "-A", "trust", "-E", "UTF8", "--no-sync"], **run
        )
        options = (
            f"-p {port} -k {sockets} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off"
            " -c full_page_writes=off -c max_connections=300 -c shared_buffers=64MB"
        )
        subprocess.run(  # type: ignore[call-overload]
            [binaries / "pg_ctl", "-D", data, "-o", options, "-l", root / "log", "-w", "-t", "60", "start"],
            **run,
        )
    except subprocess.CalledProcessError as exc:
        shutil.rmtree(root, ignore_errors=True)
        raise RuntimeError(
            f"PostgreSQL did not start: {exc.stderr.decode(errors='replace').strip()}"
        ) from exc
    try:
        yield Cluster(port)
    finally:
        subprocess.run(  # type: ignore[call-overload]
            [binaries / "pg_ctl", "-D", data, "-m", "immediate", "-w", "stop"], **{**run, "check": False}
        )
        shutil.rmtree(root, ignore_errors=True)
