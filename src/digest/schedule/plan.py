"""What the scheduler decides as it starts and after each run. Pure: every function takes ``now``."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from ..config import human
from ..pipeline import RunSummary
from ..store.runs import RunRecord
from ..waves import TickTrigger
from .cron import EditionTrigger, Kind, edition_day, last_fire_time


def counts_as_sent(run: RunRecord) -> bool:
    """Whether a recorded run sent (or held for approval) its edition. Contains no I/O.

    Prepare runs, crashed, failed, stopped and missed ones do not count: a first start catches
    up on them.
    """
    if run.finished is None or run.status in ("running", "failed", "stopped", "prepared", "missed"):
        return False
    return bool(run.summary.get("kind", "send") == "send")


def missed_send(
    trigger: EditionTrigger, now: datetime, runs: Sequence[RunRecord], *, horizon: timedelta
) -> datetime | None:
    """The send time within ``horizon`` before ``now`` whose edition no run has sent: a first
    start catches up on it. Contains no I/O."""
    fire = last_fire_time(trigger, now, horizon)
    if fire is None:
        return None
    day = fire.astimezone(trigger.zone).date().isoformat()
    return None if any(r.edition_id == day and counts_as_sent(r) for r in runs) else fire


@dataclass(frozen=True, slots=True)
class JobPlan:
    """What to do with one job as the scheduler starts.

    ``trigger`` None: there should be no such job (no review window). ``next_run_time`` None:
    keep the persisted one, so APScheduler's misfire handling decides about a time missed
    while the scheduler was down (within the grace: one run; beyond it: skipped as missed).
    """

    kind: Kind
    trigger: EditionTrigger | TickTrigger | None
    next_run_time: datetime | None
    reason: str


def plan_job(
    kind: Kind,
    wanted: EditionTrigger | TickTrigger | None,
    persisted: tuple[object, datetime | None] | None,
    *,
    now: datetime,
    grace: timedelta,
    runs: Sequence[RunRecord],
) -> JobPlan:
    """Keep, replace, add or drop one job, given the persisted (trigger, next run time). Contains no I/O.

    A first start (nothing persisted) catches up on a send missed within ``grace`` that no run
    sent, and on a prepare whose send is still ahead. A restart also resumes a send within
    ``grace`` whose run did not finish (the process was killed or stopped mid-send): the
    persisted job had already moved on to the next time.
    """
    if wanted is None:
        return JobPlan(kind, None, None, "no review window" if persisted else "")
    if isinstance(wanted, TickTrigger):
        # the waves' tick: every tick sends whatever is due, so catching up is one tick now
        if persisted is not None and persisted[0] == wanted and persisted[1] is not None:
            return JobPlan(kind, wanted, None, "resumed")
        return JobPlan(kind, wanted, now, "local-time waves: a first tick now, then every quarter hour")
    if persisted is not None:
        trigger, next_run_time = persisted
        if trigger == wanted and next_run_time is not None:
            # a send that began but did not finish (killed, stopped) has already moved the job on
            unfinished = missed_send(wanted, now, runs, horizon=grace) if kind == "send" else None
            if next_run_time <= now or unfinished is None or unfinished >= next_run_time:
                return JobPlan(kind, wanted, None, "resumed")
            day = unfinished.astimezone(wanted.zone).date()
            return JobPlan(kind, wanted, unfinished, f"edition {day}: its send did not finish: resuming it")
        return JobPlan(
            kind, wanted, wanted.get_next_fire_time(None, now), "rescheduled: the schedule changed"
        )
    if kind == "send":
        fire = missed_send(wanted, now, runs, horizon=grace)
    else:
        fire = last_fire_time(wanted, now, wanted.lead)
        fire = fire if fire is not None and fire + wanted.lead > now else None
    if fire is not None:
        day = edition_day(kind, fire, zone=wanted.zone, lead=wanted.lead)
        late = f"{fire.astimezone(wanted.zone):%H:%M %Z} passed {human(now - fire)} ago"
        what = (
            f"its send time {late} without a send"
            if kind == "send"
            else f"its review window opened at {late}"
        )
        return JobPlan(kind, wanted, fire, f"edition {day}: {what}: catching up now")
    return JobPlan(kind, wanted, wanted.get_next_fire_time(None, now), "scheduled")


def describe(kind: Kind, summary: RunSummary) -> str:
    """The one log line for a finished run. Contains no I/O."""
    ed = f"edition {summary.edition_id}"
    feeds = (
        f"; {summary.feeds_failed} of {len(summary.feeds)} feeds failed (see `digest status`)"
        if summary.feeds_failed
        else ""
    )
    d = summary.delivery
    if kind == "prepare":
        if not summary.stories:
            return f"{ed}: nothing to prepare: no stories in the window{feeds}"
        kept = ", already on record: left as it is" if summary.reused_edition else ""
        return f"{ed}: prepared for review ({summary.stories} stories{kept}){feeds}"
    if summary.held:
        return f"{ed}: held: awaiting approval (approve it in the desk or with `digest edition approve`)"
    if summary.stopped:
        return f"{ed}: stopped after sending to {d.sent if d else 0}; the rest stay pending for the next run"
    if not summary.stories:
        return f"{ed}: nothing to send: no stories in the window{feeds}"
    if d is None and summary.missed:
        return f"{ed}: {summary.missed} readers' wave passed beyond the grace: missed{feeds}"
    if d is None:
        return f"{ed}: nothing to send: all {summary.subscribers_active} active subscribers have it{feeds}"
    aborted = f"; sending stopped: {d.aborted}" if d.aborted else ""
    missed = f"; {summary.missed} readers' wave passed beyond the grace: missed" if summary.missed else ""
    return f"{ed}: sent to {d.sent}, failed {d.failed + len(summary.render_failed)}{aborted}{missed}{feeds}"
