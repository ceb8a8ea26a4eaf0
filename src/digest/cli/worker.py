"""``digest migrate`` and ``digest worker``: a store shared by several machines."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import click

from ..sending import work
from ..store import open_store
from ..store.schema import MIGRATIONS
from .common import (
    config_option,
    console,
    db_option,
    handle_errors,
    run_context,
    setup,
    shown_store,
    stop_signals,
    transport_option,
)
from .display import print_summary


@click.command()
@config_option
@db_option
@handle_errors
def migrate(config_path: Path | None, db: str | None) -> None:
    """Bring the store's schema up to date, and say where it stands.

    Safe to run from several machines at once: the migrations run under a lock (an advisory
    lock on PostgreSQL), and each applies only what is still missing. Every other command
    migrates too when it opens the store; run this first when several machines share one,
    before starting their workers.
    """
    used = setup(config_path, db, store_only=True)
    out = console()
    with open_store(used.store_url, pool=used.settings.store_pool, migrate=False) as store:
        before = store.applied_migrations()
        version = store.migrate()
    applied = [f"{v} {name}" for v, name, _ in MIGRATIONS if v not in before]
    where = shown_store(used.store_url)
    if applied:
        out.print(f"store {where}: schema version {version} (applied: {', '.join(applied)})", markup=False)
    else:
        out.print(f"store {where}: schema version {version}, up to date", markup=False)


@click.command()
@config_option
@db_option
@transport_option
@click.option("--name", help="How this worker appears in `digest status`. Default: host:pid.")
@click.option("--once", is_flag=True, help="Exit when no delivery is left to send (else wait for more).")
@handle_errors
def worker(
    config_path: Path | None, db: str | None, transport: str | None, name: str | None, once: bool
) -> None:
    """Send the pending deliveries of sealed editions, beside any other workers on the store.

    \b
    A run (`digest run`, the scheduler, the desk) gathers, condenses, seals and plans an
    edition once; any number of workers, on any number of machines, then claim its
    deliveries in batches, render only what they claimed, and send them. Each holds a lease
    its heartbeat renews: when a worker dies, the others send what it held once its lease
    (`[delivery] lease`) runs out. The rate limits hold for all workers together. Workers
    never fetch feeds.

    \b
    Exit codes: with --once, 0 when every delivery went out, 1 when some failed; without it,
    it waits for work until SIGTERM or Ctrl-C (then 0), finishing the messages in flight.
    """
    used = setup(config_path, db)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)
    out = console()
    with used.open() as store, stop_signals() as stop:
        who = f"worker {name}" if name else "worker"
        ctx = run_context(used, store, transport=transport, trigger=who, stop=stop, worker_name=name)
        report = asyncio.run(work(ctx, once=once))
    for summary in report.runs:
        print_summary(out, summary)
    if not report.runs:
        out.print("Nothing to send: no sealed edition has deliveries waiting.")
    raise SystemExit(report.exit_code)
