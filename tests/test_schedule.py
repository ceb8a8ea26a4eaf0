"""The scheduler: pure decisions with an injected clock, then real APScheduler runs against real
SQLite stores, with persisted jobs whose next run time is set in the past or a second ahead."""

from __future__ import annotations

import json
import logging
import pickle
import re
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from apscheduler.job import Job
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from click.testing import CliRunner

from digest.cli import main
from digest.config import Settings, load_config, parse_config
from digest.deliver import DeliveryReport
from digest.errors import Busy, StorageError
from digest.pipeline import RunSummary
from digest.schedule import (
    JOBS_TABLE,
    EditionScheduler,
    EditionTrigger,
    PipelineEditions,
    counts_as_sent,
    cron_trigger,
    crontab_weekdays,
    describe,
    edition_day,
    hold_lock,
    human,
    last_fire_time,
    lock_path,
    missed_send,
    plan_job,
    review_day,
    triggers,
)
from digest.store import Store, open_store
from digest.store.runs import RunRecord
from pg_server import Cluster
from smtpd_helpers import write_run_project

LONDON = ZoneInfo("Europe/London")
HOURS_2 = timedelta(hours=2)
NY = ZoneInfo("America/New_York")
PARIS = ZoneInfo("Europe/Paris")
STATE_KEYS = {
    "pid",
    "host",
    "started",
    "heartbeat",
    "schedule",
    "timezone",
    "review",
    "approval",
    "next_send",
    "next_prepare",
    "last",
    "stopped",
}


def run(edition: str, status: str = "ok", finished: bool = True, **summary: Any) -> RunRecord:
    t = datetime(2026, 11, 26, 7, 0, tzinfo=UTC)
    return RunRecord(1, edition, t, t if finished else None, status, summary)


# --- the cron ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "expected"),
    [
        ("1-5", "mon,tue,wed,thu,fri"),
        ("0", "sun"),
        ("7", "sun"),
        ("6,7", "sun,sat"),
        ("*/2", "sun,tue,thu,sat"),
        ("1-5/2", "mon,wed,fri"),
        ("mon-fri", "mon,tue,wed,thu,fri"),
        ("sun-thu", "sun,mon,tue,wed,thu"),
        ("sat-sun", "sun,sat"),
        ("mon-sun", "sun,mon,tue,wed,thu,fri,sat"),
        ("5-0", "sun,fri,sat"),
        ("sat,sun", "sun,sat"),
        ("*", "*"),
    ],
)
def test_weekdays_count_from_sunday_as_in_crontab(field: str, expected: str) -> None:
    assert crontab_weekdays(field) == expected


@pytest.mark.parametrize("field", ["8", "5-1", "*/0", "1/x", "funday,1"])
def test_bad_weekdays_are_refused(field: str) -> None:
    with pytest.raises(ValueError, match="day of week"):
        crontab_weekdays(field)


def test_the_night_clocks_go_back_neither_hangs_nor_loses_the_send() -> None:
    """01:30 happens twice in London on 2027-10-31; asking for the last one must terminate."""
    trigger = EditionTrigger("30 1 * * *", "Europe/London")
    done: list[datetime | None] = []
    worker = threading.Thread(
        target=lambda: done.append(
            last_fire_time(trigger, datetime(2027, 10, 31, 2, 0, tzinfo=UTC), HOURS_2)
        ),
        daemon=True,
    )
    worker.start()
    worker.join(timeout=10)  # a guard against the old endless loop, not a speed check
    assert done, "last_fire_time did not return"
    assert done[0] is not None
    assert done[0].astimezone(UTC) == datetime(2027, 10, 31, 0, 30, tzinfo=UTC)  # 01:30 BST


def test_the_edition_under_review_crosses_midnight_with_its_send() -> None:
    s = parse_config(
        {"schedule": "30 0 * * *", "timezone": "Europe/London", "review": "2h"},
        source="t",
        base_dir=Path("."),
    )
    assert review_day(s, datetime(2026, 11, 26, 22, 45, tzinfo=UTC)) == date(2026, 11, 27)
    assert review_day(s, datetime(2026, 11, 26, 21, 0, tzinfo=UTC)) == date(2026, 11, 26)
    no_window = s.model_copy(update={"review": timedelta(0)})
    assert review_day(no_window, datetime(2026, 11, 26, 22, 45, tzinfo=UTC)) == date(2026, 11, 26)


