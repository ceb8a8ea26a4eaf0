"""Daily runs on a cron schedule in the configured timezone, catching up on a missed run.

The decisions are pure (:func:`last_fire_time`, :func:`missed_edition`); :func:`serve` is the
edge that owns the APScheduler loop.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from apscheduler.schedulers.base import BaseScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.cron import CronTrigger

from .store.runs import RunRecord

log = logging.getLogger(__name__)

#: How far back a missed run is still caught up: an older edition would be stale news.
CATCH_UP_LIMIT = timedelta(hours=24)


def trigger(schedule: str, zone: ZoneInfo) -> CronTrigger:
    """The APScheduler trigger for a crontab line in a timezone."""
    return CronTrigger.from_crontab(schedule, timezone=zone)


def last_fire_time(
    schedule: str, zone: ZoneInfo, now: datetime, *, horizon: timedelta = CATCH_UP_LIMIT
) -> datetime | None:
    """The latest scheduled instant at or before ``now`` and within ``horizon``. Contains no I/O."""
    trig = trigger(schedule, zone)
    start = now - horizon
    fire: datetime | None = trig.get_next_fire_time(None, start)
    last = None
    while fire is not None and fire <= now:
        last = fire
        fire = trig.get_next_fire_time(fire, fire + timedelta(seconds=1))
    return last


def missed_edition(schedule: str, zone: ZoneInfo, now: datetime, runs: list[RunRecord]) -> date | None:
    """The day of a scheduled run that should have happened but has no finished run. Contains no I/O."""
    fire = last_fire_time(schedule, zone, now)
    if fire is None:
        return None
    day = fire.astimezone(zone).date()
    done = any(
        r.edition_id == day.isoformat() and r.finished is not None and r.status != "failed" for r in runs
    )
    return None if done else day


def prepare(
    schedule: str,
    zone: ZoneInfo,
    job: Callable[[date], Coroutine[Any, Any, int]],
    *,
    now: Callable[[], datetime],
    runs: Callable[[], list[RunRecord]],
    scheduler: BaseScheduler,
) -> BaseScheduler:
    """Catch up on a missed run, then register the daily job on ``scheduler`` (not started).

    ``job`` gets the edition's day: the scheduled day, even when it runs late.
    """

    def fire(day: date | None = None) -> None:
        # a run that fires late (coalesced after downtime, past midnight) is still the edition
        # of the scheduled time it stands for
        fired = last_fire_time(schedule, zone, now())
        the_day = day or (fired or now()).astimezone(zone).date()
        try:
            code = asyncio.run(job(the_day))
            log.info("edition %s finished with exit code %s", the_day, code)
        except Exception:  # a failed run must not stop the schedule
            log.exception("edition %s failed", the_day)

    missed = missed_edition(schedule, zone, now(), runs())
    if missed is not None:
        log.info("catching up on the missed edition of %s", missed)
        fire(missed)
    # coalesce + no grace limit: after a sleep or downtime, one late run rather than none or many
    scheduler.add_job(
        fire, trigger(schedule, zone), id="daily", coalesce=True, misfire_grace_time=None, max_instances=1
    )
    return scheduler


def serve(
    schedule: str,
    zone: ZoneInfo,
    job: Callable[[date], Coroutine[Any, Any, int]],
    *,
    now: Callable[[], datetime],
    runs: Callable[[], list[RunRecord]],
) -> None:
    """Run ``job(day)`` at every scheduled time until interrupted, after catching up."""
    prepare(schedule, zone, job, now=now, runs=runs, scheduler=BlockingScheduler(timezone=zone)).start()
