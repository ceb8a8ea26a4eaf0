"""The readers' one-click unsubscribe under load: a real `digest serve` on loopback over a
SQLite store of 1,000,000 subscribers, 50 concurrent one-click POSTs, and the baseline in the
same run.

    .venv/bin/python bench/bench_endpoint.py [--subscribers 1000000] [--requests 5000]

The store is built in a temporary folder (bulk inserts in batches). The server runs as its own
process. 50 simulated mail clients each post one-click unsubscribes with the tokens of distinct
subscribers, the next as soon as the last is answered, so 50 requests are in flight at all
times; once with a minimal HTTP/1.1 client on asyncio streams (little CPU of its own, so the
two cores go to the server and the latency is the server's), once with httpx (a client of its
own per mail client; httpx spends more CPU per request than the server does, on the same two
cores). Then old links (the address in base64), looked up by the primary key. Latency is
measured by the clients; the server's memory from /proc (resident set at start, warmed up, the
highest sampled during the load, and the process's peak).

The baseline is what every such request did before subscriber keys: load and scan the whole
list to find the address (``_find`` of the former ``web.SubscriptionApp``), timed here on the
same store, in this process. With 50 in flight each request also waited behind the others'
scans (two cores, the GIL): about 50 times as long.

Target: p95 under 50 ms at 1,000,000 subscribers and 50 concurrent requests, memory flat.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import hashlib
import hmac
import os
import random
import re
import resource
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from digest import tokens
from digest.store import open_store

SECRET = "bench-endpoint-secret"
CONCURRENCY = 50
ONE_CLICK = {"List-Unsubscribe": "One-Click"}
CONFIG = """\
title = "Bench"
[render]
unsubscribe_url = "https://news.example.org/unsubscribe"
"""


def build_store(db: Path, count: int, sample: int) -> list[tuple[str, str]]:
    """A store of ``count`` subscribers; returns ``sample`` (email, key) pairs picked at random."""
    open_store(db).close()  # the schema, by the migrations
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    chosen = set(random.Random(7).sample(range(count), sample))
    picked: list[tuple[str, str]] = []
    conn = sqlite3.connect(db)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=OFF")
    sql = (
        "INSERT INTO subscribers (email, name, status, timezone, topics, hard_failures, created, "
        "updated, first_name, \"key\") VALUES (?, ?, 'active', NULL, '', 0, ?, ?, '', ?)"
    )
    for start in range(0, count, 50_000):
        rows = []
        for i in range(start, min(count, start + 50_000)):
            email, key = f"reader{i:07}@example.org", tokens.new_key()
            rows.append((email, f"Reader {i}", now, now, key))
            if i in chosen:
                picked.append((email, key))
        conn.executemany(sql, rows)
        conn.commit()
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    random.Random(11).shuffle(picked)
    return picked


def legacy_token(email: str) -> str:
    """A token as emails sent before keys carry it (the address in base64)."""

    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    mac = hmac.new(SECRET.encode(), b"unsubscribe\0" + email.encode(), hashlib.sha256).digest()[:16]
    return f"{b64(email.encode())}.{b64(mac)}"


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time of a process so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_kib(pid: int, field: str = "VmRSS") -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


class Serve:
    """`digest serve` as a process; samples its resident memory meanwhile."""

    def __init__(self, folder: Path, db: Path) -> None:
        config = folder / "digest.toml"
        config.write_text(CONFIG, encoding="utf-8")
        args = [
            sys.executable,
            "-m",
            "digest",
            "serve",
            "--config",
            str(config),
            "--db",
            str(db),
            "--port",
            "0",
        ]
        env = {**os.environ, "DIGEST_SECRET": SECRET}
        self.proc = subprocess.Popen(args, env=env, stderr=subprocess.PIPE, text=True)
        self.peak = 0
        self._sampling = True
        lines = ""
        assert self.proc.stderr is not None
        while not (found := re.search(r"desk on (http://127\.0\.0\.1:\d+)/", lines)):
            line = self.proc.stderr.readline()
            if not line:
                raise SystemExit(f"digest serve did not start: {lines}")
            lines += line
        self.url = found.group(1)
        self.log: list[str] = []  # drained, so that a full pipe never stalls the server
        threading.Thread(target=lambda: self.log.extend(self.proc.stderr or ()), daemon=True).start()
        threading.Thread(target=self._sample, daemon=True).start()

    def _sample(self) -> None:
        while self._sampling and self.proc.poll() is None:
            self.peak = max(self.peak, rss_kib(self.proc.pid))
            time.sleep(0.02)

    def stop(self) -> float:
        """SIGTERM; returns the seconds it took to exit."""
        self._sampling = False
        start = time.perf_counter()
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(timeout=120)
        return time.perf_counter() - start


async def load(
    url: str, tokens_: list[str], concurrency: int = CONCURRENCY
) -> tuple[list[float], float, list[int]]:
    """Post every token once, ``concurrency`` at a time; (latencies, seconds, statuses).

    Each simulated mail client has an httpx client of its own with one keep-alive connection
    (one shared pool of 50 connections costs httpx about 3 ms of CPU a request, on the cores the
    server needs), made and connected before the clock starts (a new httpx client costs some
    20 ms of CPU for its TLS context alone)."""
    latencies: list[float] = []
    statuses: list[int] = []
    queue = list(reversed(tokens_))
    clients = [httpx.AsyncClient(base_url=url, timeout=120) for _ in range(concurrency)]
    try:
        await asyncio.gather(*(http.get("/unsubscribe?token=warm-up") for http in clients))

        async def client(http: httpx.AsyncClient) -> None:
            while queue:
                token = queue.pop()
                start = time.perf_counter()
                answer = await http.post(
                    f"/unsubscribe?token={token}", data={"List-Unsubscribe": "One-Click"}
                )
                latencies.append(time.perf_counter() - start)
                statuses.append(answer.status_code)

        start = time.perf_counter()
        await asyncio.gather(*(client(http) for http in clients))
        return latencies, time.perf_counter() - start, statuses
    finally:
        await asyncio.gather(*(http.aclose() for http in clients))


async def load_raw(
    url: str, tokens_: list[str], concurrency: int = CONCURRENCY
) -> tuple[list[float], float, list[int]]:
    """As :func:`load`, with a minimal HTTP/1.1 client on asyncio streams (one keep-alive
    connection per mail client): some 0.1 ms of CPU a request, so that the two cores go to the
    server and the latency is the server's."""
    host, port = url.removeprefix("http://").split(":")
    body = b"List-Unsubscribe=One-Click"
    latencies: list[float] = []
    statuses: list[int] = []
    queue = list(reversed(tokens_))

    async def post(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, token: str) -> int:
        writer.write(
            f"POST /unsubscribe?token={token} HTTP/1.1\r\nHost: {host}\r\n"
            f"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {len(body)}\r\n\r\n".encode()
            + body
        )
        head = await reader.readuntil(b"\r\n\r\n")
        length = int(re.search(rb"(?i)content-length: *(\d+)", head).group(1))  # type: ignore[union-attr]
        await reader.readexactly(length)
        return int(head.split(b" ", 2)[1])

    connections = [await asyncio.open_connection(host, int(port)) for _ in range(concurrency)]
    await asyncio.gather(*(post(r, w, "warm-up") for r, w in connections))

    async def client(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while queue:
            token = queue.pop()
            start = time.perf_counter()
            statuses.append(await post(reader, writer, token))
            latencies.append(time.perf_counter() - start)

    start = time.perf_counter()
    await asyncio.gather(*(client(r, w) for r, w in connections))
    elapsed = time.perf_counter() - start
    for _, writer in connections:
        writer.close()
    return latencies, elapsed, statuses


Load = Callable[[str, list[str], int], Coroutine[Any, Any, tuple[list[float], float, list[int]]]]


def baseline(db: Path, email: str, rounds: int) -> tuple[list[float], int]:
    """Before keys, each request found its subscriber by loading and scanning the whole list:
    ``next(s for s in store.subscribers() if s.email.lower() == email.lower())``. Seconds per
    lookup, and how much this process's peak resident memory (KiB) grew for them."""
    times = []
    before = rss_kib(os.getpid())
    with open_store(db) as store:
        for _ in range(rounds):
            start = time.perf_counter()
            found = next((s for s in store.subscribers() if s.email.lower() == email.lower()), None)
            times.append(time.perf_counter() - start)
            assert found is not None
    return times, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


def report(name: str, latencies: list[float], elapsed: float) -> float:
    ordered = sorted(latencies)
    p95 = ordered[int(len(ordered) * 0.95) - 1]
    print(
        f"{name}: {len(ordered):,} requests in {elapsed:.1f} s ({len(ordered) / elapsed:.0f}/s), "
        f"p50 {ms(statistics.median(ordered))}, p95 {ms(p95)}, max {ms(ordered[-1])}"
    )
    return p95


def run(server: Serve, name: str, how: Load, batch: list[str], concurrency: int) -> float:
    """One load; prints its figures, returns its p95."""
    cpu = cpu_seconds(server.proc.pid), time.process_time()
    latencies, elapsed, statuses = asyncio.run(how(server.url, batch, concurrency))
    server_cpu, client_cpu = cpu_seconds(server.proc.pid) - cpu[0], time.process_time() - cpu[1]
    if set(statuses) != {200}:
        raise SystemExit(f"{name}: not every request was answered 200: {sorted(set(statuses))}")
    p95 = report(name, latencies, elapsed)
    print(f"    CPU per request: server {ms(server_cpu / len(batch))}, client {ms(client_cpu / len(batch))}")
    return p95


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--subscribers", type=int, default=1_000_000)
    ap.add_argument("--requests", type=int, default=5_000, help="per run")
    ap.add_argument("--baseline-rounds", type=int, default=3)
    ap.add_argument("--concurrency", type=int, default=CONCURRENCY)
    args = ap.parse_args()
    n, conc = args.requests, args.concurrency
    with tempfile.TemporaryDirectory() as tmp:
        folder, db = Path(tmp), Path(tmp) / "bench.db"
        start = time.perf_counter()
        picked = build_store(db, args.subscribers, 200 + 2 * n + 1000)
        size = db.stat().st_size / 2**20
        took = time.perf_counter() - start
        print(f"store: {args.subscribers:,} subscribers (SQLite, {size:.0f} MiB), built in {took:.1f} s")
        keyed = [tokens.sign(k, SECRET.encode()) for _, k in picked[: 200 + 2 * n]]
        old = [legacy_token(e) for e, _ in picked[200 + 2 * n :]]
        server = Serve(folder, db)
        try:
            at_start = rss_kib(server.proc.pid)
            asyncio.run(load_raw(server.url, keyed[:200], conc))
            warmed = rss_kib(server.proc.pid)
            print(f"server: digest serve on loopback; {conc} concurrent one-click POSTs, each another reader")
            p95 = run(server, "key tokens, lean client", load_raw, keyed[200 : 200 + n], conc)
            p95_httpx = run(server, "key tokens, httpx", load, keyed[200 + n :], conc)
            run(server, "old links (address, by primary key), lean client", load_raw, old, conc)
            after, hwm = rss_kib(server.proc.pid), rss_kib(server.proc.pid, "VmHWM")
        finally:
            stopped = server.stop()
        print(
            f"server memory: {at_start / 1024:.0f} MiB at start, {warmed / 1024:.0f} MiB warmed up, "
            f"{server.peak / 1024:.0f} MiB highest sampled during the loads, {after / 1024:.0f} MiB after; "
            f"peak (VmHWM) {hwm / 1024:.0f} MiB"
        )
        print(f"SIGTERM after the loads: stopped in {stopped:.2f} s")
        scans, grown = baseline(db, picked[0][0], max(1, args.baseline_rounds))
        scan = statistics.median(scans)
        print(
            f"baseline, the old lookup (load and scan the whole list, once per request), on the same store: "
            f"{ms(scan)} per request alone ({', '.join(ms(t) for t in scans)}), +{grown / 1024:.0f} MiB "
            f"peak memory each; with {conc} in flight about {scan * conc:.0f} s each"
        )
        print(
            f"p95 against one old lookup alone: {scan / p95:.0f}x (lean client), "
            f"{scan / p95_httpx:.0f}x (httpx); target p95 < 50 ms: {'met' if p95 < 0.050 else 'NOT met'} "
            f"({ms(p95)} lean client, {ms(p95_httpx)} httpx)"
        )


if __name__ == "__main__":
    main()
