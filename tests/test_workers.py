"""Several senders on one PostgreSQL store, as real processes: `digest worker` on one edition,
a worker killed mid-send and its claims taken over, racing runs, and one rate for all."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from digest.config import load_config
from digest.context import RunContext
from digest.pipeline import prepare_edition
from digest.store import open_store
from smtpd_helpers import Recorder, smtp_server, write_run_project

pytestmark = [pytest.mark.postgres, pytest.mark.slow]
ENV = {**os.environ, "DIGEST_SECRET": "test-secret"}


def digest(*args: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "digest", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=ENV
    )


def finish(proc: subprocess.Popen[bytes], timeout: float = 300) -> str:
    try:
        _, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        _, err = proc.communicate()
        pytest.fail(f"{proc.args!r} did not finish: {err.decode()[-2000:]}")
    return err.decode()


def wait_for(predicate: Callable[[], object], limit: float = 120.0) -> None:
    """Poll until the condition holds (a deadline only against hanging, not a timing check)."""
    deadline = time.monotonic() + limit
    while not predicate():
        assert time.monotonic() < deadline, "no progress"
        time.sleep(0.05)


def sealed_edition(tmp_path: Path, url: str, *, subscribers: int, **project: Any) -> tuple[Path, str]:
    """A project on the store at ``url`` whose edition is prepared, sealed and planned: the
    deliveries wait for workers. Returns the config and the edition's id."""
    config = write_run_project(tmp_path / "p", subscribers=subscribers, **project)
    settings = load_config(config).model_copy(update={"store": url})
    with open_store(url) as store:
        ctx = RunContext(settings, store, now=datetime.now(UTC), environ=ENV)
        summary = asyncio.run(prepare_edition(ctx))
        assert summary.stories
        assert store.seal_or_hold(summary.edition_id, require_approval=False, actor="test")
        assert store.plan_edition(summary.edition_id) == subscribers
    return config, summary.edition_id


def worker(config: Path, url: str, transport: str, name: str, *more: str) -> subprocess.Popen[bytes]:
    return digest(
        "worker", "--config", str(config), "--db", url, "--transport", transport, "--name", name, *more
    )


def test_four_workers_send_one_edition_once_each_in_even_shares(tmp_path: Path, pg_cluster: Any) -> None:
    url = pg_cluster.fresh_database()
    readers = 5000
    config, edition = sealed_edition(tmp_path, url, subscribers=readers, pool_size=4)
    with smtp_server(Recorder(delay=0.01)) as server:
        procs = [worker(config, url, server.url, f"w{i}", "--once") for i in range(4)]
        for proc in procs:
            err = finish(proc)
            assert proc.returncode == 0, err[-2000:]
        got = Counter(r.recipients[0] for r in server.handler.received)
    assert set(got) == {f"reader{i:05d}@example.org" for i in range(readers)}
    assert max(got.values()) == 1  # every reader exactly one copy
    with open_store(url) as store:
        assert store.delivery_counts(edition) == {"sent": readers}
        workers = [w for w in store.workers() if w.name.startswith("w")]  # not the prepare's run
        shares = {w.name: w.sent for w in workers}
        assert all(w.status == "stopped" for w in workers)
    print(f"shares: {shares}")
    assert sum(shares.values()) == readers
    assert max(shares.values()) <= 2 * min(shares.values())
    shown = subprocess.run(
        [sys.executable, "-m", "digest", "status", "--db", url, "--json"],
        capture_output=True,
        env=ENV,
        check=True,
    )
    listed = {w["name"]: (w["status"], w["sent"]) for w in json.loads(shown.stdout)["workers"]}
    assert {name: listed[name] for name in shares} == {name: ("stopped", n) for name, n in shares.items()}


