"""Gather benchmark: 200 feeds x 50 entries served over loopback.

Prints three wall times measured in the same run, and their ratios:
  1. sequential: one feed at a time (concurrency 1), the baseline;
  2. concurrent: digest's default limits (concurrency and per-host limit);
  3. unchanged: the same feeds again with the stored ETags, every one answering 304.

Loopback has no network delay, so the server (in its own process, on several 127.0.0.x
addresses so the per-host limit applies as on the internet) adds a round-trip time before
each response and sends bodies at a bounded rate, like a distant feed server. Full-text
fetching is off: the benchmark measures the feeds themselves.

    .venv/bin/python bench/bench_gather.py [--feeds 200] [--entries 50] [--rtt 0.05] [--rate 1000000]
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import multiprocessing
import threading
import time
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from digest.config import GatherConfig
from digest.gather import GatherResult, gather
from digest.models import FeedSpec, FeedState

WORDS = [
    "the",
    "council",
    "said",
    "on",
    "monday",
    "that",
    "new",
    "rules",
    "would",
    "apply",
    "to",
    "ports",
    "rail",
    "and",
    "freight",
    "from",
    "june",
]


def feed_body(n: int, entries: int, words: int = 400) -> bytes:
    """A feed of ``entries`` items, each a full article of about ``words`` words in HTML.

    The default size (about 2.7 KB of XML per entry) is the median of the real feeds captured
    in the shared test corpus (fixtures/feeds/real/): feeds carry full text more often than not.
    """
    items = []
    for i in range(entries):
        paras = []
        for p in range(5):
            text = " ".join(WORDS[(i + p + j) % len(WORDS)] for j in range(words // 5))
            link = f"&lt;a href=&quot;https://f{n}.example/r/{i}/{p}&quot;&gt;more&lt;/a&gt;"
            paras.append(f"&lt;p&gt;{text} {link}&lt;/p&gt;")
        items.append(
            f"<item><title>Feed {n} story {i}</title><link>https://f{n}.example/s/{i}</link>"
            f"<guid>https://f{n}.example/s/{i}</guid>"
            f"<pubDate>Mon, 02 Mar 2026 08:{i % 60:02d}:00 GMT</pubDate>"
            f"<description>{''.join(paras)}</description></item>"
        )
    return (
        f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Feed {n}</title>'
        f"<link>https://f{n}.example/</link><description>bench</description>{''.join(items)}</channel></rss>"
    ).encode()


def serve(
    hosts: int, feeds: int, entries: int, rtt: float, rate: float, ports: multiprocessing.Queue
) -> None:  # type: ignore[type-arg]
    bodies = {f"/feed/{n}.xml": feed_body(n, entries) for n in range(feeds)}
    etags = {p: '"' + hashlib.sha1(b).hexdigest()[:16] + '"' for p, b in bodies.items()}

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            time.sleep(rtt)  # the round trip before the first byte
            body = bodies.get(self.path)
            if body is None:
                self.send_response(404)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            if self.headers.get("If-None-Match") == etags[self.path]:
                self.send_response(304)
                self.send_header("ETag", etags[self.path])
                self.end_headers()
                return
            self.send_response(200)
            self.send_header("Content-Type", "application/rss+xml")
            self.send_header("ETag", etags[self.path])
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            chunk = 16384
            for i in range(0, len(body), chunk):
                self.wfile.write(body[i : i + chunk])
                time.sleep(chunk / rate)  # a bounded transfer rate

    servers = [ThreadingHTTPServer((f"127.0.0.{h + 1}", 0), Handler) for h in range(hosts)]
    for s in servers:
        s.daemon_threads = True
        threading.Thread(target=s.serve_forever, daemon=True).start()
    ports.put([s.server_address[1] for s in servers])
    threading.Event().wait()


def timed(
    feeds: list[FeedSpec], config: GatherConfig, states: dict[str, FeedState]
) -> tuple[float, GatherResult]:
    start = time.perf_counter()
    result = asyncio.run(
        gather(feeds, config=config, states=states, seen=lambda ids: set(), now=datetime.now(UTC))
    )
    return time.perf_counter() - start, result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--feeds", type=int, default=200)
    ap.add_argument("--entries", type=int, default=50)
    ap.add_argument("--hosts", type=int, default=50, help="distinct loopback addresses serving the feeds")
    ap.add_argument("--rtt", type=float, default=0.05, help="seconds added before each response")
    ap.add_argument("--rate", type=float, default=1_000_000, help="bytes per second per response")
    ap.add_argument("--concurrency", type=int, default=None, help="override the default concurrency")
    args = ap.parse_args()

    ports: multiprocessing.Queue = multiprocessing.Queue()  # type: ignore[type-arg]
    server = multiprocessing.Process(
        target=serve, args=(args.hosts, args.feeds, args.entries, args.rtt, args.rate, ports), daemon=True
    )
    server.start()
    try:
        port_list = ports.get(timeout=30)
        feeds = [
            FeedSpec(
                url=f"http://127.0.0.{n % args.hosts + 1}:{port_list[n % args.hosts]}/feed/{n}.xml",
                name=f"f{n}",
            )
            for n in range(args.feeds)
        ]
        default = GatherConfig(full_text=False)
        if args.concurrency:
            default = default.model_copy(update={"concurrency": args.concurrency})
        sequential = default.model_copy(update={"concurrency": 1, "per_host": 1})

        t_seq, r_seq = timed(feeds, sequential, {})
        t_first, r_first = timed(feeds, default, {})
        states = {s.url: s for s in r_first.states}
        t_again, r_again = timed(feeds, default, states)
    finally:
        server.terminate()

    for name, r in (("sequential", r_seq), ("concurrent", r_first), ("unchanged", r_again)):
        statuses = {o.status for o in r.outcomes}
        print(f"{name:>11}: statuses {sorted(statuses)}, articles {len(r.articles)}")
    print(
        f"{args.feeds} feeds x {args.entries} entries, {args.hosts} hosts, rtt {args.rtt * 1000:.0f} ms, "
        f"rate {args.rate / 1e6:g} MB/s; concurrency {default.concurrency}, per host {default.per_host}"
    )
    print(f"sequential (one feed at a time): {t_seq:7.2f} s")
    print(
        f"concurrent first run:            {t_first:7.2f} s   {t_seq / t_first:5.1f}x faster than sequential"
    )
    print(
        f"second run, every feed 304:      {t_again:7.2f} s   "
        f"{t_first / t_again:5.1f}x faster than the first run"
    )


if __name__ == "__main__":
    main()
