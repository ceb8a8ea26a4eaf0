"""Local-time sending: every reader at 07:00 in their own timezone, across the daylight-saving
changes of both hemispheres. The scheduler's quarter-hour tick is driven with a controlled clock
(``send_waves`` at each tick's time) against a real SMTP server on loopback."""

from __future__ import annotations

import asyncio
import email
import email.policy
import email.utils
import pickle
from collections import defaultdict
from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from email.utils import format_datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from digest.config import Settings, load_config
from digest.context import RunContext
from digest.pipeline import send_waves
from digest.store import Store, open_store
from digest.waves import TICK, TickTrigger, first_wave, next_wave, open_days, review_day, send_time, wave_at
from smtpd_helpers import Recorder, Server, smtp_server

READERS = {
    "london@example.org": "Europe/London",
    "newyork@example.org": "America/New_York",
    "losangeles@example.org": "America/Los_Angeles",
    "kolkata@example.org": "Asia/Kolkata",
    "sydney@example.org": "Australia/Sydney",
}
SEVEN = time(7, 0)


def project(folder: Path, store_url: str, readers: dict[str, str], first: date, days: int) -> Settings:
    """A newsletter sent at 07:00 local time, one story an edition, with a feed of three new
    stories a day from two days before ``first`` (so no edition runs short)."""
    folder.mkdir(parents=True, exist_ok=True)
    items = []
    for n in range((days + 4) * 3):
        when = datetime.combine(first, time(0), UTC) + timedelta(hours=8 * n - 48)
        items.append(
            f"<item><title>Harbour report {n}: the day's terminal works</title>"
            f"<link>https://news.example.org/{n}</link><guid>story-{n}</guid>"
            f"<pubDate>{format_datetime(when)}</pubDate><description>{story(n)}</description></item>"
        )
    (folder / "feed.xml").write_text(
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Harbour</title>'
        "<link>https://news.example.org/</link><description>t</description>"
        + "".join(items)
        + "</channel></rss>",
        encoding="utf-8",
    )
    rows = ["email,name,timezone"] + [f"{e},{e.split('@')[0].title()},{z}" for e, z in readers.items()]
    (folder / "subscribers.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    (folder / "digest.toml").write_text(
        'title = "Harbour Brief"\nsender = "Harbour Brief <brief@example.org>"\n'
        'timezone = "Europe/London"\nschedule = "0 7 * * *"\nlocal_time = true\nmisfire_grace = "2h"\n'
        f'store = "{store_url}"\nsubscribers = "subscribers.csv"\nwindow_hours = 240\nmax_stories = 1\n'
        '[[feeds]]\nurl = "feed.xml"\nname = "Harbour News"\n[gather]\nfull_text = false\n'
        "[delivery]\npool_size = 2\nbackoff_base = 0.0\n",
        encoding="utf-8",
    )
    return load_config(folder / "digest.toml")


NOUNS = [
    "ferry",
    "bridge",
    "tunnel",
    "lighthouse",
    "quay",
    "crane",
    "dredger",
    "pier",
    "tug",
    "buoy",
    "dock",
    "canal",
    "lock",
]
VERBS = ["opened", "closed", "repaired", "painted", "rebuilt", "inspected", "widened", "renamed"]


def story(n: int) -> str:
    """An invented news item of its own: no two of them are grouped as one story."""
    a, b, c = NOUNS[n % len(NOUNS)], NOUNS[(n * 5 + 3) % len(NOUNS)], VERBS[n % len(VERBS)]
    return (
        f"Report {n}: the {a} of district {n * 7} was {c} on day {n}. Engineers number {n * 11} "
        f"said the {b} would follow in week {n + 2}. Officials of ward {n * 13} approved {n + 40} "
        f"grants for the {a}. A hearing on the {b} is set for month {n % 12 + 1}."
    )


