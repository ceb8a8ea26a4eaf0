from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from digest.schedule import last_fire_time, missed_edition
from digest.store.runs import RunRecord

LONDON = ZoneInfo("Europe/London")
NY = ZoneInfo("America/New_York")


def run(edition: str, status: str = "ok", finished: bool = True) -> RunRecord:
    t = datetime(2026, 11, 26, 7, 0, tzinfo=UTC)
    return RunRecord(1, edition, t, t if finished else None, status, {})


def test_last_fire_time_is_in_the_configured_timezone() -> None:
    now = datetime(2026, 11, 26, 13, 0, tzinfo=UTC)  # 08:00 in New York
    assert last_fire_time("0 7 * * *", NY, now) == datetime(2026, 11, 26, 7, 0, tzinfo=NY)
    early = datetime(2026, 11, 26, 11, 0, tzinfo=UTC)  # 06:00 in New York: yesterday's
    assert last_fire_time("0 7 * * *", NY, early) == datetime(2026, 11, 25, 7, 0, tzinfo=NY)


def test_missed_run_is_caught_up() -> None:
    now = datetime(2026, 11, 26, 9, 30, tzinfo=UTC)
    assert missed_edition("0 7 * * *", LONDON, now, []) == date(2026, 11, 26)
    assert missed_edition("0 7 * * *", LONDON, now, [run("2026-11-25")]) == date(2026, 11, 26)


def test_finished_run_is_not_repeated() -> None:
    now = datetime(2026, 11, 26, 9, 30, tzinfo=UTC)
    assert missed_edition("0 7 * * *", LONDON, now, [run("2026-11-26")]) is None
    # a partial run (some deliveries failed) counts as done; a crashed one does not
    assert missed_edition("0 7 * * *", LONDON, now, [run("2026-11-26", "partial")]) is None
    assert missed_edition("0 7 * * *", LONDON, now, [run("2026-11-26", "running", finished=False)]) == date(
        2026, 11, 26
    )


def test_older_misses_are_not_caught_up() -> None:
    now = datetime(2026, 11, 26, 9, 30, tzinfo=UTC)
    # weekly schedule, last fire six days ago: beyond the 24-hour catch-up limit
    assert missed_edition("0 7 * * 5", LONDON, now, []) is None


def test_prepare_catches_up_then_registers_the_daily_job() -> None:
    from apscheduler.schedulers.background import BackgroundScheduler

    from digest.schedule import prepare

    days: list[date] = []

    async def job(day: date) -> int:
        days.append(day)
        return 0

    now = datetime(2026, 11, 26, 9, 30, tzinfo=UTC)
    scheduler = BackgroundScheduler(timezone=LONDON)
    prepare("0 7 * * *", LONDON, job, now=lambda: now, runs=list, scheduler=scheduler)
    assert days == [date(2026, 11, 26)]  # the 07:00 run was missed: caught up at once
    (registered,) = scheduler.get_jobs()
    assert registered.coalesce is True
    assert registered.misfire_grace_time is None
    nxt = registered.trigger.get_next_fire_time(None, now)
    assert nxt == datetime(2026, 11, 27, 7, 0, tzinfo=LONDON)

    days.clear()
    prepare(
        "0 7 * * *",
        LONDON,
        job,
        now=lambda: now,
        runs=lambda: [run("2026-11-26")],
        scheduler=BackgroundScheduler(),
    )
    assert days == []


def test_a_failing_run_does_not_stop_the_schedule() -> None:
    from apscheduler.schedulers.background import BackgroundScheduler

    from digest.schedule import prepare

    async def job(day: date) -> int:
        raise RuntimeError("boom")

    now = datetime(2026, 11, 26, 9, 30, tzinfo=UTC)
    scheduler = prepare("0 7 * * *", LONDON, job, now=lambda: now, runs=list, scheduler=BackgroundScheduler())
    assert len(scheduler.get_jobs()) == 1


def test_a_late_run_is_the_edition_of_its_scheduled_day() -> None:
    from apscheduler.schedulers.background import BackgroundScheduler

    from digest.schedule import prepare

    days: list[date] = []

    async def job(day: date) -> int:
        days.append(day)
        return 0

    clock = [datetime(2026, 11, 26, 22, 0, tzinfo=UTC)]  # 23:00 in Paris: the run was on time
    paris = ZoneInfo("Europe/Paris")
    done = [run("2026-11-26")]
    scheduler = prepare(
        "0 23 * * *", paris, job, now=lambda: clock[0], runs=lambda: done, scheduler=BackgroundScheduler()
    )
    fire = scheduler.get_jobs()[0].func
    clock[0] = datetime(2026, 11, 27, 0, 30, tzinfo=UTC)  # the next day's 01:30: fired late
    fire()
    assert days == [date(2026, 11, 26)]
