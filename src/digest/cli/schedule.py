"""``digest schedule``: a long-running process that runs the edition on the config's cron."""

from __future__ import annotations

import logging
import os
import socket
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import click

from ..errors import ConfigError, UsageError
from ..schedule import EditionScheduler, PipelineEditions, cron_trigger, hold_lock, serve
from .common import (
    config_option,
    db_option,
    handle_errors,
    setup,
    subscribers_option,
    transport_option,
    transport_url,
)

cron_option = click.option(
    "--cron",
    metavar="EXPR",
    help="Send time as a crontab line (minute hour day month weekday) in the config's timezone, "
    "e.g. '0 7 * * 1-5'. Overrides 'schedule'.",
)


@click.command()
@config_option
@cron_option
@transport_option
@subscribers_option
@db_option
@handle_errors
def schedule(
    config_path: Path | None,
    cron: str | None,
    transport: str | None,
    subscribers: Path | None,
    db: str | None,
) -> None:
    """Run the edition on the config's cron `schedule`, in its `timezone`, until stopped.

    Each send runs what `digest run` runs: only subscribers who have not yet received the
    day's edition get it. Weekdays in the cron count from Sunday = 0 (or 7), as in crontab.

    Catch-up and grace: the jobs are kept in the store. A scheduler that was not running at
    the send time and starts within `misfire_grace` of it (default 2h) sends that edition
    once, late; one that starts later skips it (logged, and `digest status` shows it as
    missed) rather than send stale news. Several missed times make one run, never several; a
    send cut short (stopped or killed) resumes on a restart within the grace.

    Review window: with `review = "30m"` the edition is prepared as a draft that long before
    the send time; editors look and correct it in the desk (`digest serve`) and at the send
    time it goes out as edited. With `approval = "required"` a send holds an edition no editor
    has approved: nothing goes out, the log and `digest status` say so, and approving it then
    sends it.

    One scheduler per store, wherever it runs: a second exits at once with code 2, naming the
    process that holds the lock (a file beside a SQLite database; an advisory lock in
    PostgreSQL, so schedulers on several machines elect one). Stop it with SIGTERM or Ctrl-C: a send in
    progress finishes the messages in flight and records them, the rest wait for the next
    run, and the process exits 0. Logs go to stderr, one line per event.
    """
    if cron is not None:  # a bad flag is a usage error, whatever the config
        _check_cron(cron, f"--cron {cron!r}", UsageError, ZoneInfo("UTC"))
    used = setup(config_path, db)
    s = used.settings
    _check_cron(s.schedule, f"{used.config}: schedule {s.schedule!r}", ConfigError, s.zone)
    if cron is not None:
        s = s.model_copy(update={"schedule": " ".join(cron.split())})
    url = used.store_url
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    # the executor's "run time was missed" warning: the scheduler logs its own, naming the edition
    logging.getLogger("apscheduler.executors").setLevel(logging.ERROR)
    logging.getLogger("httpx").setLevel(logging.WARNING)
    pid, host = os.getpid(), socket.gethostname()
    # the store first (its schema up to date), then the lock: on PostgreSQL it is held there
    with used.open() as store, hold_lock(url, pid=pid, host=host, now=datetime.now(UTC)):
        editions = PipelineEditions(
            s, store, os.environ, transport_url=transport_url(transport), subscribers_csv=subscribers
        )
        serve(EditionScheduler(s, store, editions, pid=pid, host=host))


def _check_cron(line: str, place: str, error: type[UsageError | ConfigError], zone: ZoneInfo) -> None:
    try:
        cron_trigger(line, zone)
    except ValueError as exc:
        raise error(f"{place}: invalid cron expression: {exc}") from exc