def test_a_weekday_cron_skips_the_weekend() -> None:
    saturday = datetime(2026, 11, 28, 12, 0, tzinfo=LONDON)
    fire = cron_trigger("0 7 * * 1-5", LONDON).get_next_fire_time(None, saturday)
    assert fire == datetime(2026, 11, 30, 7, 0, tzinfo=LONDON)  # Monday


def test_a_cron_needs_five_fields() -> None:
    with pytest.raises(ValueError, match="expected 5"):
        cron_trigger("0 7 * *", LONDON)


def test_the_review_window_is_real_time_across_a_clock_change() -> None:
    # London springs forward at 01:00 UTC on 29 March 2026: 90 minutes before 03:00 BST (02:00 UTC)
    # is 00:30 UTC, not the 01:30 on the wall clock that does not exist that night
    prepare = EditionTrigger("0 3 * * *", "Europe/London", timedelta(minutes=90))
    fire = prepare.get_next_fire_time(None, datetime(2026, 3, 28, 12, 0, tzinfo=UTC))
    assert fire == datetime(2026, 3, 29, 0, 30, tzinfo=UTC)
    assert prepare.get_next_fire_time(fire, fire) == datetime(2026, 3, 30, 0, 30, tzinfo=UTC)  # 01:30 BST


def test_a_trigger_pickles_as_its_settings_and_compares_by_them() -> None:
    trigger = EditionTrigger("0 7 * * 1-5", "Europe/London", timedelta(minutes=30))
    again = pickle.loads(pickle.dumps(trigger))
    assert again == trigger
    now = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
    assert again.get_next_fire_time(None, now) == trigger.get_next_fire_time(None, now)
    assert trigger != EditionTrigger("0 7 * * 1-5", "Europe/London")
    assert trigger != EditionTrigger("0 7 * * 1-5", "Europe/Paris", timedelta(minutes=30))
    assert trigger != EditionTrigger("0 8 * * 1-5", "Europe/London", timedelta(minutes=30))


# --- pure decisions ---------------------------------------------------------------------------


def test_last_fire_time_is_in_the_configured_timezone() -> None:
    trigger = EditionTrigger("0 7 * * *", "America/New_York")
    now = datetime(2026, 11, 26, 13, 0, tzinfo=UTC)  # 08:00 in New York
    assert last_fire_time(trigger, now, timedelta(hours=2)) == datetime(2026, 11, 26, 7, 0, tzinfo=NY)
    early = datetime(2026, 11, 26, 11, 0, tzinfo=UTC)  # 06:00 in New York: yesterday's is 23h ago
    assert last_fire_time(trigger, early, timedelta(hours=2)) is None
    assert last_fire_time(trigger, early, timedelta(hours=24)) == datetime(2026, 11, 25, 7, 0, tzinfo=NY)


def test_a_late_run_is_the_edition_of_its_scheduled_day() -> None:
    scheduled = datetime(2026, 11, 26, 23, 0, tzinfo=PARIS)
    assert edition_day("send", scheduled, zone=PARIS, lead=timedelta(0)) == date(2026, 11, 26)
    # a prepare at 23:40 is for the 00:10 send: the next day's edition
    prepare = datetime(2026, 11, 26, 23, 40, tzinfo=PARIS)
    assert edition_day("prepare", prepare, zone=PARIS, lead=timedelta(minutes=30)) == date(2026, 11, 27)


@pytest.mark.parametrize(
    ("record", "sent"),
    [
        (run("2026-11-26"), True),
        (run("2026-11-26", "held"), True),
        (run("2026-11-26", "partial", kind="send"), True),
        (run("2026-11-26", "partial", kind="prepare"), False),  # a prepare whose feeds partly failed
        (run("2026-11-26", "prepared"), False),
        (run("2026-11-26", "stopped"), False),
        (run("2026-11-26", "failed"), False),
        (run("2026-11-26", "missed"), False),
        (run("2026-11-26", "running", finished=False), False),
    ],
)
def test_which_runs_count_as_sent(record: RunRecord, sent: bool) -> None:
    assert counts_as_sent(record) is sent


