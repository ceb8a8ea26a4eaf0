"""Local-time sending (``local_time = true``): every reader gets the day's edition at the
schedule's hour in their own timezone. Pure arithmetic on ``now``; contains no I/O.

The rule for days: a reader gets edition D at the send time of *their* local date D. So the
first wave of edition D leaves where the local day D begins first (Pacific/Kiritimati, UTC+14:
07:00 there is 17:00 UTC on D-1), and the last where it begins last (Pacific/Niue, UTC-11:
18:00 UTC on D). Edition D is built, reviewed and sealed once, before its first wave; a reader
whose local day is not yet D (or already past it) when another wave leaves gets it at their
own morning of D. A daylight-saving change moves a reader's send time in UTC, never their
local 07:00.

The scheduler wakes every 15 minutes (every UTC offset in use is a whole number of quarter
hours from UTC), at the schedule's minute: each wave leaves on the tick of its minute.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from apscheduler.triggers.cron import CronTrigger

from .crontab import crontab_weekdays

TICK = timedelta(minutes=15)


def send_time(schedule: str) -> time:
    """The one send time a day of a crontab line, for local-time sending.

    Raises:
        ValueError: the line sends more than once a day (its minute and hour are not single numbers).
    """
    fields = schedule.split()
    if len(fields) != 5 or not (fields[0].isdigit() and fields[1].isdigit()):
        raise ValueError(
            f"needs one send time a day: the schedule's minute and hour must be numbers, got {schedule!r}"
        )
    return time(int(fields[1]), int(fields[0]))


def sends_on(schedule: str, day: date) -> bool:
    """Whether the schedule's day, month and weekday fields choose ``day`` (its hour aside)."""
    _, _, dom, month, dow = schedule.split()
    trigger = CronTrigger(
        minute=0, hour=0, day=dom, month=month, day_of_week=crontab_weekdays(dow), timezone=UTC
    )
    start = datetime.combine(day, time(0), UTC)
    fire = trigger.get_next_fire_time(None, start)
    return fire is not None and fire.date() == day


def wave_at(day: date, zone: ZoneInfo, at: time) -> datetime:
    """When (UTC) a reader in ``zone`` gets edition ``day``: ``at`` on that local date. A local
    time that does not exist (the hour skipped in spring) is read as the clock then shows it."""
    local = datetime.combine(day, at, zone)
    return local.astimezone(UTC)


def first_wave(day: date, zones: Iterable[ZoneInfo], at: time) -> datetime:
    return min(wave_at(day, z, at) for z in zones)


def last_wave(day: date, zones: Iterable[ZoneInfo], at: time) -> datetime:
    return max(wave_at(day, z, at) for z in zones)


def open_days(
    schedule: str,
    zones: Iterable[ZoneInfo],
    now: datetime,
    *,
    grace: timedelta,
    lead: timedelta = timedelta(0),
) -> list[date]:
    """The edition days with a wave at or before ``now + lead`` and their last wave no more
    than ``grace`` before ``now``: those a tick sends (``lead`` 0) or prepares (the review
    window). Oldest first."""
    zones = list(zones)
    at = send_time(schedule)
    middle = now.astimezone(UTC).date()
    days = [middle + timedelta(days=d) for d in (-2, -1, 0, 1, 2)]
    return [
        d
        for d in days
        if sends_on(schedule, d)
        and first_wave(d, zones, at) <= now + lead
        and last_wave(d, zones, at) + grace >= now
    ]


def next_wave(schedule: str, zones: Iterable[ZoneInfo], now: datetime) -> datetime | None:
    """The next time a wave leaves after ``now`` (``None``: the schedule sends on no day soon)."""
    zones = list(zones)
    at = send_time(schedule)
    start = now.astimezone(UTC).date()
    later = (
        wave_at(d, z, at)
        for d in (start + timedelta(days=n) for n in range(-1, 9))
        if sends_on(schedule, d)
        for z in zones
    )
    return min((w for w in later if w > now), default=None)


def review_day(schedule: str, zones: Iterable[ZoneInfo], now: datetime, *, review: timedelta) -> date:
    """The edition editors are working on: the next one whose first wave is ahead, once its
    review window (counted back from that first wave) has opened; else the latest one whose
    first wave has passed (it is going out)."""
    zones = list(zones)
    at = send_time(schedule)
    start = now.astimezone(UTC).date()
    days = [d for d in (start + timedelta(days=n) for n in range(-2, 9)) if sends_on(schedule, d)]
    ahead = [d for d in days if first_wave(d, zones, at) > now]
    if ahead and first_wave(ahead[0], zones, at) - review <= now:
        return ahead[0]
    passed = [d for d in days if first_wave(d, zones, at) <= now]
    return passed[-1] if passed else (ahead[0] if ahead else start)


class TickTrigger(CronTrigger):  # type: ignore[misc]
    """Every quarter hour at the schedule's minute (UTC): when waves leave. Pickled as the
    schedule alone, so a persisted job compares equal to the one a restart wants."""

    def __init__(self, schedule: str) -> None:
        self.schedule = schedule
        minute = send_time(schedule).minute % 15
        super().__init__(minute=f"{minute}/15", timezone=UTC)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, TickTrigger) and other.schedule == self.schedule

    def __hash__(self) -> int:
        return hash(("tick", self.schedule))

    def __getstate__(self) -> dict[str, Any]:
        return {"version": 1, "schedule": self.schedule}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state["schedule"])  # type: ignore[misc]

    def __str__(self) -> str:
        return f"waves[{self.schedule} local]"

    __repr__ = __str__
