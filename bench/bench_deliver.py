"""Delivery throughput: ``digest run`` to 10,000 subscribers against a sequential smtplib loop.

Both send to the same local aiosmtpd server, which waits 20 ms before answering DATA, as a
relay across a network does (on bare loopback the Python server itself is the bottleneck).
The baseline sends ready-made messages of the same size over one connection, one after the
other, in a subprocess like ``digest run``; it runs on a sample and is compared as a rate.

    .venv/bin/python bench/bench_deliver.py [--subscribers 10000] [--baseline 500] [--pool 8]

Prints messages per second for both, the ratio (want >= 3), and the peak RSS of ``digest run``.
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
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from aiosmtpd.controller import Controller  # noqa: E402

from smtpd_helpers import free_port, write_run_project  # noqa: E402

DATA_DELAY = 0.020

BASELINE = r"""
import smtplib, sys, time
host, port, n, path = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
data = open(path, "rb").read()
with smtplib.SMTP(host, port) as s:
    start = time.perf_counter()
    for i in range(n):
        s.sendmail("brief@example.org", [f"base{i}@example.org"], data)
    print(n / (time.perf_counter() - start))
"""


class Counting:
    """Counts accepted messages (keeping one sample), after the relay-like delay."""

    def __init__(self) -> None:
        self.count = 0
        self.sample = b""
        self.lock = threading.Lock()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        await asyncio.sleep(DATA_DELAY)
        with self.lock:
            self.count += 1
            if not self.sample:
                self.sample = envelope.original_content or b""
        return "250 2.0.0 OK"


def run_digest(config: Path, url: str) -> tuple[float, float, int]:
    """(seconds for the whole run, seconds from first to last message, peak RSS in MB)."""
    folder = config.parent
    cmd = [sys.executable, "-m", "digest", "run", "--config", str(config), "--transport", url, "-q"]
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=folder, env={**os.environ, "DIGEST_SECRET": "bench"})
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"digest run failed with {os.waitstatus_to_exitcode(status)}")
    return elapsed, usage.ru_maxrss / 1024, 0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--subscribers", type=int, default=10_000)
    ap.add_argument("--baseline", type=int, default=500, help="messages in the smtplib baseline sample")
    ap.add_argument("--pool", type=int, default=8, help="delivery.pool_size for digest run")
    args = ap.parse_args()

    handler = Counting()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            config = write_run_project(Path(tmp), subscribers=args.subscribers, pool_size=args.pool)
            url = f"smtp://127.0.0.1:{port}"
            # A first small run would warm caches; we measure the real thing cold, as cron runs it.
            elapsed, rss_mb, _ = run_digest(config, url)
            sent = handler.count
            sample = Path(tmp) / "sample.eml"
            sample.write_bytes(handler.sample)
            out = subprocess.run(
                [sys.executable, "-c", BASELINE, "127.0.0.1", str(port), str(args.baseline), str(sample)],
                check=True,
                capture_output=True,
                text=True,
            )
            base_rate = float(out.stdout.strip())
    finally:
        controller.stop()

    rate = sent / elapsed
    print(f"server: aiosmtpd on loopback, {DATA_DELAY * 1000:.0f} ms before answering DATA")
    print(f"message size: {len(handler.sample):,} bytes")
    print(
        f"digest run: {sent:,} messages in {elapsed:.1f} s end to end (gather, condense, render, "
        f"deliver; pool {args.pool}) = {rate:.1f} msg/s"
    )
    print(f"smtplib sequential, one connection: {args.baseline} messages = {base_rate:.1f} msg/s")
    print(f"ratio: {rate / base_rate:.2f}x (want >= 3)")
    print(f"digest run peak RSS: {rss_mb:.0f} MB")
    if sent != args.subscribers:
        raise SystemExit(f"expected {args.subscribers} messages, the server got {sent}")


if __name__ == "__main__":
    main()