def test_a_missed_send_is_caught_up_only_within_the_horizon() -> None:
    trigger = EditionTrigger("0 7 * * *", "Europe/London")
    now = datetime(2026, 11, 26, 7, 20, tzinfo=UTC)
    seven = datetime(2026, 11, 26, 7, 0, tzinfo=LONDON)
    assert missed_send(trigger, now, [], horizon=timedelta(hours=2)) == seven
    assert missed_send(trigger, now, [run("2026-11-25")], horizon=timedelta(hours=2)) == seven
    assert missed_send(trigger, now, [run("2026-11-26")], horizon=timedelta(hours=2)) is None
    later = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)  # 3h late, grace 2h
    assert missed_send(trigger, later, [], horizon=timedelta(hours=2)) is None


NOW = datetime(2026, 11, 26, 7, 20, tzinfo=UTC)
SEND = EditionTrigger("0 7 * * *", "Europe/London")
PREPARE = EditionTrigger("0 7 * * *", "Europe/London", timedelta(minutes=30))
GRACE = timedelta(hours=2)


def test_a_first_start_catches_up_on_a_send_missed_within_the_grace() -> None:
    plan = plan_job("send", SEND, None, now=NOW, grace=GRACE, runs=[])
    assert plan.next_run_time == datetime(2026, 11, 26, 7, 0, tzinfo=LONDON)
    assert (
        plan.reason
        == "edition 2026-11-26: its send time 07:00 GMT passed 20m ago without a send: catching up now"
    )
    done = plan_job("send", SEND, None, now=NOW, grace=GRACE, runs=[run("2026-11-26")])
    assert done.next_run_time == datetime(2026, 11, 27, 7, 0, tzinfo=LONDON)
    late = plan_job("send", SEND, None, now=NOW + timedelta(hours=3), grace=GRACE, runs=[])
    assert late.next_run_time == datetime(2026, 11, 27, 7, 0, tzinfo=LONDON)


def test_a_first_start_prepares_at_once_while_the_send_is_ahead() -> None:
    before = datetime(2026, 11, 26, 6, 45, tzinfo=UTC)
    plan = plan_job("prepare", PREPARE, None, now=before, grace=GRACE, runs=[])
    assert plan.next_run_time == datetime(2026, 11, 26, 6, 30, tzinfo=LONDON)
    after = plan_job("prepare", PREPARE, None, now=NOW, grace=GRACE, runs=[])
    assert after.next_run_time == datetime(2026, 11, 27, 6, 30, tzinfo=LONDON)


def test_an_unchanged_persisted_job_keeps_its_time_so_apscheduler_judges_the_misfire() -> None:
    missed = datetime(2026, 11, 23, 7, 0, tzinfo=LONDON)
    plan = plan_job("send", SEND, (SEND, missed), now=NOW, grace=GRACE, runs=[])
    assert (plan.trigger, plan.next_run_time) == (SEND, None)


def test_a_restart_resumes_a_send_that_did_not_finish_within_the_grace() -> None:
    tomorrow = datetime(2026, 11, 27, 7, 0, tzinfo=LONDON)  # the job had moved on as the send began
    stopped = [run("2026-11-26", "stopped")]
    plan = plan_job("send", SEND, (SEND, tomorrow), now=NOW, grace=GRACE, runs=stopped)
    assert plan.next_run_time == datetime(2026, 11, 26, 7, 0, tzinfo=LONDON)
    assert "did not finish" in plan.reason
    finished = plan_job("send", SEND, (SEND, tomorrow), now=NOW, grace=GRACE, runs=[run("2026-11-26")])
    assert finished.next_run_time is None
    late = plan_job("send", SEND, (SEND, tomorrow), now=NOW + timedelta(hours=3), grace=GRACE, runs=stopped)
    assert late.next_run_time is None


def test_a_changed_schedule_is_rescheduled_from_now() -> None:
    old = EditionTrigger("0 6 * * *", "Europe/London")
    plan = plan_job("send", SEND, (old, NOW - timedelta(hours=1)), now=NOW, grace=GRACE, runs=[])
    assert plan.next_run_time == datetime(2026, 11, 27, 7, 0, tzinfo=LONDON)
    assert "changed" in plan.reason


def test_no_review_window_drops_the_prepare_job() -> None:
    plan = plan_job("prepare", None, (PREPARE, NOW), now=NOW, grace=GRACE, runs=[])
    assert plan.trigger is None
    assert plan_job("prepare", None, None, now=NOW, grace=GRACE, runs=[]).reason == ""


