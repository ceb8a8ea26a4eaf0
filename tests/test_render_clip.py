"""The Gmail clip guard: every HTML part sent stays within ``render.clip_limit_kb``.

Gmail clips an HTML part over 102 KB and hides the rest, the unsubscribe footer included. The
guard measures the HTML part as sent (quoted-printable), warns in the run summary and in the
desk, and drops the lowest-ranked stories until every reader's part fits.
"""

from __future__ import annotations

import asyncio
import dataclasses
import email
import email.policy
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from digest.config import Settings, load_config
from digest.desk import create_app
from digest.models import Subscriber
from digest.pipeline import RunContext, run_edition
from digest.render import EditionRenderer
from digest.render.clip import KB, fit
from digest.render.sample import sample_edition
from digest.store import open_store
from smtpd_helpers import Recorder, smtp_server

NOW = datetime(2026, 11, 26, 7, 0, tzinfo=UTC)
SECRET = b"clip-test-secret"
ENV = {"DIGEST_SECRET": "clip-test-secret"}
LIMIT = 100 * KB
READERS = [
    Subscriber("alice@example.com", "Alice"),
    Subscriber("sam@example.com", "Sam", topics=frozenset({"Science", "Culture"})),
    Subscriber(f"{'l' * 60}@example.com", "Łukasz Żółć-Ğüçlü " * 8, first_name="Łukasz " * 20),
]


def html_part(data: bytes) -> bytes:
    """The HTML part's body as it stands in the message (quoted-printable), as Gmail receives it."""
    boundary = email.message_from_bytes(data, policy=email.policy.default).get_boundary()
    assert boundary is not None
    head = b'Content-Type: text/html; charset="utf-8"\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n'
    body = data.split(head, 1)[1]
    return body.split(b"\r\n--" + boundary.encode(), 1)[0]


def settings(**render: object) -> Settings:
    return Settings.model_validate({"postal_address": "Digest Ltd, 1 Harbour Street", "render": render})


def test_html_size_is_the_html_part_as_sent() -> None:
    r = EditionRenderer(sample_edition(), settings(), secret=SECRET, now=NOW)
    for sub in READERS:
        message = r.message(sub)
        assert message is not None
        assert r.html_size(sub) == len(html_part(message.data))


def test_a_hundred_stories_lose_the_lowest_ranked_until_every_part_fits() -> None:
    ed = sample_edition(stories=100)
    s = settings()
    fitted, check = fit(ed, s, secret=SECRET, now=NOW, subscribers=READERS, trim=True)
    assert check.over
    assert check.largest > 2 * LIMIT  # about 2.4 KB a story
    assert check.fitted <= LIMIT
    assert fitted.stories == ed.stories[: len(fitted.stories)]  # the best ones, in rank order
    assert 30 <= len(fitted.stories) < 50
    assert check.dropped == tuple(es.condensed.headline for es in ed.stories[len(fitted.stories) :])
    renderer = EditionRenderer(fitted, s, secret=SECRET, now=NOW)
    sizes = []
    for sub in READERS:
        message = renderer.message(sub)
        assert message is not None
        sizes.append(len(html_part(message.data)))
    assert max(sizes) <= LIMIT
    assert max(sizes) == check.fitted  # the bound is reached by the reader with the longest values
    # one more story would not have fitted
    more = dataclasses.replace(ed, stories=ed.stories[: len(fitted.stories) + 1])
    assert fit(more, s, secret=SECRET, now=NOW, subscribers=READERS, trim=False)[1].over
    [warning] = check.warnings()
    assert "over the 100 KB limit" in warning
    assert f"dropped the lowest-ranked {len(check.dropped)} stories" in warning


def test_an_edition_that_fits_is_left_alone_and_trim_can_be_turned_off() -> None:
    ed = sample_edition()
    same, check = fit(ed, settings(), secret=SECRET, now=NOW, subscribers=READERS, trim=True)
    assert same is ed
    assert not check.over
    assert check.warnings() == []
    big = sample_edition(stories=60)
    kept, check = fit(big, settings(), secret=SECRET, now=NOW, subscribers=READERS, trim=False)
    assert kept is big
    assert check.over
    assert "trim_to_fit is off" in check.warnings()[0]
    # a lower limit, from the config
    small, check = fit(ed, settings(clip_limit_kb=30), secret=SECRET, now=NOW, subscribers=READERS, trim=True)
    assert check.fitted <= 30 * KB < check.largest
    assert len(small.stories) < len(ed.stories)


