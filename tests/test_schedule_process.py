"""`digest schedule` as a user runs it: real processes, real signals, a real SMTP server."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from digest.store import open_store
from smtpd_helpers import Recorder, smtp_server, write_run_project

SUBSCRIBERS = 40
POOL = 3


def schedule(config: Path, *args: str, cwd: Path | None = None) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "digest", "schedule", "--config", str(config), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "DIGEST_SECRET": "test-secret"},
        cwd=cwd,
    )


def wait_for(predicate: Callable[[], object], proc: subprocess.Popen[bytes], limit: float = 60.0) -> None:
    """Poll until the condition holds (a deadline only against hanging, not a timing check)."""
    deadline = time.monotonic() + limit
    while not predicate():
        if proc.poll() is not None:
            _, err = proc.communicate()
            pytest.fail(f"digest schedule ended early ({proc.returncode}): {err.decode()[-2000:]}")
        if time.monotonic() > deadline:
            proc.kill()
            pytest.fail(f"digest schedule made no progress: {proc.communicate()[1].decode()[-2000:]}")
        time.sleep(0.02)


def terminate(proc: subprocess.Popen[bytes]) -> str:
    """SIGTERM, then the process's stderr once it has exited."""
    proc.send_signal(signal.SIGTERM)
    try:
        _, err = proc.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        proc.kill()
        _, err = proc.communicate()
        pytest.fail(f"digest schedule did not stop on SIGTERM: {err.decode()[-2000:]}")
    return err.decode()


def cron_a_minute_ago() -> str:
    """A daily send time that has just passed: a first start catches up on it at once."""
    t = datetime.now(UTC) - timedelta(minutes=1)
    return f"{t.minute} {t.hour} * * *"


@pytest.mark.slow
def test_a_second_scheduler_on_the_same_store_exits_2_naming_the_first(
    tmp_path: Path, store_url: str
) -> None:
    """Started from two different folders, on one store: one runs, the other exits 2 naming it.
    On SQLite the lock is a file beside the database; on PostgreSQL an advisory lock, which
    elects one scheduler across machines too."""
    config = write_run_project(tmp_path / "p", subscribers=3)
    args = ("--db", store_url, "--cron", "0 0 1 1 *", "--transport", f"file:{tmp_path / 'outbox'}")
    here, there = tmp_path / "a", tmp_path / "b"
    here.mkdir()
    there.mkdir()
    first = schedule(config, *args, cwd=here)

    def started() -> bool:
        with open_store(store_url) as store:
            return f'"pid": {first.pid}' in (store.get_meta("scheduler") or "")

    try:
        wait_for(started, first)
        second = subprocess.run(
            [sys.executable, "-m", "digest", "schedule", "--config", str(config), *args],
            capture_output=True,
            timeout=60,
            cwd=there,
        )
        assert second.returncode == 2
        error = second.stderr.decode().strip().splitlines()[-1]  # after the line naming config and store
        assert error.startswith("digest: error: store ")
        assert f"another scheduler holds it (pid {first.pid} on " in error
        if store_url.startswith("sqlite"):
            assert f"{store_url.removeprefix('sqlite:///')}.scheduler.lock" in error
        assert "Traceback" not in second.stderr.decode()
    finally:
        err = terminate(first)
    assert first.returncode == 0, err[-2000:]
    assert "SIGTERM: stopping" in err
    assert f"scheduler stopped (pid {first.pid})" in err
    assert "Traceback" not in err
    with open_store(store_url) as store:
        state = json.loads(store.get_meta("scheduler") or "{}")
    assert (state["pid"], state["schedule"]) == (first.pid, "0 0 1 1 *")
    assert state["stopped"]
    assert not list(here.iterdir())  # nothing left in either folder
    assert not list(there.iterdir())


@pytest.mark.slow
def test_sigterm_mid_send_leaves_every_message_sent_or_pending_and_a_restart_finishes(
    tmp_path: Path,
) -> None:
    config = write_run_project(tmp_path / "p", subscribers=SUBSCRIBERS, pool_size=POOL)
    cron = cron_a_minute_ago()
    with smtp_server(Recorder(delay=0.2)) as server:  # slow: messages are in flight at the signal
        proc = schedule(config, "--cron", cron, "--transport", server.url)
        wait_for(lambda: len(server.handler.received) >= 4, proc)
        err = terminate(proc)
        assert proc.returncode == 0, err[-2000:]
        assert "SIGTERM: stopping" in err
        assert "scheduler stopped" in err
        assert "Traceback" not in err
        with open_store(config.parent / "digest.db") as store:
            [run] = store.recent_runs()
            counts = store.delivery_counts(run.edition_id)
        assert run.status == "stopped"
        assert set(counts) == {"sent", "pending"}  # none left "sending"
        assert counts["sent"] + counts["pending"] == SUBSCRIBERS
        assert counts["sent"] == len(server.handler.received)

        # restarted within the grace: the stopped send resumes with those still pending
        again = schedule(config, "--cron", cron, "--transport", server.url)

        def all_sent() -> bool:
            with open_store(config.parent / "digest.db") as store:
                return store.delivery_counts(run.edition_id) == {"sent": SUBSCRIBERS}

        wait_for(all_sent, again)
        err = terminate(again)
        assert again.returncode == 0, err[-2000:]
        assert "its send did not finish: resuming it" in err
        got = Counter(r.recipients[0] for r in server.handler.received)
    assert set(got) == {f"reader{i:05d}@example.org" for i in range(SUBSCRIBERS)}
    assert sum(got.values()) == SUBSCRIBERS  # a clean stop sends no one a second copy