def ticks(
    start: datetime, end: datetime, *, skip: tuple[datetime, datetime] | None = None
) -> Iterator[datetime]:
    """The scheduler's quarter-hour ticks from ``start`` to ``end``, less those in ``skip`` (down)."""
    t = start
    while t <= end:
        if skip is None or not (skip[0] <= t < skip[1]):
            yield t
        t += TICK


def drive(settings: Settings, store: Store, server: Server, times: Iterator[datetime]) -> None:
    for now in times:
        ctx = RunContext(settings, store, now=now, environ={"DIGEST_SECRET": "s"}, transport_url=server.url)
        asyncio.run(send_waves(ctx))


def received(server: Server) -> dict[str, list[datetime]]:
    """Recipient -> the Date of each message it got (the tick it was sent at)."""
    got: dict[str, list[datetime]] = defaultdict(list)
    for r in server.handler.received:
        msg = email.message_from_bytes(r.data, policy=email.policy.default)
        got[r.recipients[0]].append(email.utils.parsedate_to_datetime(str(msg["Date"])))
    return got


# The daylight-saving changes of 2027: the US (March 14, November 7), Europe (March 28,
# October 31), Australia (April 4 back, October 3 forward).
CHANGES = [
    date(2027, 3, 14),
    date(2027, 3, 28),
    date(2027, 4, 4),
    date(2027, 10, 3),
    date(2027, 10, 31),
    date(2027, 11, 7),
]


@pytest.mark.slow
@pytest.mark.parametrize("change", CHANGES, ids=str)
def test_every_reader_gets_one_copy_at_seven_local_across_a_clock_change(
    tmp_path: Path, store_url: str, change: date
) -> None:
    first, days = change - timedelta(days=1), 3
    settings = project(tmp_path / "p", store_url, READERS, first, days)
    start = datetime.combine(first - timedelta(days=1), time(12), UTC)
    end = datetime.combine(first + timedelta(days=days), time(0), UTC)
    with smtp_server(Recorder()) as server, open_store(settings.store_url) as store:
        drive(settings, store, server, ticks(start, end))
        got = received(server)
    editions = [first + timedelta(days=n) for n in range(days)]
    for address, zone in READERS.items():
        local = [t.astimezone(ZoneInfo(zone)) for t in got[address]]
        ours = [t for t in local if t.date() in editions]  # the start may catch up on a day before
        assert sorted(t.date() for t in ours) == editions, (address, local)  # one copy a day, nobody twice
        assert all(t.time() == SEVEN for t in ours), (address, local)  # at 07:00 their time


def test_a_scheduler_down_two_hours_sends_the_missed_waves_once_on_restart(
    tmp_path: Path, store_url: str
) -> None:
    day = date(2027, 6, 15)
    settings = project(tmp_path / "p", store_url, READERS, day, 2)
    down = (
        datetime(2027, 6, 15, 5, 30, tzinfo=UTC),
        datetime(2027, 6, 15, 7, 30, tzinfo=UTC),
    )  # London 07:00 BST = 06:00 UTC
    with smtp_server(Recorder()) as server, open_store(settings.store_url) as store:
        start, end = datetime(2027, 6, 14, 12, tzinfo=UTC), datetime(2027, 6, 16, 12, tzinfo=UTC)
        drive(settings, store, server, ticks(start, end, skip=down))
        got = received(server)
        waves = store.waves(day.isoformat())
    london = [t for t in got["london@example.org"] if t.date() == day]
    assert london == [down[1]]  # late, once: at the first tick after the restart
    kolkata = [t.astimezone(ZoneInfo("Asia/Kolkata")) for t in got["kolkata@example.org"]]
    assert [(t.date(), t.time()) for t in kolkata] == [(day, SEVEN), (day + timedelta(days=1), SEVEN)]
    assert all(counts == {"sent": 1} for _, counts in waves)


