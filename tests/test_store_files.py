"""A SQLite store's file: who may read it, commands that create nothing, a read-only
filesystem, a damaged file, a full disk. Real files, the real command line."""

from __future__ import annotations

import logging
import os
import shutil
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import event

from digest.cli import main
from digest.errors import StorageError, StoreUnusable
from digest.models import Subscriber
from digest.store import open_store


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_a_new_store_and_its_folder_are_readable_by_their_owner_only(tmp_path: Path) -> None:
    db = tmp_path / "new" / "deeper" / "digest.db"
    with open_store(db) as store:
        store.merge_subscribers([Subscriber("ada@example.org")])  # the WAL and its index appear
        assert mode(db) == 0o600
        for extra in ("-wal", "-shm"):
            assert mode(Path(f"{db}{extra}")) == 0o600, extra
    assert mode(db.parent) == 0o700
    assert mode(db.parent.parent) == 0o700


def test_a_store_others_can_read_is_reported(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    db = tmp_path / "digest.db"
    open_store(db).close()
    db.chmod(0o644)
    with caplog.at_level(logging.WARNING, logger="digest.store"):
        open_store(db).close()
    assert "can be read by other users (mode 0644)" in caplog.text
    assert "chmod 600" in caplog.text


def test_a_read_only_command_creates_nothing(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere" / "digest.db"
    result = CliRunner().invoke(main, ["status", "--db", str(missing)])
    assert result.exit_code == 0
    assert f"No store at {missing} yet: nothing has run." in result.output
    listed = CliRunner().invoke(main, ["subscribers", "list", "--db", str(missing)])
    assert listed.exit_code == 2
    assert listed.output.strip().splitlines()[-1] == (
        f"digest: error: store {missing}: no such store (`digest run` or `digest migrate` creates it)"
    )
    assert not missing.parent.exists()
    with pytest.raises(StoreUnusable):
        open_store(missing, create=False)


def test_a_damaged_store_is_a_one_line_error_with_exit_code_2(tmp_path: Path) -> None:
    db = tmp_path / "digest.db"
    db.write_bytes(b"this is not a database, but a text file\n" * 200)
    db.chmod(0o600)
    result = CliRunner().invoke(main, ["status", "--db", str(db)])
    assert result.exit_code == 2
    last = result.output.strip().splitlines()[-1]
    assert last == f"digest: error: store {db}: not a digest store, or damaged: file is not a database"


def test_a_full_disk_is_one_line_without_the_statement_or_its_values(tmp_path: Path) -> None:
    db = tmp_path / "digest.db"
    with open_store(db) as store:
        store.engine.dispose()
        event.listen(store.engine, "connect", lambda c, _r: c.execute("PRAGMA max_page_count = 40"))
        readers = (Subscriber(f"secret-{i}@example.org", "Private Name") for i in range(20_000))
        with pytest.raises(StorageError) as info:
            store.merge_subscribers(readers)
    message = str(info.value)
    assert message == f"store {db}: database or disk is full"


@pytest.fixture
def read_only_folder(tmp_path: Path) -> Iterator[Path]:
    """A folder on a filesystem mounted read-only (a tmpfs), holding a store written before."""
    where = tmp_path / "ro"
    where.mkdir()
    if (
        shutil.which("mount") is None
        or subprocess.run(
            ["mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", str(where)], capture_output=True
        ).returncode
    ):
        pytest.skip("cannot mount a filesystem here (needs root and the mount capability)")
    try:
        with open_store(where / "digest.db") as store:
            store.merge_subscribers([Subscriber("ada@example.org")])
        subprocess.run(["mount", "-o", "remount,ro", str(where)], check=True)
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False)


def test_a_store_on_a_read_only_filesystem_opens_for_reading(read_only_folder: Path) -> None:
    db = read_only_folder / "digest.db"
    assert not os.access(read_only_folder, os.W_OK) or os.geteuid() == 0
    status = subprocess.run(
        [sys.executable, "-m", "digest", "status", "--db", str(db), "--json"], capture_output=True, text=True
    )
    assert status.returncode == 0, status.stderr
    listed = subprocess.run(
        [sys.executable, "-m", "digest", "subscribers", "list", "--db", str(db), "--json"],
        capture_output=True,
        text=True,
    )
    assert listed.returncode == 0, listed.stderr
    assert "ada@example.org" in listed.stdout
