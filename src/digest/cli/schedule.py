"""``digest schedule``: run daily at the configured time and timezone."""

from __future__ import annotations

import logging
import os
from datetime import UTC, date, datetime
from pathlib import Path

import click

from ..pipeline import run_edition
from ..schedule import serve, trigger
from ..store import open_store
from ..store.runs import RunRecord
from .common import (
    config_option,
    console,
    db_option,
    handle_errors,
    settings,
    store_url,
    subscribers_option,
    transport_option,
    transport_url,
)
from .display import print_summary


@click.command()
@config_option
@transport_option
@subscribers_option
@db_option
@handle_errors
def schedule(
    config_path: Path | None, transport: str | None, subscribers: Path | None, db: str | None
) -> None:
    """Run `digest run` every day on the config's cron `schedule`, in its `timezone`.

    On start, an edition whose scheduled time passed in the last 24 hours without a finished
    run is sent at once (catch-up); reruns never send twice. Stop with Ctrl-C.
    """
    s = settings(config_path)
    out = console()
    url = store_url(s, db)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")

    async def job(day: date) -> int:
        with open_store(url) as store:
            summary = await run_edition(
                s,
                store,
                now=datetime.now(UTC),
                day=day,
                transport_url=transport_url(transport),
                subscribers_csv=subscribers,
                environ=os.environ,
            )
        print_summary(out, summary)
        return summary.exit_code

    def runs() -> list[RunRecord]:
        with open_store(url) as store:
            return store.recent_runs(20)

    nxt = trigger(s.schedule, s.zone).get_next_fire_time(None, datetime.now(UTC))
    out.print(f"digest: schedule '{s.schedule}' in {s.timezone}; next run {nxt}")
    serve(s.schedule, s.zone, job, now=lambda: datetime.now(UTC), runs=runs)
