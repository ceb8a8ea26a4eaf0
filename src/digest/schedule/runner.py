"""The edge: APScheduler running the persisted prepare and send jobs, and the process's signals."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
import socket
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from types import FrameType
from typing import Any, Protocol, cast

from apscheduler.events import EVENT_JOB_MISSED
from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import STATE_STOPPED

from ..config import Settings, human
from ..errors import DigestError
from ..pipeline import RunContext, RunSummary, prepare_edition, reader_zones, run_edition, send_waves
from ..store import Store
from ..waves import next_wave
from .cron import KINDS, Kind, edition_day, grace, triggers
from .plan import JobPlan, describe, plan_job

log = logging.getLogger(__name__)

JOBS_TABLE = "schedule_jobs"
HEARTBEAT = 60.0  # seconds between refreshes of the state `digest status` shows
LATE = timedelta(minutes=1)  # a run later than this says so in the log


class Editions(Protocol):
    """What the scheduler runs: :class:`PipelineEditions`, or a recorder in tests."""

    def prepare(self, day: date, *, now: datetime, stop: threading.Event) -> RunSummary: ...

    def send(self, day: date, *, now: datetime, stop: threading.Event) -> RunSummary: ...

    def waves(self, *, now: datetime, stop: threading.Event) -> list[RunSummary]: ...


@dataclass(frozen=True, slots=True)
class PipelineEditions:
    """The pipeline's functions, called as every other path that produces an edition calls them."""

    settings: Settings
    store: Store
    environ: Mapping[str, str]
    transport_url: str | None = None
    subscribers_csv: Path | None = None

    def _context(self, now: datetime, stop: threading.Event) -> RunContext:
        return RunContext(
            self.settings,
            self.store,
            now=now,
            environ=self.environ,
            transport_url=self.transport_url,
            trigger="schedule",
            stop=stop,
        )

    def prepare(self, day: date, *, now: datetime, stop: threading.Event) -> RunSummary:
        ctx = self._context(now, stop)
        return asyncio.run(prepare_edition(ctx, day=day, subscribers_csv=self.subscribers_csv))

    def send(self, day: date, *, now: datetime, stop: threading.Event) -> RunSummary:
        ctx = self._context(now, stop)
        return asyncio.run(run_edition(ctx, day=day, subscribers_csv=self.subscribers_csv))

    def waves(self, *, now: datetime, stop: threading.Event) -> list[RunSummary]:
        ctx = self._context(now, stop)
        return asyncio.run(send_waves(ctx, subscribers_csv=self.subscribers_csv))


# The scheduler of this process, which the persisted jobs' function looks up: a job holds only
# a textual reference to a function, never the objects it needs.
_ACTIVE: dict[str, EditionScheduler] = {}


def _fire(kind: Kind) -> None:
    """The persisted jobs' function (``digest.schedule.runner:_fire``): hands the run to this
    process's scheduler."""
    scheduler = _ACTIVE.get("scheduler")
    if scheduler is None:
        log.error("%s: no scheduler is running in this process; skipped", kind)
        return
    scheduler.fire(kind)


class _Scheduler(BackgroundScheduler):  # type: ignore[misc]
    """APScheduler 3's loop looks for due jobs once more after shutdown: a job due at that instant
    would be moved on to its next time without running (the executor is gone). Not once stopped."""

    def _process_jobs(self) -> float | None:
        if self.state == STATE_STOPPED:
            return None
        return cast("float | None", super()._process_jobs())


class _RunTimeExecutor(ThreadPoolExecutor):  # type: ignore[misc]
    """One worker, so a prepare and a send never overlap, which tells the scheduler the time each
    run was scheduled for before it starts: APScheduler does not pass it to the job function."""

    def __init__(self, on_submit: Callable[[str, datetime], None]) -> None:
        super().__init__(max_workers=1)
        self._on_submit = on_submit

    def _do_submit_job(self, job: Any, run_times: list[datetime]) -> None:
        self._on_submit(job.id, run_times[-1])
        super()._do_submit_job(job, run_times)