def test_topics_are_measured_per_reader_group() -> None:
    # only a reader of one section: the edition is measured for what they get, not for everything
    ed = sample_edition(stories=100)
    science = [Subscriber("s@example.com", "Sam", topics=frozenset({"science"}))]
    fitted, check = fit(ed, settings(), secret=SECRET, now=NOW, subscribers=science, trim=True)
    everyone, _ = fit(ed, settings(), secret=SECRET, now=NOW, subscribers=READERS, trim=True)
    assert len(fitted.stories) > len(everyone.stories)
    message = EditionRenderer(fitted, settings(), secret=SECRET, now=NOW).message(science[0])
    assert message is not None
    assert len(html_part(message.data)) == check.fitted <= LIMIT


# -- the whole run: max_stories = 100 ----------------------------------------------------------

_PLACES = ("Northport", "Eastvale", "Riverton", "Lakeside", "Hillcrest", "Westmoor", "Southgate")
_THINGS = ("bridge", "library", "harbour wall", "school", "market hall", "tram line", "hospital wing")


def _item(i: int, when: datetime) -> str:
    place, thing = _PLACES[i % 7], _THINGS[(i // 7) % 7]
    sentences = [
        f"The council of {place} approved plan {i} for the {thing} on {when:%A}, after {i + 2} hours.",
        f"The work on the {thing} will cost {i * 3 + 11} million and is due to finish in {2027 + i % 5}.",
        f"Residents of {place} asked for {i + 40} more parking places near the {thing}.",
        f"Engineers said the {thing} had been closed for {i % 9 + 2} months after an inspection in spring.",
        f"A vote on the final design of plan {i} is expected at the next council meeting in {place}.",
        f"Opposition members of {place} council said the budget for plan {i} was {i % 4 + 2} times too high.",
    ]
    return (
        f"<item><title>{place} approves plan {i} for its {thing}</title>"
        f"<link>https://news.example.org/{i}</link><guid>story-{i}</guid>"
        f"<pubDate>{format_datetime(when - timedelta(minutes=i))}</pubDate>"
        f"<description>{' '.join(sentences)}</description></item>"
    )


def _project(folder: Path) -> Path:
    """A feed of 110 distinct stories, three readers, ``max_stories = 100``."""
    when = NOW - timedelta(hours=1)
    (folder / "feed.xml").write_text(
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>City News</title>'
        "<link>https://news.example.org/</link><description>Test feed</description>"
        + "".join(_item(i, when) for i in range(110))
        + "</channel></rss>",
        encoding="utf-8",
    )
    (folder / "subscribers.csv").write_text(
        "email,name,first_name\nada@example.org,Ada Lovelace,\n"
        f"{'x' * 50}@example.org,{'Łukasz Żółć ' * 6},Łukasz\ngrace@example.org,Grace Hopper,Grace\n",
        encoding="utf-8",
    )
    config = folder / "digest.toml"
    config.write_text(
        'title = "City Brief"\nsender = "City Brief <brief@example.org>"\nmax_stories = 100\n'
        'store = "digest.db"\nsubscribers = "subscribers.csv"\nwindow_hours = 48\n'
        '[[feeds]]\nurl = "feed.xml"\nname = "City News"\n[gather]\nfull_text = false\n'
        "[delivery]\nbackoff_base = 0.0\n",
        encoding="utf-8",
    )
    return config


@pytest.fixture(scope="module")
def hundred(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _project(tmp_path_factory.mktemp("hundred"))


def test_max_stories_100_warns_and_every_html_part_sent_fits(hundred: Path, tmp_path: Path) -> None:
    s = load_config(hundred)
    with smtp_server(Recorder()) as server, open_store(tmp_path / "run.db") as store:
        summary = asyncio.run(
            run_edition(RunContext(s, store, now=NOW, environ=ENV, transport_url=server.url))
        )
        received = [r.data for r in server.handler.received]
        recorded = store.edition(summary.edition_id)
    assert summary.exit_code == 0
    assert len(received) == 3
    [warning] = [w for w in summary.warnings if "Gmail" in w]
    assert "over the 100 KB limit" in warning
    assert "dropped the lowest-ranked" in warning
    sizes = [len(html_part(data)) for data in received]
    assert max(sizes) <= LIMIT
    # what was recorded is what everyone got: the same stories, as many as the summary says
    assert recorded is not None
    assert len(recorded.stories) == summary.stories < 100
    for data in received:
        msg = email.message_from_bytes(data, policy=email.policy.default)
        assert isinstance(msg, EmailMessage)
        html = msg.get_body(("html",))
        assert html is not None
        content = html.get_content()
        assert content.count('class="dg-story"') == summary.stories
        assert "Unsubscribe</a>" in content  # the footer is there, within the part Gmail shows
    print(
        f"\nHTML part with max_stories = 100: {max(sizes) / KB:.1f} KB, {summary.stories} stories; {warning}"
    )


def test_an_edition_made_longer_after_it_was_recorded_is_trimmed_before_anyone_gets_it(
    hundred: Path, tmp_path: Path
) -> None:
    s = load_config(hundred).model_copy(update={"max_stories": 40})
    with open_store(tmp_path / "edit.db") as store:
        from digest.pipeline import RunContext, prepare_edition

        asyncio.run(prepare_edition(RunContext(s, store, now=NOW, environ=ENV)))
        edition = store.edition(NOW.date().isoformat())
        assert edition is not None
        assert len(edition.stories) == 40
        # an editor writes long summaries: the edition no longer fits
        longer = tuple(
            dataclasses.replace(
                es, condensed=dataclasses.replace(es.condensed, summary=es.condensed.summary * 15)
            )
            for es in edition.stories
        )
        store.revise_edition(
            dataclasses.replace(edition, stories=longer), revision=None, actor="ed", action="x"
        )
        # the desk says so before anyone approves it
        client = TestClient(
            create_app(s, store, environ=ENV, clock=lambda: NOW), base_url="http://127.0.0.1:8025"
        )
        page = client.get(f"/editions/{edition.id}").text
        assert 'id="clip-warning"' in page
        assert "over the 100 KB" in page
        assert "digest drops the last" in page
        with smtp_server(Recorder()) as server:
            summary = asyncio.run(
                run_edition(RunContext(s, store, now=NOW, environ=ENV, transport_url=server.url))
            )
            received = [r.data for r in server.handler.received]
        recorded = store.edition(edition.id)
        events = [e.action for e in store.edition_events(edition.id)]
    assert recorded is not None
    assert summary.stories == len(recorded.stories) < 40
    assert any(a.startswith(f"dropped {40 - summary.stories} stories") for a in events)
    assert max(len(html_part(d)) for d in received) <= LIMIT
    assert any("dropped the lowest-ranked" in w for w in summary.warnings)


def test_the_desk_shows_no_warning_for_an_edition_that_fits(tmp_path: Path) -> None:
    s = settings()
    with open_store(tmp_path / "desk.db") as store:
        ed = store.save_edition(sample_edition())
        client = TestClient(
            create_app(s, store, environ=ENV, clock=lambda: NOW), base_url="http://127.0.0.1:8025"
        )
        page = client.get(f"/editions/{ed.id}").text
    assert "Edition 2026-11-26" in page
    assert 'id="clip-warning"' not in page


def test_a_broken_template_does_not_stop_the_edition_being_prepared(hundred: Path, tmp_path: Path) -> None:
    from digest.pipeline import RunContext, prepare_edition

    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "story.mjml").write_text("<p>{{ story.no_such_field }}</p>\n", encoding="utf-8")
    s = load_config(hundred).model_copy(update={"max_stories": 5, "templates": mine})
    with open_store(tmp_path / "broken.db") as store:
        summary = asyncio.run(prepare_edition(RunContext(s, store, now=NOW, environ=ENV)))
        recorded = store.edition(summary.edition_id)
    # recorded as before, for the desk to show the template's error; the run says why it was not measured
    assert recorded is not None
    assert len(recorded.stories) == 5
    assert any("could not be measured" in w and "no_such_field" in w for w in summary.warnings)
