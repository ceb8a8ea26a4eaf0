"""The cron: crontab lines as APScheduler triggers, the review window's shifted trigger, and the
pure time arithmetic the scheduler decides with. Contains no I/O."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

from apscheduler.triggers.base import BaseTrigger

from ..config import Settings, human
from ..crontab import cron_trigger
from ..waves import TickTrigger
from ..waves import review_day as waves_review_day

Kind = Literal["prepare", "send"]
KINDS: tuple[Kind, ...] = ("prepare", "send")  # due together, the prepare is submitted first


class EditionTrigger(BaseTrigger):  # type: ignore[misc]
    """The cron's fire times, ``lead`` earlier: the send times (no lead) or the review window's start.

    Pickled as its three settings, not APScheduler's internals, so that a persisted job compares
    equal to the one a restart wants exactly when the schedule is unchanged (:func:`plan_job`).
    """

    def __init__(self, schedule: str, timezone: str, lead: timedelta = timedelta(0)) -> None:
        self.schedule = schedule
        self.timezone = timezone
        self.lead = lead
        self.zone = ZoneInfo(timezone)
        self._cron = cron_trigger(schedule, self.zone)

    @property
    def key(self) -> tuple[str, str, float]:
        return (self.schedule, self.timezone, self.lead.total_seconds())

    def __eq__(self, other: object) -> bool:
        return isinstance(other, EditionTrigger) and self.key == other.key

    def __hash__(self) -> int:
        return hash(self.key)

    def get_next_fire_time(self, previous_fire_time: datetime | None, now: datetime) -> datetime | None:
        # ask the cron in its own frame (lead later) and shift back, in UTC: "30 minutes before"
        # is 30 real minutes, also across a change of daylight saving time
        previous = previous_fire_time.astimezone(UTC) + self.lead if previous_fire_time else None
        fire: datetime | None = self._cron.get_next_fire_time(previous, now.astimezone(UTC) + self.lead)
        return None if fire is None else (fire.astimezone(UTC) - self.lead).astimezone(self.zone)

    def __getstate__(self) -> dict[str, Any]:
        return {"version": 1, "schedule": self.schedule, "timezone": self.timezone, "lead": self.key[2]}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state["schedule"], state["timezone"], timedelta(seconds=state["lead"]))  # type: ignore[misc]

    def __str__(self) -> str:
        lead = f", {human(self.lead)} early" if self.lead else ""
        return f"cron[{self.schedule} {self.timezone}{lead}]"

    __repr__ = __str__


def triggers(settings: Settings) -> dict[Kind, EditionTrigger | TickTrigger]:
    """The send trigger, and the prepare trigger when there is a review window. With
    ``local_time``, the send trigger is the quarter-hour tick of the waves, which also prepares
    each edition its review window before its first wave."""
    if settings.local_time:
        return {"send": TickTrigger(settings.schedule)}
    send = EditionTrigger(settings.schedule, settings.timezone)
    if settings.review <= timedelta(0):
        return {"send": send}
    return {"send": send, "prepare": EditionTrigger(settings.schedule, settings.timezone, settings.review)}


def grace(kind: Kind, settings: Settings) -> timedelta:
    """How late a run may still start. A prepare is worth doing as long as its send is ahead, so
    its grace is at least the review window (a prepare whose send has passed skips itself)."""
    return max(settings.misfire_grace, settings.review) if kind == "prepare" else settings.misfire_grace


# --- arithmetic on fire times


def last_fire_time(trigger: BaseTrigger, now: datetime, horizon: timedelta) -> datetime | None:
    """The latest fire time at or before ``now`` and no older than ``horizon``. Contains no I/O."""
    fire: datetime | None = trigger.get_next_fire_time(None, now - horizon)
    last = None
    while fire is not None and fire <= now:
        last = fire
        # ask from a second later: in the hour repeated when clocks go back, APScheduler answers
        # a time with itself, and asking from it again would never move on
        nxt: datetime | None = trigger.get_next_fire_time(fire, fire + timedelta(seconds=1))
        if nxt is not None and nxt <= fire:
            break
        fire = nxt
    return last


def review_day(settings: Settings, now: datetime, zones: Sequence[ZoneInfo] = ()) -> date:
    """The edition editors are working on at ``now``: the day of the next send when it is due
    within the review window (a 00:30 send with a 2-hour window is reviewed from 22:30 the day
    before), else today in the configured timezone. With ``local_time``, the send is the
    edition's first wave among the readers' ``zones``. Contains no I/O."""
    if settings.local_time:
        return waves_review_day(settings.schedule, [*zones] or [settings.zone], now, review=settings.review)
    if settings.review > timedelta(0):
        send = EditionTrigger(settings.schedule, settings.timezone).get_next_fire_time(None, now)
        if send is not None and send - now <= settings.review:
            return send.astimezone(settings.zone).date()
    return now.astimezone(settings.zone).date()


def edition_day(kind: Kind, run_time: datetime, *, zone: ZoneInfo, lead: timedelta) -> date:
    """The edition a run stands for: the day, in the configured timezone, of the send time it is
    for (a prepare runs ``lead`` before its send), however late it actually runs. Contains no I/O."""
    send = run_time.astimezone(UTC) + (lead if kind == "prepare" else timedelta(0))
    return send.astimezone(zone).date()