@pytest.mark.parametrize(
    ("span", "text"),
    [
        (timedelta(hours=3, seconds=12), "3h"),
        (timedelta(hours=2), "2h"),
        (timedelta(hours=1, minutes=30), "1h30m"),
        (timedelta(seconds=45), "45s"),
        (timedelta(days=1, hours=2), "1d2h"),
        (timedelta(0), "0s"),
    ],
)
def test_durations_read_as_the_config_writes_them(span: timedelta, text: str) -> None:
    assert human(span) == text


def test_each_outcome_is_one_log_line() -> None:
    prepared = RunSummary("2026-11-27", stories=15)
    assert describe("prepare", prepared) == "edition 2026-11-27: prepared for review (15 stories)"
    sent = RunSummary("2026-11-27", stories=15, delivery=DeliveryReport(sent=40, retried=0, failed=2))
    assert describe("send", sent) == "edition 2026-11-27: sent to 40, failed 2"
    held = RunSummary("2026-11-27", stories=15, held=True)
    assert describe("send", held) == (
        "edition 2026-11-27: held: awaiting approval "
        "(approve it in the desk or with `digest edition approve`)"
    )
    stopped = RunSummary("2026-11-27", stories=15, delivery=DeliveryReport(7, 0, 0), stopped=True)
    assert "stopped after sending to 7" in describe("send", stopped)
    assert "no stories" in describe("send", RunSummary("2026-11-27"))
    assert "all 5 active subscribers" in describe(
        "send", RunSummary("2026-11-27", stories=3, subscribers_active=5)
    )


# --- the lock ---------------------------------------------------------------------------------


def test_a_second_lock_on_the_same_store_is_refused_naming_the_holder(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'digest.db'}"
    when = datetime(2026, 11, 26, 7, 0, tzinfo=UTC)
    with hold_lock(url, pid=4242, host="desk-1", now=when) as path:
        assert path == str(tmp_path / "digest.db.scheduler.lock")
        with pytest.raises(Busy) as caught, hold_lock(url, pid=1, host="desk-2", now=when):
            pass
        assert caught.value.exit_code == 2
        message = str(caught.value)
        assert "another scheduler holds it (pid 4242 on desk-1 since 2026-11-26T07:00:00+00:00" in message
        assert str(path) in message
    with hold_lock(url, pid=1, host="desk-2", now=when):  # released: the next one starts
        pass


def test_a_server_store_is_locked_in_the_server_never_in_the_current_folder(tmp_path: Path) -> None:
    assert lock_path("postgresql+psycopg://digest:secret@db.example.org/digest") is None
    assert lock_path(str(tmp_path / "d.db")) == tmp_path / "d.db.scheduler.lock"
    with pytest.raises(StorageError, match="needs a SQLite file or PostgreSQL"):
        lock_path("mysql://db.example.org/digest")


@pytest.mark.postgres
def test_schedulers_of_one_postgresql_store_elect_one_wherever_they_run(pg_cluster: Cluster) -> None:
    url = pg_cluster.fresh_database()
    open_store(url).close()
    when = datetime(2026, 11, 26, 7, 0, tzinfo=UTC)
    with hold_lock(url, pid=4242, host="mail-1", now=when) as where:
        assert "advisory lock" in where
        with pytest.raises(Busy) as caught, hold_lock(url, pid=1, host="mail-2", now=when):
            pass
        assert "another scheduler holds it (pid 4242 on mail-1 since 2026-11-26T07:00:00+00:00)" in str(
            caught.value
        )
    with hold_lock(url, pid=1, host="mail-2", now=when):  # released: the next one starts
        pass


# --- the command line -------------------------------------------------------------------------


def test_an_invalid_cron_is_a_one_line_usage_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["schedule", "--cron", "0 7 * *", "--db", str(tmp_path / "d.db")])
    assert result.exit_code == 2
    assert result.output.strip().splitlines() == [
        "digest: error: --cron '0 7 * *': invalid cron expression: wrong number of fields: got 4, expected 5"
    ]


def test_the_help_explains_grace_review_approval_lock_and_stopping() -> None:
    text = " ".join(CliRunner().invoke(main, ["schedule", "--help"]).output.split())
    for words in ("misfire_grace", "review", "approval", "code 2", "SIGTERM", "--cron", "catch-up"):
        assert words.lower() in text.lower(), words


# --- real APScheduler runs ----------------------------------------------------------------------