def test_a_wave_missed_beyond_the_grace_is_recorded_as_missed(tmp_path: Path, store_url: str) -> None:
    day = date(2027, 6, 15)
    settings = project(tmp_path / "p", store_url, READERS, day, 2)
    down = (datetime(2027, 6, 15, 5, 30, tzinfo=UTC), datetime(2027, 6, 15, 9, 0, tzinfo=UTC))  # 3.5 h
    with smtp_server(Recorder()) as server, open_store(settings.store_url) as store:
        start, end = datetime(2027, 6, 14, 12, tzinfo=UTC), datetime(2027, 6, 15, 23, 45, tzinfo=UTC)
        drive(settings, store, server, ticks(start, end, skip=down))
        got = received(server)
        states = store.delivery_states(day.isoformat())
    assert [t for t in got["london@example.org"] if t.date() == day] == []
    assert states["london@example.org"] == "missed"
    assert states["newyork@example.org"] == states["losangeles@example.org"] == "sent"


def test_readers_at_both_ends_of_the_day_get_the_edition_of_their_own_morning(
    tmp_path: Path, store_url: str
) -> None:
    ends = {"kiritimati@example.org": "Pacific/Kiritimati", "niue@example.org": "Pacific/Niue"}
    day = date(2027, 6, 15)
    settings = project(tmp_path / "p", store_url, {**READERS, **ends}, day - timedelta(days=1), 3)
    with smtp_server(Recorder()) as server, open_store(settings.store_url) as store:
        start, end = datetime(2027, 6, 14, 0, tzinfo=UTC), datetime(2027, 6, 16, 6, tzinfo=UTC)
        drive(settings, store, server, ticks(start, end))
        got = received(server)
        sent = {e: store.delivery_states(day.isoformat()).get(e) for e in ends}
    assert sent == {"kiritimati@example.org": "sent", "niue@example.org": "sent"}
    # edition D leaves Kiritimati at 07:00 there, 17:00 UTC the day before, and Niue 25 hours later
    assert datetime(2027, 6, 14, 17, tzinfo=UTC) in got["kiritimati@example.org"]
    assert datetime(2027, 6, 15, 18, tzinfo=UTC) in got["niue@example.org"]


# --- the arithmetic ------------------------------------------------------------------------------


def test_a_clock_change_moves_the_utc_time_never_the_local_one() -> None:
    london = ZoneInfo("Europe/London")
    assert wave_at(date(2027, 3, 27), london, SEVEN) == datetime(2027, 3, 27, 7, tzinfo=UTC)
    assert wave_at(date(2027, 3, 28), london, SEVEN) == datetime(2027, 3, 28, 6, tzinfo=UTC)
    sydney = ZoneInfo("Australia/Sydney")
    assert wave_at(date(2027, 4, 3), sydney, SEVEN) == datetime(2027, 4, 2, 20, tzinfo=UTC)
    assert wave_at(date(2027, 4, 4), sydney, SEVEN) == datetime(2027, 4, 3, 21, tzinfo=UTC)


def test_the_first_wave_and_the_day_under_review() -> None:
    zones = [ZoneInfo("Europe/London"), ZoneInfo("Pacific/Kiritimati")]
    assert first_wave(date(2027, 6, 15), zones, SEVEN) == datetime(2027, 6, 14, 17, tzinfo=UTC)
    # an hour before Kiritimati's morning of the 15th, with a 2-hour review: the 15th is reviewed
    now = datetime(2027, 6, 14, 16, tzinfo=UTC)
    assert review_day("0 7 * * *", zones, now, review=timedelta(hours=2)) == date(2027, 6, 15)
    assert review_day("0 7 * * *", zones, now, review=timedelta(0)) == date(2027, 6, 14)
    assert next_wave("0 7 * * *", zones, now) == datetime(2027, 6, 14, 17, tzinfo=UTC)
    assert open_days("0 7 * * *", zones, now, grace=timedelta(hours=2)) == []  # the 14th's last left at 06:00
    later = datetime(2027, 6, 14, 17, tzinfo=UTC)
    assert open_days("0 7 * * *", zones, later, grace=timedelta(hours=2)) == [date(2027, 6, 15)]


