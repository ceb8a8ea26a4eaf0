"""Scaling out: one edition sent by 1 `digest worker` against 4, on one PostgreSQL store, in
the same run.

Each phase gets a fresh database holding the same sealed, planned edition (20,000 readers by
default) and sends it to a local aiosmtpd that waits 100 ms before answering DATA, as a relay
across a network does. The time runs from the workers' start to the last one's exit
(`digest worker --once`, each a process of its own, as on several machines).

    .venv/bin/python bench/bench_workers.py [--subscribers 20000] [--pool 8]

Needs Debian's postgresql (a cluster of the bench's own is started on a free port).
Prints messages per second for both and the ratio (the acceptance asks for at least 3x).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from aiosmtpd.controller import Controller  # noqa: E402

from digest.config import load_config  # noqa: E402
from digest.context import RunContext  # noqa: E402
from digest.pipeline import prepare_edition  # noqa: E402
from digest.store import open_store  # noqa: E402
from pg_server import cluster  # noqa: E402
from smtpd_helpers import free_port, write_run_project  # noqa: E402

DATA_DELAY = 0.100
ENV = {**os.environ, "DIGEST_SECRET": "bench"}


class Sink:
    """Counts accepted messages per recipient, after the relay-like delay."""

    def __init__(self) -> None:
        self.got: Counter[str] = Counter()
        self.lock = threading.Lock()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        await asyncio.sleep(DATA_DELAY)
        with self.lock:
            self.got.update(envelope.rcpt_tos)
        return "250 2.0.0 OK"


def sealed(config: Path, url: str) -> str:
    """The edition prepared, sealed and planned on the store at ``url``; its id."""
    settings = load_config(config).model_copy(update={"store": url})
    with open_store(url) as store:
        summary = asyncio.run(
            prepare_edition(RunContext(settings, store, now=datetime.now(UTC), environ=ENV))
        )
        store.seal_or_hold(summary.edition_id, require_approval=False, actor="bench")
        store.plan_edition(summary.edition_id)
    return summary.edition_id


def send(config: Path, url: str, smtp: str, workers: int) -> float:
    """Seconds for ``workers`` processes to send every planned delivery."""
    args = ["worker", "--config", str(config), "--db", url, "--transport", smtp, "--once"]
    start = time.perf_counter()
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "digest", *args, "--name", f"w{i}"], env=ENV, stderr=subprocess.PIPE
        )
        for i in range(workers)
    ]
    for proc in procs:
        _, err = proc.communicate()
        if proc.returncode != 0:
            raise SystemExit(f"a worker failed ({proc.returncode}): {err.decode()[-2000:]}")
    return time.perf_counter() - start


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--subscribers", type=int, default=20_000)
    ap.add_argument("--pool", type=int, default=8, help="SMTP connections per worker (delivery.pool_size)")
    args = ap.parse_args()
    sink = Sink()
    port = free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    rates: dict[int, float] = {}
    try:
        with cluster() as pg, tempfile.TemporaryDirectory() as tmp:
            config = write_run_project(Path(tmp), subscribers=args.subscribers, pool_size=args.pool)
            for workers in (1, 4):
                url = pg.fresh_database()
                sealed(config, url)
                sink.got.clear()
                elapsed = send(config, url, f"smtp://127.0.0.1:{port}", workers)
                if len(sink.got) != args.subscribers or max(sink.got.values()) != 1:
                    raise SystemExit(f"{workers} workers: {len(sink.got)} readers reached, some twice?")
                rates[workers] = args.subscribers / elapsed
                with open_store(url) as store:
                    shares = sorted(w.sent for w in store.workers() if w.name.startswith("w"))
                print(
                    f"{workers} worker(s), pool {args.pool} each: {args.subscribers:,} messages in "
                    f"{elapsed:.1f} s = {rates[workers]:.1f} msg/s; shares {shares}"
                )
    finally:
        controller.stop()
    print(f"server: aiosmtpd on loopback, {DATA_DELAY * 1000:.0f} ms before answering DATA; PostgreSQL store")
    print(f"ratio: {rates[4] / rates[1]:.2f}x (want >= 3)")


if __name__ == "__main__":
    main()
