"""A million subscribers: importing the CSV, and what an unchanged CSV costs a run, against the
way digest imported before (read the whole file, then one SELECT and one INSERT or UPDATE per
row), measured in the same run.

    .venv/bin/python bench/bench_import.py [--rows 1000000] [--baseline 50000]

Each side runs in a process of its own (its peak RSS is the process's). The baseline runs on a
sample (`--baseline` rows; it takes minutes for a million) and is compared as a rate; its
memory is reported per row and projected. Targets: a million rows in under 60 s with a peak
under 300 MB; an unchanged CSV under 1 s of a run.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

ZONES = ["Europe/London", "America/New_York", "Asia/Kolkata", "Australia/Sydney", ""]
TOPICS = ["", "World", "Science;World", "Business"]

# The import as digest did it before: the whole file read and checked into a list, then a
# SELECT and an INSERT or UPDATE per subscriber, in one transaction.
BASELINE = r"""
import json, resource, sys, time
from datetime import UTC, datetime
from sqlalchemy import insert, select, update
from digest.store import open_store, schema
from digest.subscribers import read_subscribers_csv
csv, db = sys.argv[1], sys.argv[2]
S = schema.subscribers
start = time.perf_counter()
subs = read_subscribers_csv(__import__("pathlib").Path(csv)).subscribers
with open_store(db) as store, store.begin() as conn:
    now = datetime.now(UTC)
    for s in subs:
        row = conn.execute(select(S.c.status).where(S.c.email == s.email)).first()
        topics = ",".join(sorted(s.topics))
        values = {"name": s.name, "timezone": s.timezone, "topics": topics, "updated": now}
        if row is None:
            conn.execute(insert(S).values(email=s.email, status=s.status.value, created=now, **values))
        else:
            conn.execute(update(S).where(S.c.email == s.email).values(**values))
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"seconds": time.perf_counter() - start, "rss_mb": rss}))
"""

# A run's subscriber step, as the pipeline does it: the first time the CSV is merged, the next
# time it is the same file.
RUN_STEP = r"""
import json, resource, sys, time
from pathlib import Path
from digest.pipeline import RunSummary, import_subscribers
from digest.store import open_store
csv, db = Path(sys.argv[1]), sys.argv[2]
out = {}
with open_store(db) as store:
    for label in ("first run", "unchanged"):
        summary = RunSummary("2026-01-05")
        start = time.perf_counter()
        import_subscribers(store, csv, summary)
        out[label] = {"seconds": time.perf_counter() - start, "what": summary.subscribers_csv}
out["rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps(out))
"""


def write_csv(path: Path, rows: int) -> None:
    rand = random.Random(7)
    with path.open("w", encoding="utf-8") as out:
        out.write("email,name,timezone,topics\n")
        for i in range(rows):
            out.write(f"reader{i:07d}@example.org,Reader {i},{rand.choice(ZONES)},{rand.choice(TOPICS)}\n")


def timed_process(args: list[str]) -> tuple[float, float, str]:
    """(seconds, peak RSS in MB, stderr) of a process."""
    start = time.perf_counter()
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - start
    err = proc.stderr.read().decode() if proc.stderr else ""
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{args[:4]} failed: {err[-2000:]}")
    return elapsed, usage.ru_maxrss / 1024, err


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--baseline", type=int, default=50_000, help="rows of the sample the old import runs on")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        big, sample = Path(tmp) / "subscribers.csv", Path(tmp) / "sample.csv"
        write_csv(big, args.rows)
        write_csv(sample, args.baseline)
        digest = [sys.executable, "-m", "digest"]
        seconds, rss, err = timed_process(
            [*digest, "subscribers", "import", str(big), "--db", str(Path(tmp) / "import.db")]
        )
        print(f"digest subscribers import, {args.rows:,} rows: {seconds:.1f} s, peak RSS {rss:.0f} MB")
        print(f"  {err.strip().splitlines()[-1]}")
        run = subprocess.run(
            [sys.executable, "-c", RUN_STEP, str(big), str(Path(tmp) / "run.db")],
            capture_output=True,
            text=True,
            check=True,
        )
        steps = json.loads(run.stdout)
        first, again = steps["first run"], steps["unchanged"]
        print(f"a run's subscriber step, first time ({first['what']}): {first['seconds']:.1f} s")
        print(f"a run's subscriber step, CSV unchanged ({again['what']}): {again['seconds'] * 1000:.1f} ms")
        print(f"  peak RSS of that process: {steps['rss_mb']:.0f} MB")
        old = subprocess.run(
            [sys.executable, "-c", BASELINE, str(sample), str(Path(tmp) / "old.db")],
            capture_output=True,
            text=True,
            check=True,
        )
        base = json.loads(old.stdout)
    rate, base_rate = args.rows / seconds, args.baseline / base["seconds"]
    print(
        f"baseline (the import before: the whole file, a SELECT and a write per row), "
        f"{args.baseline:,} rows: "
        f"{base['seconds']:.1f} s = {base_rate:,.0f} rows/s, peak RSS {base['rss_mb']:.0f} MB; "
        f"a million rows would take {1_000_000 / base_rate:.0f} s; and every run repeated it"
    )
    print(f"digest: {rate:,.0f} rows/s; ratio {rate / base_rate:.1f}x")


if __name__ == "__main__":
    main()