@dataclass
class Recorder:
    """Editions that record what the scheduler asked for, and a run row as the pipeline does."""

    store: Store
    calls: list[tuple[str, date]] = field(default_factory=list)

    def prepare(self, day: date, *, now: datetime, stop: threading.Event) -> RunSummary:
        summary = RunSummary(day.isoformat(), stories=3, trigger="schedule", kind="prepare")
        return self._run("prepare", day, summary)

    def send(self, day: date, *, now: datetime, stop: threading.Event) -> RunSummary:
        report = DeliveryReport(sent=2, retried=0, failed=0)
        return self._run(
            "send", day, RunSummary(day.isoformat(), stories=3, delivery=report, trigger="schedule")
        )

    def waves(self, *, now: datetime, stop: threading.Event) -> list[RunSummary]:
        day = now.date()
        return [self._run("waves", day, RunSummary(day.isoformat(), stories=3, trigger="schedule"))]

    def _run(self, kind: str, day: date, summary: RunSummary) -> RunSummary:
        run_id = self.store.start_run(day.isoformat())
        self.store.finish_run(run_id, summary.status, summary.as_dict())
        self.calls.append((kind, day))
        return summary


def wait_for(predicate: Callable[[], object], limit: float = 30.0) -> None:
    """Poll until the condition holds; the deadline only guards against a hang."""
    deadline = time.monotonic() + limit
    while not predicate():
        assert time.monotonic() < deadline, "the scheduler did not get there"
        time.sleep(0.02)


def make_settings(tmp_path: Path, store_url: str, **values: Any) -> Settings:
    return parse_config({"store": store_url, **values}, source="test", base_dir=tmp_path)


def cron_at(t: datetime) -> str:
    """A daily crontab line firing at ``t``'s minute (in UTC, the settings' default timezone)."""
    t = t.astimezone(UTC)
    return f"{t.minute} {t.hour} * * *"


def minute(t: datetime) -> datetime:
    return t.astimezone(UTC).replace(second=0, microsecond=0)


def persist(settings: Settings, jobs: dict[str, datetime]) -> None:
    """Jobs as a scheduler that has since stopped left them in the store (written to the job
    store directly: a scheduler's own loop would move a due job on as it shuts down)."""
    jobstore = SQLAlchemyJobStore(url=settings.store_url, tablename=JOBS_TABLE)
    owner = BackgroundScheduler(timezone=UTC)  # never started: it only names the store's owner
    jobstore.start(owner, "default")
    for kind, when in jobs.items():
        job = Job(
            owner,
            id=kind,
            func="digest.schedule.runner:_fire",
            trigger=triggers(settings)[kind],  # type: ignore[index]
            executor="default",
            args=(kind,),
            kwargs={},
            name=f"digest {kind}",
            misfire_grace_time=1,  # the scheduler sets the configured grace as it starts
            coalesce=True,
            max_instances=1,
            next_run_time=when,
        )
        jobstore.add_job(job)
    jobstore.shutdown()


@contextmanager
def running(
    settings: Settings, make: Callable[[Store], Any] = Recorder
) -> Iterator[tuple[EditionScheduler, Store, Any]]:
    with open_store(settings.store_url) as store:
        editions = make(store)
        scheduler = EditionScheduler(settings, store, editions, pid=99, host="test-host")
        scheduler.start()
        try:
            yield scheduler, store, editions
        finally:
            scheduler.stop()


def state(store: Store) -> dict[str, Any]:
    raw = store.get_meta("scheduler")
    assert raw is not None
    data: dict[str, Any] = json.loads(raw)
    return data


def test_a_run_fires_at_its_time(tmp_path: Path, store_url: str) -> None:
    settings = make_settings(tmp_path, store_url, schedule="0 7 * * *", timezone="Europe/London")
    when = datetime.now(UTC) + timedelta(seconds=1)
    persist(settings, {"send": when})
    with running(settings) as (scheduler, store, editions):
        assert scheduler.next_run_time("send") == when
        wait_for(lambda: (state(store)["last"] or {}).get("status") == "ok")
        got = state(store)
    assert editions.calls == [("send", when.astimezone(LONDON).date())]
    assert set(got) == STATE_KEYS
    assert got["last"]["kind"] == "send"
    assert got["last"]["edition"] == when.astimezone(LONDON).date().isoformat()
    assert (got["pid"], got["host"], got["schedule"], got["timezone"], got["review"], got["approval"]) == (
        99,
        "test-host",
        "0 7 * * *",
        "Europe/London",
        0,
        "none",
    )
    assert datetime.fromisoformat(got["next_send"]).astimezone(LONDON).hour == 7
    assert got["next_prepare"] is None
    assert got["stopped"] is None
    with open_store(settings.store_url) as store:
        assert state(store)["stopped"] is not None  # set on a clean stop