def _utcnow() -> datetime:
    return datetime.now(UTC)


def _iso(t: datetime | None) -> str | None:
    return t.astimezone(UTC).isoformat(timespec="seconds") if t else None


class EditionScheduler:
    """APScheduler running the editions: a persisted "send" job on the cron and, with a review
    window, a "prepare" job ``review`` earlier. One per process; :meth:`start`, then
    :meth:`stop`. Its state (``store.get_meta("scheduler")``) is what ``digest status`` shows.
    """

    def __init__(
        self,
        settings: Settings,
        store: Store,
        editions: Editions,
        *,
        clock: Callable[[], datetime] = _utcnow,
        pid: int | None = None,
        host: str | None = None,
    ) -> None:
        self.settings = settings
        self.store = store
        self.editions = editions
        self.clock = clock
        self.pid = os.getpid() if pid is None else pid
        self.host = socket.gethostname() if host is None else host
        self.triggers = triggers(settings)
        self.stopping = threading.Event()  # set by SIGTERM: passed to the send as its stop
        self.started = clock()
        self._stopped: datetime | None = None
        self._last: dict[str, Any] | None = None
        self._run_times: dict[str, datetime] = {}
        self._lock = threading.Lock()  # never held while calling APScheduler: its shutdown waits for us
        self._aps = _Scheduler(
            timezone=settings.zone,
            jobstores={"default": SQLAlchemyJobStore(engine=store.engine, tablename=JOBS_TABLE)},
            executors={"default": _RunTimeExecutor(self._submitted)},
            job_defaults={"coalesce": True, "max_instances": 1},
        )
        self._aps.add_listener(self._missed, EVENT_JOB_MISSED)

    # -- lifecycle

    def start(self) -> None:
        """Reconcile the persisted jobs with the settings (:func:`plan_job`), then run them."""
        if "scheduler" in _ACTIVE:
            raise RuntimeError("a scheduler is already running in this process")
        now = self.clock()
        self._aps.start(paused=True)  # job store open, nothing runs until the jobs are settled
        runs = self.store.recent_runs(50)
        for kind in KINDS:
            wanted = self.triggers.get(kind)
            persisted = self._persisted(kind)
            plan = plan_job(kind, wanted, persisted, now=now, grace=grace(kind, self.settings), runs=runs)
            self._apply(plan, exists=persisted is not None)
        _ACTIVE["scheduler"] = self
        self.write_state()
        self._aps.resume()
        log.info(
            "scheduler started (pid %s): schedule '%s' in %s, grace %s%s%s",
            self.pid,
            self.settings.schedule,
            self.settings.timezone,
            human(self.settings.misfire_grace),
            f", review window {human(self.settings.review)}" if self.settings.review else "",
            ", approval required" if self.settings.approval == "required" else "",
        )
        self._log_next()

    def stop(self) -> None:
        """No new runs; a send in progress stops claiming messages, those in flight finish and are
        recorded, the rest stay pending. Blocks until then; the jobs stay in the store."""
        self.stopping.set()
        if self._aps.running:
            self._aps.shutdown(wait=True)
        if _ACTIVE.get("scheduler") is self:
            del _ACTIVE["scheduler"]
        self._stopped = self.clock()
        self.write_state()

    def heartbeat(self) -> None:
        """Refresh the state ``digest status`` reads; a store error is logged, never fatal."""
        try:
            self.write_state()
        except DigestError as exc:
            log.warning("heartbeat not recorded: %s", exc)

    def next_run_time(self, kind: Kind) -> datetime | None:
        """The persisted job's next run time (None: no such job). Not from a job's own thread."""
        job = self._aps.get_job(kind)
        return None if job is None else cast("datetime | None", job.next_run_time)

    # -- state

    def state(self) -> dict[str, Any]:
        """What ``digest status`` shows about the scheduler."""
        now = self.clock()

        def upcoming(kind: Kind) -> str | None:
            if self.settings.local_time:  # the next wave, not the next quarter-hour tick
                zones = reader_zones(self.settings, self.store).values()
                return _iso(next_wave(self.settings.schedule, zones, now)) if kind == "send" else None
            trigger = self.triggers.get(kind)
            return _iso(trigger.get_next_fire_time(None, now)) if trigger else None

        s = self.settings
        with self._lock:
            last = dict(self._last) if self._last else None
        return {
            "pid": self.pid,
            "host": self.host,
            "started": _iso(self.started),
            "heartbeat": _iso(now),
            "schedule": s.schedule,
            "timezone": s.timezone,
            "review": int(s.review.total_seconds()),
            "approval": s.approval,
            "next_send": upcoming("send"),
            "next_prepare": upcoming("prepare"),
            "last": last,
            "stopped": _iso(self._stopped),
        }

    def write_state(self) -> None:
        self.store.set_meta("scheduler", json.dumps(self.state()))

    # -- runs (in the executor's one thread)

    def fire(self, kind: Kind) -> None:
        """Run one scheduled prepare or send; every outcome is logged and kept in the state."""
        now = self.clock()
        with self._lock:
            scheduled = self._run_times.pop(kind, None) or now
        if self.settings.local_time:
            self._fire_waves(now)
            return
        review = self.settings.review
        day = edition_day(kind, scheduled, zone=self.settings.zone, lead=review)
        if self.stopping.is_set():
            log.info("edition %s: %s skipped: the scheduler is stopping", day, kind)
            return
        if now - scheduled > LATE:
            log.info(
                "edition %s: %s %s late (scheduled for %s; grace %s)",
                day,
                kind,
                human(now - scheduled),
                scheduled.astimezone(self.settings.zone).strftime("%Y-%m-%d %H:%M %Z"),
                human(grace(kind, self.settings)),
            )
        status = "failed"
        try:
            if kind == "prepare" and scheduled.astimezone(UTC) + review <= now:
                log.info("edition %s: its send time has passed: the send prepares it", day)
                status = "skipped"
                return
            if kind == "prepare":
                summary = self.editions.prepare(day, now=now, stop=self.stopping)
            else:
                summary = self.editions.send(day, now=now, stop=self.stopping)
            status = summary.status
            log.log(logging.WARNING if summary.held else logging.INFO, "%s", describe(kind, summary))
        except DigestError as exc:
            log.error("edition %s: %s failed: %s", day, kind, exc)
        except Exception:  # a failed run must not stop the schedule
            log.exception("edition %s: %s failed", day, kind)
        finally:
            self._finished(kind, day, status)

    def _fire_waves(self, now: datetime) -> None:
        """One quarter-hour tick of local-time sending: each edition run it made is logged."""
        if self.stopping.is_set():
            return
        status, day = "ok", now.astimezone(self.settings.zone).date()
        try:
            for summary in self.editions.waves(now=now, stop=self.stopping):
                level = logging.WARNING if summary.held or summary.missed else logging.INFO
                log.log(level, "%s", describe("prepare" if summary.kind == "prepare" else "send", summary))
                status, day = summary.status, date.fromisoformat(summary.edition_id)
        except DigestError as exc:
            status = "failed"
            log.error("local-time waves failed: %s", exc)
        except Exception:  # a failed tick must not stop the schedule
            status = "failed"
            log.exception("local-time waves failed")
        finally:
            self._finished("send", day, status)

    def _finished(self, kind: Kind, day: date, status: str) -> None:
        with self._lock:
            self._last = {
                "kind": kind,
                "edition": day.isoformat(),
                "status": status,
                "at": _iso(self.clock()),
            }
        self.heartbeat()
        if kind == "send":
            self._log_next()

    def _submitted(self, job_id: str, run_time: datetime) -> None:
        with self._lock:
            self._run_times[job_id] = run_time

    def _missed(self, event: Any) -> None:
        """APScheduler skipped a run beyond its grace: say so, and record it for ``digest status``."""
        kind = cast("Kind", event.job_id)
        scheduled: datetime = event.scheduled_run_time
        if self.settings.local_time:  # the next tick sends what is due, and records what was missed
            log.warning(
                "local-time waves: the tick of %s was missed; the next one catches up", _iso(scheduled)
            )
            return
        day = edition_day(kind, scheduled, zone=self.settings.zone, lead=self.settings.review)
        late = human(self.clock() - scheduled)
        limit = human(grace(kind, self.settings))
        if kind == "send":
            log.warning("edition %s: missed its send time by %s (grace %s): not sent", day, late, limit)
            info = {"edition": day.isoformat(), "trigger": "schedule", "scheduled": _iso(scheduled)}
            try:
                self.store.finish_run(
                    self.store.start_run(day.isoformat()),
                    "missed",
                    {**info, "missed_by": late, "grace": limit},
                )
            except DigestError as exc:
                log.error("edition %s: the missed send could not be recorded: %s", day, exc)
        else:
            log.warning("edition %s: missed its review preparation by %s (grace %s)", day, late, limit)
        self._finished(kind, day, "missed")

    # -- helpers

    def _persisted(self, kind: Kind) -> tuple[object, datetime | None] | None:
        try:
            job = self._aps.get_job(kind)
        except Exception as exc:  # unpicklable (written by another version): start afresh
            log.warning("%s job in the store cannot be read (%s): rescheduled", kind, exc)
            self._aps.remove_job(kind)
            return None
        return None if job is None else (job.trigger, job.next_run_time)

    def _apply(self, plan: JobPlan, *, exists: bool) -> None:
        if plan.trigger is None:
            if exists:
                self._aps.remove_job(plan.kind)
                log.info("%s job removed: %s", plan.kind, plan.reason)
            return
        seconds = int(grace(plan.kind, self.settings).total_seconds())
        if plan.next_run_time is None:
            self._aps.modify_job(plan.kind, misfire_grace_time=seconds, coalesce=True, max_instances=1)
        else:
            self._aps.add_job(
                _fire,
                trigger=plan.trigger,
                args=(plan.kind,),
                id=plan.kind,
                name=f"digest {plan.kind}",
                next_run_time=plan.next_run_time,
                misfire_grace_time=seconds,
                coalesce=True,
                max_instances=1,
                replace_existing=True,
            )
        if plan.reason not in ("scheduled", "resumed"):
            log.info(
                "%s", plan.reason if plan.reason.startswith("edition") else f"{plan.kind}: {plan.reason}"
            )

    def _log_next(self) -> None:
        state = self.state()
        zone = self.settings.zone

        def local(iso: str | None) -> str:
            return (
                datetime.fromisoformat(iso).astimezone(zone).strftime("%Y-%m-%d %H:%M %Z") if iso else "none"
            )

        prepare = f" (prepared for review at {local(state['next_prepare'])})" if state["next_prepare"] else ""
        log.info("next send %s%s", local(state["next_send"]), prepare)


def serve(scheduler: EditionScheduler, *, heartbeat: float = HEARTBEAT) -> None:
    """Run until SIGTERM or SIGINT (Ctrl-C), refreshing the heartbeat meanwhile; then stop cleanly.

    Call from the main thread, which Python delivers signals to. The handler only sets the
    scheduler's stop: the thread sending is never killed, so the ledger keeps no "sending" row
    but those of messages in flight, and those are settled before this returns.
    """

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        name = signal.Signals(signum).name
        if scheduler.stopping.is_set():
            log.warning("%s again: still waiting for the messages in flight to be recorded", name)
        else:
            log.info("%s: stopping (a send in progress ends after the messages in flight)", name)
        scheduler.stopping.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        scheduler.start()
        while not scheduler.stopping.wait(heartbeat):
            scheduler.heartbeat()
    finally:
        try:
            scheduler.stop()
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
    log.info("scheduler stopped (pid %s)", scheduler.pid)
