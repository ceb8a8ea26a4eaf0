"""SIGKILL in the middle of ``digest run``, then a rerun: every subscriber served, duplicates
no more than the messages in flight at the kill (at most the pool size)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from digest.store import open_store
from smtpd_helpers import Recorder, smtp_server, write_run_project

SUBSCRIBERS = 60
POOL = 3


def digest_run(config: Path, url: str) -> subprocess.Popen[bytes]:
    folder = config.parent
    args = ["run", "--config", str(config), "--transport", url, "-q", "--db", str(folder / "digest.db")]
    return subprocess.Popen(
        [sys.executable, "-m", "digest", *args, "--subscribers", str(folder / "subscribers.csv")],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "DIGEST_SECRET": "test-secret"},
    )


def wait_for(predicate: object, proc: subprocess.Popen[bytes], limit: float = 60.0) -> None:
    """Poll until the condition holds (a deadline only against hanging, not a timing check)."""
    deadline = time.monotonic() + limit
    while not predicate():  # type: ignore[operator]
        if proc.poll() is not None:
            _, err = proc.communicate()
            pytest.fail(f"digest run ended early ({proc.returncode}): {err.decode()[-2000:]}")
        if time.monotonic() > deadline:
            proc.kill()
            pytest.fail("digest run made no progress")
        time.sleep(0.01)


@pytest.mark.slow
@pytest.mark.parametrize("kill_after", [0, 25])
def test_sigkill_mid_send_then_rerun_serves_everyone(tmp_path: Path, kill_after: int) -> None:
    # a short lease: the rerun takes the killed run's claims over once it runs out
    config = write_run_project(tmp_path / "p", subscribers=SUBSCRIBERS, pool_size=POOL, lease="3s")
    handler = Recorder(delay=0.03)  # slow enough to be caught with messages in flight
    with smtp_server(handler) as server:
        proc = digest_run(config, server.url)
        # kill_after=0: as soon as the first DATA arrives, i.e. with the pool busy.
        wait_for(lambda: sum(handler.attempts.values()) > kill_after, proc)
        os.kill(proc.pid, signal.SIGKILL)
        proc.communicate()
        assert proc.returncode == -signal.SIGKILL
        before = len(handler.received)
        assert before < SUBSCRIBERS

        rerun = digest_run(config, server.url)
        _, err = rerun.communicate(timeout=120)
        assert rerun.returncode == 0, err.decode()[-2000:]

    got = Counter(r.recipients[0] for r in handler.received)
    assert set(got) == {f"reader{i:05d}@example.org" for i in range(SUBSCRIBERS)}
    duplicates = sum(n - 1 for n in got.values())
    print(f"killed after {before} accepted; duplicates after the rerun: {duplicates}")
    assert duplicates <= POOL
    with open_store(config.parent / "digest.db") as store:
        [edition] = {r.edition_id for r in store.recent_runs()}
        assert store.delivery_counts(edition) == {"sent": SUBSCRIBERS}
        runs = store.recent_runs()
        assert [r.status for r in runs] == ["ok", "dead"]  # the killed run is dead, not "running"
        assert runs[0].summary["waiting"] == {}


@pytest.mark.slow
def test_two_overlapping_runs_share_the_work(tmp_path: Path) -> None:
    """cron and a catch-up (or a manual run) at once: each delivery is claimed by one run, and the
    second leaves the first one's messages in flight alone: nobody gets two copies."""
    config = write_run_project(tmp_path / "p", subscribers=SUBSCRIBERS, pool_size=POOL)
    with smtp_server(Recorder(delay=0.05)) as server:
        first = digest_run(config, server.url)
        wait_for(lambda: len(server.handler.received) >= 5, first)
        second = digest_run(config, server.url)
        for proc in (first, second):
            _, err = proc.communicate(timeout=120)
            assert proc.returncode == 0, err.decode()[-2000:]
        counts = Counter(r for m in server.handler.received for r in m.recipients)
    assert len(counts) == SUBSCRIBERS
    assert sum(counts.values()) == SUBSCRIBERS