def test_a_send_missed_within_the_grace_fires_once_after_start(
    tmp_path: Path, store_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    scheduled = minute(datetime.now(UTC) - timedelta(minutes=10))
    settings = make_settings(tmp_path, store_url, schedule=cron_at(scheduled), misfire_grace="2h")
    persist(settings, {"send": scheduled})
    with caplog.at_level(logging.INFO, logger="digest.schedule"), running(settings) as (s, _, editions):
        wait_for(lambda: editions.calls)
        wait_for(lambda: (s.next_run_time("send") or scheduled) > datetime.now(UTC))
    assert editions.calls == [("send", scheduled.date())]
    assert "skipped" not in caplog.text  # nothing else was queued behind it
    assert re.search(
        rf"edition {scheduled.date()}: send 1[01]m late \(scheduled for .*; grace 2h\)", caplog.text
    )


def test_several_missed_times_make_one_run_for_the_latest(tmp_path: Path, store_url: str) -> None:
    today = minute(datetime.now(UTC) - timedelta(minutes=10))
    settings = make_settings(tmp_path, store_url, schedule=cron_at(today), misfire_grace="2h")
    persist(settings, {"send": today - timedelta(days=3)})  # down since three days ago
    with running(settings) as (s, _, editions):
        wait_for(lambda: editions.calls)
        wait_for(lambda: (s.next_run_time("send") or today) > datetime.now(UTC))
    assert editions.calls == [("send", today.date())]


def test_a_send_missed_beyond_the_grace_is_skipped_and_recorded(
    tmp_path: Path, store_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    scheduled = minute(datetime.now(UTC) - timedelta(minutes=10))
    settings = make_settings(tmp_path, store_url, schedule=cron_at(scheduled), misfire_grace="5m")
    persist(settings, {"send": scheduled - timedelta(days=1)})  # down all day, and then some
    with caplog.at_level(logging.INFO, logger="digest.schedule"), running(settings) as (s, store, editions):
        wait_for(lambda: (state(store)["last"] or {}).get("status") == "missed")
        [missed] = store.recent_runs()
        assert s.next_run_time("send") == scheduled + timedelta(days=1)
    assert editions.calls == []
    assert (missed.edition_id, missed.status, missed.summary["trigger"]) == (
        scheduled.date().isoformat(),
        "missed",
        "schedule",
    )
    assert re.search(
        rf"edition {scheduled.date()}: missed its send time by 1[01]m \(grace 5m\): not sent", caplog.text
    )


def test_a_first_start_catches_up_once_within_the_grace(tmp_path: Path, store_url: str) -> None:
    scheduled = minute(datetime.now(UTC) - timedelta(minutes=5))
    settings = make_settings(tmp_path, store_url, schedule=cron_at(scheduled), misfire_grace="2h")
    with running(settings) as (s, _, editions):
        wait_for(lambda: editions.calls)
        wait_for(lambda: (s.next_run_time("send") or scheduled) > datetime.now(UTC))
    assert editions.calls == [("send", scheduled.date())]
    with running(settings) as (s, _, editions):  # restarted: the job persisted, the send is done
        assert s.next_run_time("send") == scheduled + timedelta(days=1)
    assert editions.calls == []


def test_a_first_start_beyond_the_grace_waits_for_the_next_time(tmp_path: Path, store_url: str) -> None:
    scheduled = minute(datetime.now(UTC) - timedelta(hours=3))
    settings = make_settings(tmp_path, store_url, schedule=cron_at(scheduled), misfire_grace="2h")
    with running(settings) as (s, _, _editions):
        assert s.next_run_time("send") == scheduled + timedelta(days=1)


def test_a_restart_resumes_a_send_that_did_not_finish(tmp_path: Path, store_url: str) -> None:
    scheduled = minute(datetime.now(UTC) - timedelta(minutes=10))
    settings = make_settings(tmp_path, store_url, schedule=cron_at(scheduled), misfire_grace="2h")
    persist(settings, {"send": scheduled + timedelta(days=1)})  # the job had moved on ...
    with open_store(settings.store_url) as store:  # ... and its run was stopped mid-send
        store.finish_run(store.start_run(scheduled.date().isoformat()), "stopped", {})
    with running(settings) as (s, _, editions):
        wait_for(lambda: editions.calls)
        wait_for(lambda: (s.next_run_time("send") or scheduled) > datetime.now(UTC))
    assert editions.calls == [("send", scheduled.date())]


def test_a_changed_schedule_drops_the_persisted_time(tmp_path: Path, store_url: str) -> None:
    scheduled = minute(datetime.now(UTC) - timedelta(minutes=10))
    old = make_settings(tmp_path, store_url, schedule=cron_at(scheduled), misfire_grace="2h", review="30m")
    persist(old, {"send": scheduled, "prepare": scheduled - timedelta(minutes=30)})
    new = make_settings(
        tmp_path, store_url, schedule=cron_at(scheduled + timedelta(minutes=1)), misfire_grace="2h"
    )
    with running(new) as (s, _, editions):
        assert s.next_run_time("send") == scheduled + timedelta(days=1, minutes=1)
        assert s.next_run_time("prepare") is None  # no review window any more
    assert editions.calls == []


# --- real APScheduler runs of the real pipeline -------------------------------------------------


def project(
    tmp_path: Path, store_url: str, **overrides: Any
) -> tuple[Settings, Callable[[Store], PipelineEditions], Path]:
    config = write_run_project(tmp_path / "p", subscribers=5)
    settings = load_config(config).model_copy(update={"store": store_url, **overrides})
    outbox = tmp_path / "outbox"

    def make(store: Store) -> PipelineEditions:
        return PipelineEditions(settings, store, {}, transport_url=f"file:{outbox}")

    return settings, make, outbox


def test_the_review_window_prepares_the_draft_before_the_send(tmp_path: Path, store_url: str) -> None:
    send_at = datetime.now(UTC) + timedelta(seconds=1)
    settings, make, outbox = project(
        tmp_path,
        store_url,
        schedule=cron_at(send_at),
        review=timedelta(minutes=30),
        misfire_grace=timedelta(hours=2),
    )
    # the prepare is due (30 minutes before a send a second ahead), the send right after
    persist(settings, {"prepare": send_at - timedelta(minutes=30), "send": send_at})
    with running(settings, make) as (_, store, _editions):
        wait_for(lambda: (state(store)["last"] or {}).get("kind") == "send")
        send, prepare = store.recent_runs()
        got = state(store)
    day = send_at.date().isoformat()
    assert (prepare.edition_id, prepare.status) == (day, "prepared")
    assert (send.edition_id, send.status, send.summary["reused_edition"]) == (day, "ok", True)
    assert send.summary["trigger"] == prepare.summary["trigger"] == "schedule"
    assert len(list(outbox.glob("*.eml"))) == 5
    assert got["review"] == 1800
    assert got["next_prepare"] is not None


def test_approval_required_holds_the_send(
    tmp_path: Path, store_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    scheduled = minute(datetime.now(UTC) - timedelta(minutes=5))
    settings, make, outbox = project(tmp_path, store_url, schedule=cron_at(scheduled), approval="required")
    with caplog.at_level(logging.INFO, logger="digest.schedule"), running(settings, make) as (_, store, _e):
        wait_for(lambda: (state(store)["last"] or {}).get("status") == "held")
        [held] = store.recent_runs()
        assert store.delivery_counts(held.edition_id) == {}
    assert (held.edition_id, held.status) == (scheduled.date().isoformat(), "held")
    assert not outbox.exists() or not list(outbox.iterdir())
    assert "held: awaiting approval" in caplog.text


def test_local_time_runs_a_tick_every_quarter_hour_that_sends_the_waves(
    tmp_path: Path, store_url: str
) -> None:
    """With local_time the scheduler's one job is the waves' tick: a first one at start, then
    every quarter hour at the schedule's minute; each tick hands the time to the waves."""
    settings = make_settings(tmp_path, store_url, schedule="10 7 * * *", local_time=True, review="30m")
    with running(settings) as (scheduler, _store, editions):
        wait_for(lambda: editions.calls)  # the first tick, at once
        nxt = scheduler.next_run_time("send")
        assert scheduler.next_run_time("prepare") is None  # the tick prepares each edition itself
        assert nxt is not None
        assert (nxt.minute % 15, nxt.second) == (10, 0)
        assert nxt - datetime.now(UTC) <= timedelta(minutes=15)
    assert editions.calls[0][0] == "waves"