def test_the_schedule_must_send_once_a_day_and_weekdays_hold() -> None:
    assert send_time("30 6 * * 1-5") == time(6, 30)
    with pytest.raises(ValueError, match="one send time a day"):
        send_time("0 7,19 * * *")
    zones = [ZoneInfo("Europe/London")]
    saturday = datetime(2027, 6, 19, 12, tzinfo=UTC)
    assert open_days("0 7 * * 1-5", zones, saturday, grace=timedelta(hours=2)) == []


def test_the_tick_fires_every_quarter_hour_at_the_schedules_minute_and_pickles_as_its_schedule() -> None:
    tick = TickTrigger("10 7 * * *")
    now = datetime(2027, 6, 15, 12, 0, tzinfo=UTC)
    fire = tick.get_next_fire_time(None, now)
    assert fire == datetime(2027, 6, 15, 12, 10, tzinfo=UTC)
    assert tick.get_next_fire_time(fire, fire + timedelta(seconds=1)) == datetime(
        2027, 6, 15, 12, 25, tzinfo=UTC
    )
    assert pickle.loads(pickle.dumps(tick)) == tick
    assert tick != TickTrigger("0 7 * * *")


def test_status_and_the_desk_show_the_waves_of_the_current_edition(tmp_path: Path, store_url: str) -> None:
    from digest.cli.status import Facts

    day = date(2027, 6, 15)
    settings = project(tmp_path / "p", store_url, READERS, day, 2)
    noon = datetime(2027, 6, 15, 12, 0, tzinfo=UTC)  # London and New York have it; not Los Angeles
    with smtp_server(Recorder()) as server, open_store(settings.store_url) as store:
        drive(settings, store, server, ticks(datetime(2027, 6, 14, 20, tzinfo=UTC), noon))
        facts = Facts.read(store, 10, settings, noon)
        zones = {w.at: (w.zones, w.counts) for w in facts.waves}
    assert facts.wave_day == "2027-06-15"
    assert zones[datetime(2027, 6, 15, 11, tzinfo=UTC)] == (("America/New_York",), {"sent": 1})
    assert zones[datetime(2027, 6, 15, 6, tzinfo=UTC)] == (("Europe/London",), {"sent": 1})
    assert zones[datetime(2027, 6, 15, 14, tzinfo=UTC)] == (("America/Los_Angeles",), {})  # still to come


def test_the_desk_says_when_the_first_wave_leaves_and_to_approve_before_it(
    tmp_path: Path, store_url: str
) -> None:
    from starlette.testclient import TestClient

    from digest.desk import create_app

    day = date(2027, 6, 15)
    settings = project(tmp_path / "p", store_url, READERS, day, 2)
    settings = settings.model_copy(update={"approval": "required", "review": timedelta(hours=1)})
    before = datetime(2027, 6, 14, 20, 30, tzinfo=UTC)  # Sydney's 07:00 of the 15th is 21:00 UTC
    with smtp_server(Recorder()) as server, open_store(settings.store_url) as store:
        drive(settings, store, server, ticks(datetime(2027, 6, 14, 19, 45, tzinfo=UTC), before))
        assert store.edition(day.isoformat()) is not None  # prepared an hour before the first wave
        app = create_app(settings, store, environ={"DIGEST_SECRET": "s"}, clock=lambda: before)
        page = TestClient(app, base_url="http://127.0.0.1").get("/").text
        assert server.handler.received == []
    assert "Goes out in 5 waves, each reader at 07:00 their own time" in page
    assert "the first leaves 2027-06-14 21:00 UTC (Australia/Sydney)" in page
    assert "the last 2027-06-15 14:00 UTC (America/Los_Angeles)" in page
    assert "Approve it before then." in page