def test_a_killed_workers_messages_go_out_through_the_others_within_the_lease(
    tmp_path: Path, pg_cluster: Any
) -> None:
    url = pg_cluster.fresh_database()
    readers = 2000
    config, edition = sealed_edition(tmp_path, url, subscribers=readers, pool_size=3, lease="30s")
    handler = Recorder(delay=0.03)
    with smtp_server(handler) as server:
        # three workers, each under a name of its own (as on three machines)
        doomed = worker(config, url, server.url, "mail-1", "--once")
        wait_for(lambda: len(handler.received) >= 50)
        others = [worker(config, url, server.url, f"mail-{i}", "--once") for i in (2, 3)]
        wait_for(lambda: len(handler.received) >= 300)
        os.kill(doomed.pid, signal.SIGKILL)
        finish(doomed)
        killed_at = time.monotonic()
        with open_store(url) as store:
            [dead] = [w for w in store.workers() if w.name == "mail-1"]
        in_flight = dead.holding  # claimed and not recorded: sent, being sent, or not yet tried
        for proc in others:
            err = finish(proc)
            assert proc.returncode == 0, err[-2000:]
        took = time.monotonic() - killed_at
        got = Counter(r.recipients[0] for r in handler.received)
    assert set(got) == {f"reader{i:05d}@example.org" for i in range(readers)}  # nobody missed
    duplicates = sum(n - 1 for n in got.values())
    print(f"in flight at the kill: {in_flight}; duplicates: {duplicates}; others done after {took:.0f}s")
    assert duplicates <= in_flight
    with open_store(url) as store:
        assert store.delivery_counts(edition) == {"sent": readers}
        statuses = {w.name: w.status for w in store.workers() if w.name.startswith("mail-")}
        runs = {r.worker_id: r.status for r in store.recent_runs(10)}
    assert statuses == {"mail-1": "dead", "mail-2": "stopped", "mail-3": "stopped"}
    assert runs[dead.id] == "dead"


def test_two_runs_on_an_empty_postgresql_store_both_finish(tmp_path: Path, pg_cluster: Any) -> None:
    url = pg_cluster.fresh_database()
    config = write_run_project(tmp_path / "p", subscribers=200, pool_size=3)
    with smtp_server(Recorder(delay=0.005)) as server:
        args = ("run", "--config", str(config), "--db", url, "--transport", server.url, "-q")
        runs = [digest(*args), digest(*args)]
        for proc in runs:
            err = finish(proc)
            assert proc.returncode == 0, err[-2000:]
            assert "Traceback" not in err
        got = Counter(r.recipients[0] for r in server.handler.received)
    assert len(got) == 200
    assert max(got.values()) == 1


def test_the_rate_holds_for_all_workers_together(tmp_path: Path, pg_cluster: Any) -> None:
    url = pg_cluster.fresh_database()
    readers = 500
    config, _ = sealed_edition(tmp_path, url, subscribers=readers, pool_size=4)
    text = config.read_text(encoding="utf-8").replace("[delivery]\n", "[delivery]\nrate = 50\n")
    config.write_text(text, encoding="utf-8")
    arrivals: list[float] = []

    def at(_rcpt: str, _attempt: int) -> None:
        arrivals.append(time.monotonic())

    with smtp_server(Recorder(script=at)) as server:
        procs = [worker(config, url, server.url, f"w{i}", "--once") for i in range(4)]
        for proc in procs:
            err = finish(proc)
            assert proc.returncode == 0, err[-2000:]
    arrivals.sort()
    busiest = max(sum(1 for t in arrivals[i:] if t - start < 1.0) for i, start in enumerate(arrivals))
    print(f"{len(arrivals)} messages; the busiest second saw {busiest}")
    assert len(arrivals) == readers
    assert busiest <= 55  # 50 a second, with a 10% allowance


def test_migrate_from_several_machines_at_once_then_up_to_date(pg_cluster: Any) -> None:
    url = pg_cluster.fresh_database()
    racing = [digest("migrate", "--db", url) for _ in range(3)]
    for proc in racing:
        err = finish(proc, timeout=60)
        assert proc.returncode == 0, err[-2000:]
    again = subprocess.run(
        [sys.executable, "-m", "digest", "migrate", "--db", url], capture_output=True, env=ENV
    )
    assert again.returncode == 0
    assert "up to date" in again.stderr.decode()


def test_a_worker_waits_for_work_until_sigterm(tmp_path: Path, pg_cluster: Any) -> None:
    url = pg_cluster.fresh_database()
    config, edition = sealed_edition(tmp_path, url, subscribers=20)
    with smtp_server(Recorder()) as server:
        proc = worker(config, url, server.url, "waiting")  # no --once: it stays for more work
        wait_for(lambda: len(server.handler.received) == 20)
        time.sleep(1)
        assert proc.poll() is None
        proc.send_signal(signal.SIGTERM)
        err = finish(proc, timeout=60)
    assert proc.returncode == 0, err[-2000:]
    assert "SIGTERM: stopping" in err
    with open_store(url) as store:
        assert store.delivery_counts(edition) == {"sent": 20}
        assert [w.status for w in store.workers() if w.name == "waiting"] == ["stopped"]
