"""Render benchmark: complete MIME messages per second, and peak memory against list size.

    .venv/bin/python bench/bench_render.py            # 10,000 subscribers; RSS at 10k and 100k
    .venv/bin/python bench/bench_render.py --quick    # 2,000 subscribers; RSS at 2k and 20k

The fast path is ``EditionRenderer.messages``: one MJML compile and one quoted-printable
encoding per topic set, then per subscriber only the short personal values. The baseline
does, for every subscriber, what a straightforward implementation would: render the jinja
MJML, compile it, inline the CSS and build an ``EmailMessage`` (policy SMTP) from scratch.
It runs on a smaller sample in the same process; rates are compared, not times.
Peak RSS is measured in fresh subprocesses (``ru_maxrss``), one per list size.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP

from digest.config import Settings
from digest.models import Subscriber
from digest.render import EditionRenderer, templates, view
from digest.render.html import compile_mjml
from digest.render.sample import sample_edition

NOW = datetime(2026, 11, 26, 7, 0, tzinfo=UTC)
SECRET = b"bench-secret"
TOPIC_SETS = (frozenset(), frozenset({"science"}), frozenset({"world", "technology"}), frozenset({"culture"}))
NAMES = ("Alice Smith", "Zoë Ğüçlü", "Bob", "", "Dr. Marta Kowalska-Nowak", "李小龍")


def subscribers(n: int) -> Iterator[Subscriber]:
    """``n`` subscribers over a few topic sets, generated lazily (the list is never held)."""
    for i in range(n):
        yield Subscriber(
            f"reader{i}@example.com", NAMES[i % len(NAMES)], topics=TOPIC_SETS[i % len(TOPIC_SETS)]
        )


def fast(n: int) -> tuple[float, int]:
    """Seconds and bytes to render ``n`` complete messages the way digest does."""
    start = time.perf_counter()
    r = EditionRenderer(sample_edition(), Settings(), secret=SECRET, now=NOW)
    size = 0
    for msg in r.messages(subscribers(n)):
        size += len(msg.data)
    return time.perf_counter() - start, size


def naive(n: int) -> tuple[float, int]:
    """Seconds and bytes for the baseline: everything per subscriber, nothing reused."""
    edition = sample_edition()
    env = templates.environment(None)
    base, text_t, greet = (
        templates.load(env, t) for t in (templates.BASE, templates.TEXT, templates.GREETING)
    )
    start = time.perf_counter()
    size = 0
    for sub in subscribers(n):
        secs, refs = view.sections(edition, view.select(edition, sub))
        if not secs:
            continue
        heads = view.headlines(secs)
        greeting = greet.render(name=sub.name, email=sub.email).strip()
        url = f"https://example.org/unsubscribe?token={sub.email}"
        ctx = {
            "title": edition.title,
            "date": view.long_date(edition.day),
            "preheader": view.default_preheader(heads),
            "intro": "",
            "sections": secs,
            "references": refs,
            "language": "en",
            "postal_address": "",
            "subscriber": sub,
            "greeting": greeting,
            "unsubscribe_url": url,
            "manage_url": url,
        }
        html = compile_mjml(base.render(ctx), env)
        msg = EmailMessage(policy=SMTP)
        msg["From"] = Address("Digest", addr_spec="digest@example.org")
        msg["To"] = Address(sub.name, addr_spec=sub.email)
        msg["Subject"] = f"{edition.title}: {heads[0]}"
        msg["List-Unsubscribe"] = f"<{url}>"
        msg.set_content(text_t.render(ctx))
        msg.add_alternative(html, subtype="html")
        size += len(msg.as_bytes())
    return time.perf_counter() - start, size


def peak_rss(n: int) -> int:
    """Peak RSS in KiB of a fresh interpreter that renders ``n`` messages."""
    code = (
        "import resource, sys; sys.argv = ['x']; from bench_render import fast; "
        f"fast({n}); print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], check=True, capture_output=True, text=True, cwd=sys.path[0]
    )
    return int(out.stdout.strip())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="smaller lists, for a smoke run")
    args = parser.parse_args()
    n, baseline_n, small, large = (
        (2_000, 100, 2_000, 20_000) if args.quick else (10_000, 300, 10_000, 100_000)
    )

    t_naive, b_naive = naive(baseline_n)
    t_fast, b_fast = fast(n)
    rate_naive, rate_fast = baseline_n / t_naive, n / t_fast
    print(f"baseline (per-subscriber jinja+MJML+EmailMessage): {baseline_n} messages in {t_naive:.2f} s")
    print(f"  = {rate_naive:,.0f} messages/s, {b_naive / baseline_n / 1024:.0f} KiB each")
    print(f"digest (compile once per topic set, encode once):   {n} messages in {t_fast:.2f} s")
    print(f"  = {rate_fast:,.0f} messages/s, {b_fast / n / 1024:.0f} KiB each")
    print(f"speed-up: {rate_fast / rate_naive:.1f}x (want >= 10x)")
    rss_small, rss_large = peak_rss(small), peak_rss(large)
    print(f"peak RSS: {small:,} subscribers {rss_small / 1024:.1f} MiB;", end=" ")
    print(f"{large:,} subscribers {rss_large / 1024:.1f} MiB")
    print(f"  ratio {rss_large / rss_small:.2f} (want < 1.5)")


if __name__ == "__main__":
    main()
