"""The editors' desk in-process: every route over a real SQLite store prepared from examples/.

Each test gets its own copy of a store in which the example feeds' edition of 2026-11-26 was
prepared once (``pipeline.prepare_edition``), and a fresh app over it (Starlette's
TestClient, addressed as 127.0.0.1 like a browser on the editor's machine).
"""

from __future__ import annotations

import asyncio
import base64
import email
import email.policy
import email.utils
import json
import re
import shutil
import threading
import urllib.parse
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiosmtpd.smtp import SMTP as SMTPServer
from aiosmtpd.smtp import Envelope, Session
from click.testing import CliRunner
from markupsafe import escape
from starlette.testclient import TestClient

from asgi_helpers import serving
from digest import editing, tokens
from digest.cli import main
from digest.config import DeskConfig, Settings, load_config
from digest.desk import check_binding, create_app, is_loopback
from digest.desk._context import anchor, shown_transport
from digest.errors import ConfigError, InputError, UsageError
from digest.models import SubscriberStatus
from digest.pipeline import RunContext, prepare_edition, run_edition
from digest.store import Store, open_store
from smtpd_helpers import Recorder, free_port, smtp_server
from store_helpers import settle

NOW = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)
DAY = "2026-11-26"
ENV = {"DIGEST_SECRET": "desk-test-secret"}
LOCAL = "http://127.0.0.1:8025"


# -- fixtures ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def prepared(tmp_path_factory: pytest.TempPathFactory, repo_root: Path) -> tuple[Settings, Path]:
    """The examples copied once, and a store holding their edition of DAY, prepared for review."""
    root = tmp_path_factory.mktemp("project")
    shutil.copytree(repo_root / "examples", root / "examples")
    shutil.copy(repo_root / "subscribers.example.csv", root / "subscribers.example.csv")
    settings = load_config(root / "examples" / "digest.toml")
    db = root / "prepared.db"
    with open_store(db) as store:
        summary = asyncio.run(
            prepare_edition(RunContext(settings, store, now=NOW, environ=ENV, trigger="desk"))
        )
    assert summary.stories == 15
    return settings, db


@pytest.fixture
def settings(prepared: tuple[Settings, Path]) -> Settings:
    return prepared[0]


@pytest.fixture
def db(prepared: tuple[Settings, Path], tmp_path: Path) -> Path:
    copy = tmp_path / "desk.db"
    shutil.copy(prepared[1], copy)
    return copy


@pytest.fixture
def store(db: Path) -> Iterator[Store]:
    with open_store(db) as s:
        yield s


@pytest.fixture
def outbox(tmp_path: Path) -> Path:
    return tmp_path / "outbox"


Factory = Callable[..., TestClient]


@pytest.fixture
def make_client(settings: Settings, store: Store, outbox: Path) -> Factory:
    def make(
        *,
        approval: str = "none",
        environ: dict[str, str] | None = None,
        base_url: str = LOCAL,
        clock: datetime = NOW,
        on: Store | None = None,
        transport: str | None = None,
        update: dict[str, Any] | None = None,
    ) -> TestClient:
        app = create_app(
            settings.model_copy(update={"approval": approval, **(update or {})}),
            on or store,
            environ={**ENV, **(environ or {})},
            transport_url=transport or f"file:{outbox}",
            clock=lambda: clock,
        )
        return TestClient(app, base_url=base_url, follow_redirects=False)

    return make


@pytest.fixture
def client(make_client: Factory) -> TestClient:
    return make_client()


# -- helpers ----------------------------------------------------------------------------------


def form_state(html: str) -> dict[str, str]:
    """The hidden fields every form of the page carries."""
    csrf = re.search(r'name="csrf" value="([^"]+)"', html)
    revision = re.search(r'name="revision" value="(\d+)"', html)
    assert csrf, "no form token on the page"
    return {"csrf": csrf.group(1), "revision": revision.group(1) if revision else ""}


def load(client: TestClient, path: str = f"/editions/{DAY}") -> dict[str, str]:
    response = client.get(path)
    assert response.status_code == 200, response.text
    return form_state(response.text)


def post(client: TestClient, action: str, fields: dict[str, str], **headers: str) -> Any:
    return client.post(f"/editions/{DAY}/{action}", data=fields, headers=headers)


def story_ids(store: Store) -> list[str]:
    edition = store.edition(DAY)
    assert edition is not None
    return [s.story.id for s in edition.stories]


def headline(store: Store, index: int = 0) -> str:
    edition = store.edition(DAY)
    assert edition is not None
    return edition.stories[index].condensed.headline


def revision(store: Store) -> int:
    review = store.edition_review(DAY)
    assert review is not None
    return review.revision


def follow(client: TestClient, response: Any) -> Any:
    assert response.status_code == 303, response.text
    return client.get(response.headers["location"])


def messages(outbox: Path) -> list[email.message.EmailMessage]:
    found = []
    for path in sorted(outbox.glob("*.eml")):
        msg = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        assert isinstance(msg, email.message.EmailMessage)
        found.append(msg)
    return found


def html_of(msg: email.message.EmailMessage) -> str:
    part = msg.get_body(("html",))
    assert part is not None
    return str(part.get_content())


def edit_first(client: TestClient, store: Store, new_headline: str) -> Any:
    state = load(client)
    fields = {
        **state,
        "story": story_ids(store)[0],
        "headline": new_headline,
        "summary": "An editor's summary.",
        "key_points": "First point.\nSecond point.",
    }
    return post(client, "stories/save", fields)


# -- pages ------------------------------------------------------------------------------------


def test_home_is_todays_edition_with_its_preview(client: TestClient, store: Store) -> None:
    response = client.get("/")
    assert response.status_code == 200
    page = response.text
    assert f"Edition {DAY}" in page
    assert 'class="state state-draft"' in page
    assert f'src="/editions/{DAY}/email.html"' in page
    assert "sandbox" in page
    assert f'value="{escape(headline(store))}"' in page  # the lead story's form
    assert "The Morning Brief" in page  # the subject line as subscribers get it
    assert page.count('name="csrf"') >= 15
    assert "<script" not in page


def test_home_without_any_edition_offers_to_prepare(make_client: Factory, tmp_path: Path) -> None:
    with open_store(tmp_path / "empty.db") as empty:
        client = make_client(on=empty)
        page = client.get("/").text
        assert "No edition on record yet" in page
        assert "Prepare today's edition (2026-11-26)" in page
        response = client.post("/prepare", data=form_state(page))
        assert response.status_code == 303
        assert response.headers["location"] == f"/editions/{DAY}"
        shown = client.get(response.headers["location"]).text
        assert f"Prepared edition {DAY}: 15 stories from 3 feeds" in shown
        assert "Prepared edition" not in client.get(f"/editions/{DAY}").text  # a notice shows once
        assert empty.edition(DAY) is not None
        assert empty.delivery_counts(DAY) == {}  # preparing sends nothing
        again = client.post("/prepare", data=form_state(shown))
        assert "already on record" in follow(client, again).text


def test_home_falls_back_to_the_latest_edition(make_client: Factory) -> None:
    client = make_client(clock=datetime(2026, 11, 27, 9, tzinfo=UTC))
    page = client.get("/").text
    assert f"Edition {DAY}" in page
    assert "Prepare today's edition (2026-11-27)" in page


def test_past_editions_list_state_and_deliveries(client: TestClient) -> None:
    page = client.get("/editions").text
    assert f'<a href="/editions/{DAY}">{DAY}</a>' in page
    assert "draft" in page
    assert "none" in page  # no deliveries yet


@pytest.mark.parametrize(
    "path",
    [
        "/editions/2026-11-27",
        "/editions/not-a-day",
        "/editions/2026-11-27/email.html",
        "/editions/2026-11-27/email.txt",
        "/no/such/page",
    ],
)
def test_unknown_day_or_page_is_404(client: TestClient, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 404
    assert "Not found" in response.text


def test_a_post_route_does_not_answer_get(client: TestClient) -> None:
    assert client.get("/prepare").status_code == 405
    assert client.get(f"/editions/{DAY}/approve").status_code == 405


def test_preview_html_is_the_email_sandboxed(client: TestClient, store: Store) -> None:
    response = client.get(f"/editions/{DAY}/email.html")
    assert response.status_code == 200
    csp = response.headers["content-security-policy"]
    assert "sandbox" in csp
    assert "frame-ancestors 'self'" in csp
    assert "script-src" not in csp
    assert response.headers["x-frame-options"] == "SAMEORIGIN"
    assert "prefers-color-scheme: dark" in response.text
    assert "reader@example.org" in response.text  # the sample reader, never a real subscriber
    dark = client.get(f"/editions/{DAY}/email.html?dark=1").text
    assert "prefers-color-scheme: dark" not in dark
    assert "@media all" in dark
    assert '<meta name="color-scheme" content="dark"' in dark


def test_preview_text(client: TestClient, store: Store) -> None:
    response = client.get(f"/editions/{DAY}/email.txt")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    assert headline(store) in response.text


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("", 'class="email email-auto"'),  # the stylesheet picks a width by the screen's
        ("?width=desktop", 'class="email email-desktop"'),
        ("?width=mobile", 'width="375"'),
        ("?width=mobile&dark=1", f'src="/editions/{DAY}/email.html?dark=1"'),
        ("?dark=1", f'href="/editions/{DAY}?width=mobile&amp;dark=1" class="auto-mobile"'),
        ("?format=text", '<pre class="plain" id="plain-text">'),
        ("?width=sideways", 'class="email email-auto"'),  # unknown: the default, not an error
    ],
)
def test_the_preview_switches(client: TestClient, query: str, expected: str) -> None:
    response = client.get(f"/editions/{DAY}{query}")
    assert response.status_code == 200
    assert expected in response.text


def test_every_response_carries_the_security_headers(client: TestClient) -> None:
    for path in [
        "/",
        "/editions",
        f"/editions/{DAY}",
        f"/editions/{DAY}/email.txt",
        "/nowhere",
        "/static/desk.css",
    ]:
        headers = client.get(path).headers
        assert headers["x-content-type-options"] == "nosniff", path
        assert headers["referrer-policy"] == "no-referrer", path
        assert headers["cache-control"] == "no-store", path
        assert "frame-ancestors 'none'" in headers["content-security-policy"], path
        assert "unsafe-inline" not in headers["content-security-policy"], path


def test_the_stylesheet(client: TestClient) -> None:
    response = client.get("/static/desk.css")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/css")


# -- edits ------------------------------------------------------------------------------------


def test_a_story_edit_is_saved_logged_and_survives_a_restart(
    make_client: Factory, store: Store, db: Path
) -> None:
    client = make_client()
    response = edit_first(client, store, "Editors rewrite the <lead> story")
    assert response.status_code == 303
    assert re.fullmatch(rf"/editions/{DAY}#story-[0-9a-f]{{12}}", response.headers["location"])
    page = follow(client, response).text
    assert "Story saved (revision 2)." in page
    assert "Editors rewrite the &lt;lead&gt; story" in page
    assert "desk</strong> edited story “Editors rewrite the &lt;lead&gt; story”" in page
    # a new app over a freshly opened store: what the editor saved is what is on record
    with open_store(db) as reopened:
        fresh = make_client(on=reopened)
        assert "Editors rewrite the &lt;lead&gt; story" in fresh.get("/").text
        edition = reopened.edition(DAY)
        assert edition is not None
        c = edition.stories[0].condensed
        assert (c.headline, c.summary) == ("Editors rewrite the <lead> story", "An editor's summary.")
        assert [k.text for k in c.key_points] == ["First point.", "Second point."]
        assert "Editors rewrite the &lt;lead&gt; story" in fresh.get(f"/editions/{DAY}/email.html").text


def test_subject_and_preheader(client: TestClient, store: Store) -> None:
    state = load(client)
    response = post(client, "message", {**state, "subject": "  Today: fish  ", "preheader": "Read this"})
    page = follow(client, response).text
    assert "Subject and preheader saved" in page
    edition = store.edition(DAY)
    assert edition is not None
    assert (edition.subject, edition.preheader) == ("Today: fish", "Read this")
    assert "<dd>Today: fish</dd>" in page
    assert "<dd>Read this</dd>" in page
    # back to the config's template
    post(client, "message", {**load(client), "subject": "", "preheader": ""})
    edition = store.edition(DAY)
    assert edition is not None
    assert (edition.subject, edition.preheader) == ("", "")


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"headline": "   "}, "headline: must not be empty"),
        ({"headline": "two\nlines"}, "headline: must be one line"),
        ({"headline": "x" * 301}, "headline: 301 characters; at most 300"),
        ({"summary": ""}, "summary: must not be empty"),
        ({"summary": "y" * 2001}, "summary: 2001 characters; at most 2000"),
        ({"key_points": "\n".join(f"point {i}" for i in range(9))}, "key points: 9 lines; at most 8"),
        ({"key_points": "z" * 401}, "key point 1: 401 characters; at most 400"),
        ({"story": "s-no-such-story"}, "story &#39;s-no-such-story&#39;: not in edition 2026-11-26"),
    ],
)
def test_bad_story_input_is_refused_and_shown(
    client: TestClient, store: Store, fields: dict[str, str], message: str
) -> None:
    before = store.edition(DAY)
    state = load(client)
    good = {"story": story_ids(store)[0], "headline": "H", "summary": "S", "key_points": ""}
    response = post(
        client, "stories/save", {**state, **good, **fields, "summary": fields.get("summary", "Kept")}
    )
    assert response.status_code == 400
    assert message in response.text
    assert 'role="alert"' in response.text
    assert store.edition(DAY) == before
    assert revision(store) == 1
    if "story" not in fields and "summary" not in fields:
        assert ">Kept</textarea>" in response.text  # what the editor typed is not lost


def story_block(html: str, story_id: str) -> str:
    """The page's list item of one story, its form included."""
    found = re.search(rf'<li class="story" id="{anchor(story_id)}">(.*?)\n    </li>', html, re.DOTALL)
    assert found, f"story {story_id} not on the page"
    return found.group(1)


def test_a_refused_story_shows_its_error_beside_that_story_with_the_input_kept(
    client: TestClient, store: Store
) -> None:
    ids = story_ids(store)
    third = ids[2]
    fields = {"story": third, "headline": "   ", "summary": "The editor's new summary", "key_points": "A\nB"}
    response = post(client, "stories/save", {**load(client), **fields})
    assert response.status_code == 400
    html = response.text
    block = story_block(html, third)
    assert '<p class="error" role="alert"' in block
    assert "Not saved: headline: must not be empty" in block
    assert ">The editor&#39;s new summary</textarea>" in block  # what the editor typed is kept
    assert ">A\nB</textarea>" in block
    # the other stories are as they were, with no error
    for other in (ids[0], ids[1], ids[3]):
        assert "error" not in story_block(html, other)
    # the top of the page points to it rather than repeating a reason that names no story
    top = html.split('<section class="card head">')[0]
    assert f'<a href="#{anchor(third)}">Story 3 was not saved</a>' in top
    assert "must not be empty" not in top
    # the form's action carries the story's anchor: the browser lands on it
    assert f'action="/editions/{DAY}/stories/save#{anchor(third)}"' in block
    assert store.edition(DAY) is not None
    assert revision(store) == 1


def test_a_refused_subject_shows_its_error_beside_its_form(client: TestClient) -> None:
    response = post(client, "message", {**load(client), "subject": "a\nb", "preheader": "Kept"})
    assert response.status_code == 400
    form = response.text.split('id="message"')[1].split("</form>")[0]
    assert "subject: must be one line" in form
    assert 'value="Kept"' in form
    assert "The subject and preheader was not saved" in response.text.split('id="message"')[0]


def test_a_refusal_that_names_no_form_stays_on_top(client: TestClient, store: Store) -> None:
    fields = {"story": "s-no-such-story", "headline": "H", "summary": "S", "key_points": ""}
    response = post(client, "stories/save", {**load(client), **fields})
    assert response.status_code == 400
    top = response.text.split('<section class="card head">')[0]
    assert "story &#39;s-no-such-story&#39;: not in edition" in top


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"subject": "a\r\nBcc: x@example.org"}, "subject: must be one line"),
        ({"preheader": "p" * 301}, "preheader: 301 characters; at most 300"),
        ({"subject": "bell\x07"}, "subject: holds a control character"),
    ],
)
def test_bad_subject_or_preheader(
    client: TestClient, store: Store, fields: dict[str, str], message: str
) -> None:
    response = post(client, "message", {**load(client), "subject": "", "preheader": "", **fields})
    assert response.status_code == 400
    assert message in response.text
    assert revision(store) == 1


@pytest.mark.parametrize("fields", [{"revision": ""}, {"revision": "two"}])
def test_a_form_without_a_revision_is_refused(
    client: TestClient, store: Store, fields: dict[str, str]
) -> None:
    state = {**load(client), **fields}
    response = post(client, "message", {**state, "subject": "S", "preheader": ""})
    assert response.status_code == 400
    assert "revision: missing or not a number" in response.text


def test_move_and_drop_by_story_id(client: TestClient, store: Store) -> None:
    ids = story_ids(store)
    response = post(client, "stories/move", {**load(client), "story": ids[1], "direction": "up"})
    assert "Story moved up (revision 2)." in follow(client, response).text
    assert story_ids(store)[:2] == [ids[1], ids[0]]
    response = post(client, "stories/move", {**load(client), "story": ids[1], "direction": "up"})
    assert response.status_code == 400
    assert "already first" in response.text
    response = post(client, "stories/move", {**load(client), "story": ids[-1], "direction": "down"})
    assert response.status_code == 400
    assert "already last" in response.text
    response = post(client, "stories/move", {**load(client), "story": ids[0], "direction": "sideways"})
    assert response.status_code == 400
    assert "direction: must be" in response.text

    # dropping asks first (no script needed), then drops
    gone = headline(store, 2)
    ask = post(client, "stories/drop", {**load(client), "story": ids[2]})
    assert ask.status_code == 200
    assert "Drop this story" in ask.text
    assert 'name="confirm" value="yes"' in ask.text
    assert len(story_ids(store)) == 15
    response = post(client, "stories/drop", {**form_state(ask.text), "story": ids[2], "confirm": "yes"})
    page = follow(client, response).text
    assert "Story dropped (revision 3)." in page
    assert ids[2] not in story_ids(store)
    assert len(story_ids(store)) == 14
    assert gone not in client.get(f"/editions/{DAY}/email.txt").text
    unknown = post(client, "stories/drop", {**load(client), "story": "nope"})
    assert unknown.status_code == 400


def test_a_stale_form_gets_409_and_overwrites_nothing(client: TestClient, store: Store) -> None:
    stale = load(client)  # two editors load the same revision
    assert edit_first(client, store, "The first editor's headline").status_code == 303
    fields = {**stale, "story": story_ids(store)[0], "headline": "Second", "summary": "S", "key_points": ""}
    response = post(client, "stories/save", fields)
    assert response.status_code == 409
    assert "changed since you loaded it" in response.text
    assert "reload" in response.text
    assert headline(store) == "The first editor's headline"
    for action, extra in [("approve", {}), ("message", {"subject": "x", "preheader": ""}), ("withdraw", {})]:
        assert post(client, action, {**stale, **extra}).status_code == 409, action
    assert post(client, "test", {**stale, "address": "ed@example.org"}).status_code == 409


def test_a_sealed_edition_is_read_only(
    make_client: Factory, settings: Settings, store: Store, outbox: Path
) -> None:
    client = make_client()
    state = load(client)
    summary = asyncio.run(
        run_edition(
            RunContext(settings, store, now=NOW, environ=ENV, transport_url=f"file:{outbox}"),
            gather_first=False,
        )
    )
    assert summary.delivery is not None
    assert summary.delivery.sent == 5
    page = client.get("/").text
    assert "no longer changes" in page
    assert 'class="state state-sealed">sent' in page
    assert 'action="/editions/2026-11-26/stories/save"' not in page
    assert "5 sent" in page
    fields = {**state, "story": story_ids(store)[0], "headline": "Too late", "summary": "S", "key_points": ""}
    response = post(client, "stories/save", fields)
    assert response.status_code == 409
    assert "sending has started; it no longer changes" in response.text
    assert post(client, "approve", state).status_code == 409
    assert "Too late" not in headline(store)
    assert "5 sent" in client.get("/editions").text


# -- approval and test copies -----------------------------------------------------------------


def test_approving_a_held_edition_sends_it_with_the_edit(
    make_client: Factory, settings: Settings, store: Store, outbox: Path
) -> None:
    required = settings.model_copy(update={"approval": "required"})
    held = asyncio.run(
        run_edition(RunContext(required, store, now=NOW, environ=ENV, transport_url=f"file:{outbox}"))
    )
    assert held.held
    assert not outbox.exists()
    client = make_client(approval="required")
    page = client.get("/").text
    assert "held: waiting for approval" in page
    assert "Approve and send now" in page
    follow(client, edit_first(client, store, "Held, corrected, then sent"))
    response = post(client, "approve", load(client))
    page = follow(client, response).text
    assert "Approved and sent: 5 delivered, 0 failed." in page
    sent = {str(m["To"]): m for m in messages(outbox)}
    assert len(sent) == 5
    assert not any(str(m["Subject"]).startswith("[Test]") for m in sent.values())
    every_topic = [m for to, m in sent.items() if "ada@" in to or "marie@" in to]  # the lead story's readers
    assert len(every_topic) == 2
    assert all("Held, corrected, then sent" in html_of(m) for m in every_topic)
    assert store.delivery_counts(DAY) == {"sent": 5}
    assert "desk</strong> approved" in page


def test_approve_before_the_send_then_withdraw(make_client: Factory, store: Store) -> None:
    client = make_client(approval="required")
    response = post(client, "approve", load(client))
    page = follow(client, response).text
    assert "Approved revision 1; it goes out at the scheduled time." in page
    assert "Approved at revision 1 by desk." in page
    review = store.edition_review(DAY)
    assert review is not None
    assert review.approved
    # an edit withdraws the approval: what was approved is what goes out
    follow(client, edit_first(client, store, "Changed after approval"))
    review = store.edition_review(DAY)
    assert review is not None
    assert not review.approved
    follow(client, post(client, "approve", load(client)))
    page = follow(client, post(client, "withdraw", load(client))).text
    assert "Approval withdrawn." in page
    review = store.edition_review(DAY)
    assert review is not None
    assert not review.approved


def test_send_a_test_copy(client: TestClient, store: Store, outbox: Path) -> None:
    follow(client, edit_first(client, store, "Seen in the test copy"))
    response = post(client, "test", {**load(client), "address": "Editor@Example.org"})
    assert "Test copy sent to Editor@Example.org." in follow(client, response).text
    [msg] = messages(outbox)
    assert str(msg["Subject"]).startswith("[Test] ")
    assert str(msg["To"]) == "editor@example.org"
    assert "Seen in the test copy" in html_of(msg)
    assert store.delivery_counts(DAY) == {}  # not a delivery: no ledger row
    assert "test copy sent to editor@example.org" in client.get("/").text


@pytest.mark.parametrize(
    ("address", "message"),
    [
        ("", "test address: must not be empty"),
        ("not an address", "test address"),
        ("a@" + "b" * 330, "at most"),
    ],
)
def test_a_bad_test_address_is_refused(client: TestClient, outbox: Path, address: str, message: str) -> None:
    response = post(client, "test", {**load(client), "address": address})
    assert response.status_code == 400
    assert message in response.text
    assert not outbox.exists()


def test_one_prepare_or_send_at_a_time(client: TestClient, store: Store, outbox: Path) -> None:
    from starlette.routing import Route

    [approve] = [r for r in client.app.routes if isinstance(r, Route) and r.name == "approve"]
    busy = approve.endpoint.__self__.desk.busy
    with busy:  # as if a send were running
        response = post(client, "test", {**load(client), "address": "ed@example.org"})
        assert response.status_code == 409
        assert "busy: another prepare or send is running" in response.text
        assert post(client, "approve", load(client)).status_code == 409
    assert not outbox.exists()
    assert post(client, "test", {**load(client), "address": "ed@example.org"}).status_code == 303


# -- long work runs off the event loop --------------------------------------------------------


class GatedLLM:
    """An OpenAI-compatible endpoint on loopback that holds every request until ``release`` is
    set (``arrived`` tells that the first came), then answers 400: the condenser falls back to
    its extractive result. Stands for a slow LLM reached over synchronous httpx."""

    def __init__(self) -> None:
        self.arrived = threading.Event()
        self.release = threading.Event()
        gate = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("content-length", 0)))
                gate.arrived.set()
                gate.release.wait(120)
                body = json.dumps({"error": {"message": "not today"}}).encode()
                self.send_response(400)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"


@pytest.fixture
def gated_llm() -> Iterator[GatedLLM]:
    gate = GatedLLM()
    thread = threading.Thread(target=gate.server.serve_forever, daemon=True)
    thread.start()
    yield gate
    gate.release.set()
    gate.server.shutdown()
    gate.server.server_close()


class GatedSMTP(Recorder):
    """The test SMTP server, holding every DATA until ``release`` is set: a slow send."""

    def __init__(self) -> None:
        super().__init__()
        self.arrived = threading.Event()
        self.release = threading.Event()

    async def handle_DATA(self, server: SMTPServer, session: Session, envelope: Envelope) -> str:
        self.arrived.set()
        await asyncio.to_thread(self.release.wait, 120)
        return await super().handle_DATA(server, session, envelope)


def in_thread(call: Callable[[], httpx.Response]) -> tuple[threading.Thread, list[httpx.Response]]:
    """Start ``call`` (a request) in a thread; its response lands in the list once it answers."""
    answers: list[httpx.Response] = []
    thread = threading.Thread(target=lambda: answers.append(call()), daemon=True)
    thread.start()
    return thread, answers


def unsubscribe_link(store: Store, address: str = "ada@example.org") -> str:
    """The link in ``address``'s emails: its token names the reader's key in the store."""
    reader = store.subscriber(address)
    assert reader is not None, f"{address} is not in the store"
    return f"/unsubscribe?token={tokens.sign(reader.key, ENV['DIGEST_SECRET'].encode())}"


def test_a_prepare_leaves_the_desk_and_the_readers_links_answering(
    settings: Settings, gated_llm: GatedLLM, tmp_path: Path, outbox: Path
) -> None:
    """Condensing is synchronous (an LLM over sync httpx): it must not stall the server."""
    llm = settings.condense.model_copy(
        update={"backend": "llm", "base_url": gated_llm.url, "model": "m", "retries": 0}
    )
    with open_store(tmp_path / "empty.db") as empty:
        app = create_app(
            settings.model_copy(update={"condense": llm}),
            empty,
            environ=ENV,
            transport_url=f"file:{outbox}",
            clock=lambda: NOW,
        )
        with serving(app) as url, httpx.Client(base_url=url, timeout=20) as http:
            state = form_state(http.get("/").text)
            cookies = http.cookies  # the form token belongs to the session of the page's browser
            worker, answers = in_thread(
                lambda: httpx.post(f"{url}/prepare", data=state, cookies=cookies, timeout=120)
            )
            try:
                assert gated_llm.arrived.wait(60), "the prepare never reached the condenser"
                # the prepare is held in the condenser until released: the rest answers meanwhile
                unsubscribe = http.get(unsubscribe_link(empty))
                home = http.get("/")
                second = http.post("/prepare", data=state)
                assert not answers, "the prepare finished before it was released"
            finally:
                gated_llm.release.set()
                worker.join(120)
        assert unsubscribe.status_code == 200
        assert home.status_code == 200
        assert "No edition on record yet" in home.text
        assert second.status_code == 409  # one prepare or send at a time, still
        assert "busy: another prepare or send is running" in second.text
        [prepared] = answers
        assert prepared.status_code == 303
        assert prepared.headers["location"] == f"/editions/{DAY}"
        edition = empty.edition(DAY)
        assert edition is not None
        assert len(edition.stories) == 15


def test_an_approve_and_send_leaves_the_desk_answering(
    make_client: Factory, settings: Settings, store: Store, outbox: Path
) -> None:
    required = settings.model_copy(update={"approval": "required"})
    assert asyncio.run(
        run_edition(RunContext(required, store, now=NOW, environ=ENV, transport_url=f"file:{outbox}"))
    ).held
    gate = GatedSMTP()
    with smtp_server(gate) as smtp:
        app = make_client(approval="required", transport=smtp.url).app
        with serving(app) as url, httpx.Client(base_url=url, timeout=20) as http:
            state = form_state(http.get(f"/editions/{DAY}").text)
            worker, answers = in_thread(
                lambda: httpx.post(
                    f"{url}/editions/{DAY}/approve", data=state, cookies=http.cookies, timeout=120
                )
            )
            try:
                assert gate.arrived.wait(60), "the send never reached the mail server"
                unsubscribe = http.get(unsubscribe_link(store))
                page = http.get(f"/editions/{DAY}")
                again = http.post(f"/editions/{DAY}/send", data={**state, "confirm": "yes"})
                assert not answers, "the send finished before the mail server answered"
            finally:
                gate.release.set()
                worker.join(120)
        assert unsubscribe.status_code == 200
        assert page.status_code == 200
        assert "sending: 0 delivered, 5 waiting" in page.text  # a run is recorded as running
        assert "Retry sending anyway" in page.text
        assert again.status_code == 409
        assert "busy: another prepare or send is running" in again.text
        [approved] = answers
        assert approved.status_code == 303
    assert store.delivery_counts(DAY) == {"sent": 5}
    assert len(gate.received) == 5
    page_after = make_client(approval="required").get(f"/editions/{DAY}").text
    assert 'class="state state-sealed">sent<' in page_after
    assert "Retry sending" not in page_after


# -- the review window across midnight ----------------------------------------------------------

AFTER_MIDNIGHT = {"schedule": "30 0 * * *", "review": timedelta(hours=2)}  # prepared from 22:30
LATE = datetime(2026, 11, 26, 22, 45, tzinfo=UTC)  # 22:45 in London (GMT in November)
NEXT_DAY = "2026-11-27"


def test_in_the_review_window_before_midnight_the_desk_prepares_the_next_days_edition(
    make_client: Factory, tmp_path: Path
) -> None:
    with open_store(tmp_path / "empty.db") as empty:
        client = make_client(on=empty, clock=LATE, update=AFTER_MIDNIGHT)
        page = client.get("/").text
        assert f"Prepare tomorrow's edition ({NEXT_DAY})" in page
        response = client.post("/prepare", data=form_state(page))
        assert response.status_code == 303
        assert response.headers["location"] == f"/editions/{NEXT_DAY}"
        assert f"Prepared edition {NEXT_DAY}: 15 stories" in follow(client, response).text
        assert empty.edition(NEXT_DAY) is not None
        assert empty.edition(DAY) is None
        assert f"Edition {NEXT_DAY}" in client.get("/").text  # the home page is that edition
        # before the window opens it is still the calendar day's
        early = make_client(on=empty, clock=LATE - timedelta(hours=1), update=AFTER_MIDNIGHT)
        assert f"Prepare today's edition ({DAY})" in early.get("/").text


def test_in_the_review_window_the_home_page_offers_the_next_edition(make_client: Factory) -> None:
    client = make_client(clock=LATE, update=AFTER_MIDNIGHT)
    page = client.get("/").text
    assert f"Edition {DAY}" in page  # the latest on record, not yet tomorrow's
    assert f"Prepare tomorrow's edition ({NEXT_DAY})" in page
    assert f"Prepare tomorrow's edition ({NEXT_DAY})" in client.get("/editions").text


# -- a send that did not finish -----------------------------------------------------------------

NO_BACKOFF = {"backoff_base": 0.0, "max_attempts": 2, "timeout": 10.0}


def test_a_send_that_did_not_finish_is_shown_and_retried_nobody_twice(
    make_client: Factory, settings: Settings, store: Store, outbox: Path
) -> None:
    update = {"delivery": settings.delivery.model_copy(update=NO_BACKOFF)}
    required = settings.model_copy(update={"approval": "required", **update})
    assert asyncio.run(
        run_edition(RunContext(required, store, now=NOW, environ=ENV, transport_url=f"file:{outbox}"))
    ).held
    nobody = f"smtp://127.0.0.1:{free_port()}"  # nothing listens there
    down = make_client(approval="required", transport=nobody, update=update)
    response = post(down, "approve", load(down))
    page = follow(down, response).text
    assert "Approved, but sending is incomplete: 0 delivered, 5 failed" in page
    assert "sending incomplete: 0 delivered, 5 waiting" in page
    assert 'class="state state-incomplete"' in page
    assert f'action="/editions/{DAY}/send"' in page
    assert "Retry sending</button>" in page
    assert "sending incomplete: 0 delivered, 5 waiting" in down.get("/editions").text
    retry = {"csrf": form_state(page)["csrf"]}
    assert store.delivery_counts(DAY).get("sent", 0) == 0

    # the first retry reaches a server that refuses two readers for now: three delivered
    picky = Recorder(
        rcpt_script=lambda rcpt: "451 4.3.0 try later" if rcpt.startswith(("ada@", "grace@")) else None
    )
    with smtp_server(picky) as smtp:
        partly = make_client(approval="required", transport=smtp.url, update=update)
        partly.cookies = down.cookies  # the same browser: its form token is of this session
        page = follow(partly, partly.post(f"/editions/{DAY}/send", data=retry))
        assert "Sending is still incomplete: 3 delivered, 2 failed." in page.text
        assert "sending incomplete: 3 delivered, 2 waiting" in page.text
        assert "Retry sending</button>" in page.text
    # the second, through a working server: the two who waited, and nobody else again
    with smtp_server(Recorder()) as smtp:
        working = make_client(approval="required", transport=smtp.url, update=update)
        working.cookies = down.cookies
        page = follow(working, working.post(f"/editions/{DAY}/send", data=retry))
        assert "Sent: 2 delivered, 0 failed, 3 had it already." in page.text
        assert 'class="state state-sealed">sent<' in page.text
        assert "Retry sending" not in page.text
        second = [r for m in smtp.handler.received for r in m.recipients]
    first = [r for m in picky.received for r in m.recipients]
    assert len(first) == 3
    assert sorted(second) == ["ada@example.org", "grace@example.org"]
    assert len(first + second) == len(set(first + second)) == 5  # everyone, once
    assert store.delivery_counts(DAY) == {"sent": 5}
    # nothing left: a further retry is refused and sends nothing
    refused = working.post(f"/editions/{DAY}/send", data=retry)
    assert refused.status_code == 409
    assert "every delivery is done; nothing to retry" in refused.text


def test_a_retry_is_refused_before_sending_started_and_checks_the_form(
    client: TestClient, store: Store, outbox: Path
) -> None:
    state = load(client)
    response = client.post(f"/editions/{DAY}/send", data={"csrf": state["csrf"]})
    assert response.status_code == 409
    assert "sending has not started; approve it or wait for its send time" in response.text
    assert client.post(f"/editions/{DAY}/send", data={"csrf": "forged"}).status_code == 403
    foreign = client.post(f"/editions/{DAY}/send", data=state, headers={"Origin": "https://evil.example"})
    assert foreign.status_code == 403
    assert client.get(f"/editions/{DAY}/send").status_code == 405
    assert store.delivery_counts(DAY) == {}
    assert not outbox.exists()


def test_a_retry_asks_first_while_a_send_is_recorded_as_running(
    make_client: Factory, settings: Settings, store: Store, outbox: Path
) -> None:
    """A run killed outright stays "running" in the store: the desk asks rather than refusing for ever."""
    store.seal_or_hold(DAY, require_approval=False, actor="schedule")
    store.plan_deliveries(DAY, ["ada@example.org", "grace@example.org"])
    store.start_run(DAY)  # never finished
    client = make_client()
    page = client.get(f"/editions/{DAY}").text
    assert "sending: 0 delivered, 2 waiting" in page
    assert "recorded as running since" in page
    assert "Retry sending anyway</button>" in page
    state = form_state(page)
    refused = client.post(f"/editions/{DAY}/send", data=state)
    assert refused.status_code == 409
    assert "retry only if it has stopped" in refused.text
    assert not outbox.exists()
    response = client.post(f"/editions/{DAY}/send", data={**state, "confirm": "yes"})
    # the two whom the killed run planned; a retry never widens an old edition's audience
    assert "Sent: 2 delivered, 0 failed." in follow(client, response).text
    assert len(messages(outbox)) == 2


# -- the transport the desk sends through ---------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("smtp://editor:s3cret@mail.example.org:587", "smtp://mail.example.org:587"),
        ("smtps://user@mail.example.org:465?password=s3cret", "smtps://mail.example.org:465"),
        ("smtp://[::1]:25", "smtp://[::1]:25"),
        ("smtp://mail.example.org:bad", "smtp://mail.example.org"),
        ("file:/srv/outbox", "file:/srv/outbox"),
        ("memory:", "memory:"),
    ],
)
def test_the_transport_is_shown_without_credentials(url: str, shown: str) -> None:
    assert shown_transport(url) == shown


def test_the_desk_shows_the_transport_it_sends_through(
    make_client: Factory, settings: Settings, store: Store, outbox: Path
) -> None:
    client = make_client(approval="required", transport="smtp://editor:s3cret@mail.example.org:587")
    page = client.get("/").text
    assert "goes out via <code>smtp://mail.example.org:587</code>" in page
    assert "s3cret" not in page
    assert "editor@" not in page
    required = settings.model_copy(update={"approval": "required"})
    asyncio.run(
        run_edition(RunContext(required, store, now=NOW, environ=ENV, transport_url=f"file:{outbox}"))
    )
    assert "Sends via <code>smtp://mail.example.org:587</code>" in client.get("/").text
    # without --transport: the config's [delivery] transport
    configured = create_app(required, store, environ=ENV, clock=lambda: NOW)
    page = TestClient(configured, base_url=LOCAL).get("/").text
    assert f"Sends via <code>{settings.transport_url()}</code>" in page


# -- the readers' links, in the same app ------------------------------------------------------


def test_an_unsubscribe_through_the_desk_app_is_honoured_by_the_next_send(
    client: TestClient, settings: Settings, store: Store, outbox: Path
) -> None:
    secret = ENV["DIGEST_SECRET"].encode()
    token = tokens.sign(next(s.key for s in store.subscribers() if s.email == "ada@example.org"), secret)
    response = client.post(f"/unsubscribe?token={token}", data={"List-Unsubscribe": "One-Click"})
    assert response.status_code == 200
    assert next(s for s in store.subscribers() if s.email == "ada@example.org").status is (
        SubscriberStatus.UNSUBSCRIBED
    )
    asyncio.run(
        run_edition(RunContext(settings, store, now=NOW, environ=ENV, transport_url=f"file:{outbox}"))
    )
    recipients = {str(m["To"]) for m in messages(outbox)}
    assert len(recipients) == 4
    assert not any("ada@example.org" in r for r in recipients)


def test_the_list_unsubscribe_header_of_a_sent_message_is_answered_here(
    make_client: Factory, settings: Settings, store: Store, outbox: Path, db: Path
) -> None:
    """Follow the https URL a mail client finds in List-Unsubscribe, as RFC 8058 has it do."""
    asyncio.run(
        run_edition(RunContext(settings, store, now=NOW, environ=ENV, transport_url=f"file:{outbox}"))
    )
    msg = next(m for m in messages(outbox) if "grace@example.org" in str(m["To"]))
    https = re.search(r"<(https://[^>]+)>", str(msg["List-Unsubscribe"]))
    assert https is not None
    url = urllib.parse.urlsplit(https.group(1))
    # the public host name, as the reverse proxy passes it on, with the desk's token set
    client = make_client(base_url=f"https://{url.netloc}", environ={"DIGEST_DESK_TOKEN": "t0ken"})
    assert client.get(f"{url.path}?{url.query}").status_code == 200  # a confirmation page only
    assert next(s for s in store.subscribers() if s.email == "grace@example.org").active
    tampered = url.query.replace(url.query[-3:], "xyz" if url.query[-3:] != "xyz" else "abc")
    assert client.post(f"{url.path}?{tampered}", data={"List-Unsubscribe": "One-Click"}).status_code == 400
    response = client.post(f"{url.path}?{url.query}", data={"List-Unsubscribe": "One-Click"})
    assert response.status_code == 200
    listed = CliRunner().invoke(
        main, ["subscribers", "list", "--config", str(settings.base_dir / "digest.toml"), "--db", str(db)]
    )
    assert listed.exit_code == 0, listed.output
    [row] = [line for line in listed.output.splitlines() if "grace@example.org" in line]
    assert "unsubscribed" in row


def test_link_paths_may_not_hide_the_desk(settings: Settings, store: Store) -> None:
    bad = settings.model_copy(
        update={"render": settings.render.model_copy(update={"manage_url": "https://example.org/editions"})}
    )
    with pytest.raises(ConfigError, match="/editions is the desk's"):
        create_app(bad, store, environ=ENV)


# -- login and forms --------------------------------------------------------------------------


def basic(user: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


def test_loopback_needs_no_login(client: TestClient) -> None:
    assert client.get("/").status_code == 200
    assert TestClient(client.app, base_url="http://localhost:8025").get("/").status_code == 200


@pytest.mark.parametrize(
    ("base_url", "headers"),
    [
        ("https://example.org", {}),  # the links' public name: a proxy in front of a loopback desk
        (LOCAL, {"X-Forwarded-For": "203.0.113.9"}),
        (LOCAL, {"Forwarded": "for=203.0.113.9"}),
    ],
)
def test_without_a_token_only_local_requests_reach_the_desk(
    make_client: Factory, base_url: str, headers: dict[str, str]
) -> None:
    response = make_client(base_url=base_url).get("/", headers=headers)
    assert response.status_code == 403
    assert "set a token" in response.text


def test_with_a_token_the_desk_asks_for_it(make_client: Factory, store: Store) -> None:
    client = make_client(
        environ={"DIGEST_DESK_TOKEN": "s3cret-token"},
        base_url="http://desk.example.org",
        update={"desk": DeskConfig(public_url="https://desk.example.org/")},
    )
    refused = client.get("/")
    assert refused.status_code == 401
    assert refused.headers["www-authenticate"] == 'Basic realm="digest desk"'
    assert client.get("/", headers=basic("ada", "wrong")).status_code == 401
    assert client.get("/", headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert client.get("/", headers={"Authorization": "Basic !!!"}).status_code == 401
    assert client.get(f"/editions/{DAY}/email.html").status_code == 401
    assert client.get("/", headers={"Authorization": "Bearer s3cret-token"}).status_code == 200
    page = client.get("/", headers=basic("Ada Editor", "s3cret-token"))
    assert page.status_code == 200
    assert '<span class="who">Ada Editor</span>' in page.text
    # the user name is recorded as the actor
    fields = {**form_state(page.text), "subject": "By Ada", "preheader": ""}
    unauthenticated = post(client, "message", fields)
    assert unauthenticated.status_code == 401
    assert revision(store) == 1
    assert post(client, "message", fields, **basic("Ada Editor", "s3cret-token")).status_code == 303
    [event, *_] = store.edition_events(DAY)
    assert (event.actor, event.action) == ("Ada Editor", "changed the subject and preheader")
    # the readers' links never ask for the login
    assert client.get(unsubscribe_link(store)).status_code == 200
    assert client.get("/preferences?token=forged").status_code == 400


@pytest.mark.parametrize(
    ("change", "headers"),
    [
        ({"csrf": ""}, {}),
        ({"csrf": "0" * 32}, {}),
        ({}, {"Origin": "https://evil.example"}),
        ({}, {"Origin": "null"}),
        ({}, {"Origin": "null", "Sec-Fetch-Site": "cross-site"}),
    ],
)
def test_forms_from_elsewhere_are_refused(
    client: TestClient, store: Store, change: dict[str, str], headers: dict[str, str]
) -> None:
    fields = {**load(client), "subject": "Forged", "preheader": "", **change}
    response = post(client, "message", fields, **headers)
    assert response.status_code == 403
    assert revision(store) == 1
    assert client.post("/prepare", data=fields, headers=headers).status_code == 403


@pytest.mark.parametrize(
    "headers",
    [
        {"Origin": LOCAL},
        # what Chromium sends for our own form under "Referrer-Policy: no-referrer"
        {"Origin": "null", "Sec-Fetch-Site": "same-origin"},
    ],
)
def test_a_form_from_the_desk_itself_passes_the_origin_check(
    client: TestClient, store: Store, headers: dict[str, str]
) -> None:
    fields = {**load(client), "subject": "Ours", "preheader": ""}
    assert post(client, "message", fields, **headers).status_code == 303


def test_an_oversized_form_is_refused(client: TestClient, store: Store) -> None:
    response = post(client, "message", {**load(client), "subject": "x" * 400_000, "preheader": ""})
    assert response.status_code == 413
    assert revision(store) == 1


# -- form tokens: one per session, with an expiry ----------------------------------------------


def session_cookie(response: Any) -> str:
    """The Set-Cookie header that starts the desk's session."""
    [cookie] = [c for c in response.headers.get_list("set-cookie") if c.startswith("digest_desk_session=")]
    return str(cookie)


def test_a_form_token_works_only_in_the_session_it_was_served_in(client: TestClient, store: Store) -> None:
    """The issue: the form token was one fixed HMAC per store, the same for every session."""
    mine = load(client)
    other = TestClient(client.app, base_url=LOCAL, follow_redirects=False)
    theirs = load(other)
    assert mine["csrf"] != theirs["csrf"]
    stolen = post(other, "message", {**mine, "subject": "Not theirs", "preheader": ""})
    assert stolen.status_code == 403
    assert "another session" in stolen.text
    assert "reload the page" in stolen.text
    without = TestClient(client.app, base_url=LOCAL, follow_redirects=False)  # no cookie at all
    assert post(without, "message", {**mine, "subject": "No session", "preheader": ""}).status_code == 403
    assert revision(store) == 1
    assert post(other, "message", {**theirs, "subject": "Theirs", "preheader": ""}).status_code == 303
    assert (
        post(client, "message", {**mine, "revision": "2", "subject": "Mine", "preheader": ""}).status_code
        == 303
    )
    assert revision(store) == 3


def test_a_form_token_expires_and_a_reload_gives_a_fresh_one(
    settings: Settings, store: Store, outbox: Path
) -> None:
    now = [NOW]
    app = create_app(settings, store, environ=ENV, transport_url=f"file:{outbox}", clock=lambda: now[0])
    client = TestClient(app, base_url=LOCAL, follow_redirects=False)
    state = load(client)
    now[0] = NOW + timedelta(hours=11)
    assert post(client, "message", {**state, "subject": "In time", "preheader": ""}).status_code == 303
    now[0] = NOW + timedelta(hours=12, seconds=1)
    late = post(client, "message", {**state, "revision": "2", "subject": "Too late", "preheader": ""})
    assert late.status_code == 403
    assert "expired" in late.text
    assert revision(store) == 2
    fresh = load(client)
    assert fresh["csrf"] != state["csrf"]
    assert post(client, "message", {**fresh, "subject": "Reloaded", "preheader": ""}).status_code == 303
    assert revision(store) == 3


def test_the_session_cookie_is_http_only_strict_and_secure_over_https(make_client: Factory) -> None:
    cookie = session_cookie(make_client().get("/")).lower()
    assert "httponly" in cookie
    assert "samesite=strict" in cookie
    assert "secure" not in cookie  # plain http on loopback: a Secure cookie would not come back
    assert "max-age" not in cookie  # ends with the browser session
    env = {"DIGEST_DESK_TOKEN": "t0ken"}
    https = make_client(base_url="https://example.org", environ=env).get("/", headers=basic("ada", "t0ken"))
    assert "secure" in session_cookie(https).lower()


def test_another_login_starts_another_session(make_client: Factory, store: Store) -> None:
    client = make_client(environ={"DIGEST_DESK_TOKEN": "t0ken"})
    ada, bob = basic("Ada", "t0ken"), basic("Bob", "t0ken")
    first = client.get("/", headers=ada)
    state = form_state(first.text)
    again = client.get("/", headers=ada)
    assert "digest_desk_session=" not in again.headers.get("set-cookie", "")  # Ada's session goes on
    rotated = client.get("/", headers=bob)  # the same browser, another login: a new session
    assert session_cookie(rotated) != session_cookie(first)
    refused = post(client, "message", {**state, "subject": "Ada's form", "preheader": ""}, **bob)
    assert refused.status_code == 403
    assert revision(store) == 1
    # a new desk token ends every session
    changed = make_client(environ={"DIGEST_DESK_TOKEN": "new-t0ken"})
    changed.cookies = client.cookies
    bobs = form_state(rotated.text)
    stale = post(
        changed, "message", {**bobs, "subject": "Old token", "preheader": ""}, **basic("Bob", "new-t0ken")
    )
    assert stale.status_code == 403
    assert revision(store) == 1


# -- start-up ---------------------------------------------------------------------------------


@pytest.mark.parametrize("host", ["127.0.0.1", "::1", "[::1]", "localhost", "127.0.0.2"])
def test_loopback_hosts(host: str) -> None:
    assert is_loopback(host)
    check_binding(host, {}, "DIGEST_DESK_TOKEN")


@pytest.mark.parametrize("host", ["0.0.0.0", "192.0.2.10", "desk.example.org", "::"])
def test_other_hosts_need_the_token(host: str) -> None:
    assert not is_loopback(host)
    with pytest.raises(UsageError, match=r"^DIGEST_DESK_TOKEN: not set") as info:
        check_binding(host, {}, "DIGEST_DESK_TOKEN")
    assert info.value.exit_code == 2
    check_binding(host, {"DIGEST_DESK_TOKEN": "t"}, "DIGEST_DESK_TOKEN")


def test_serve_refuses_a_public_address_without_the_token(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("DIGEST_DESK_TOKEN", raising=False)
    config = tmp_path / "digest.toml"
    config.write_text('title = "T"\n', encoding="utf-8")
    args = ["serve", "--host", "0.0.0.0", "--config", str(config), "--db", str(tmp_path / "s.db")]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 2
    assert "DIGEST_DESK_TOKEN" in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_serve_help_explains_the_desk_links_and_login() -> None:
    result = CliRunner().invoke(main, ["serve", "--help"])
    assert result.exit_code == 0
    for words in ["desk", "List-Unsubscribe=One-Click", "DIGEST_DESK_TOKEN", "127.0.0.1", "8025", "https"]:
        assert words in result.output


# -- the pure edits (digest.editing) ------------------------------------------------------------


def test_editing_functions_are_pure_and_keep_key_point_sources(store: Store) -> None:
    edition = store.edition(DAY)
    assert edition is not None
    lead = edition.stories[0]
    two_sources = next(s for s in edition.stories if len(s.story.articles) > 1)
    old = [k.text for k in two_sources.condensed.key_points]
    changed = editing.edit_story(
        edition,
        two_sources.story.id,
        headline=" New ",
        summary="S\r\nT",
        key_points=[old[-1], "Brand new", ""],
    )
    placed = changed.stories[editing.find_story(changed, two_sources.story.id)]
    assert placed.condensed.headline == "New"
    assert placed.condensed.summary == "S\nT"
    assert [k.text for k in placed.condensed.key_points] == [old[-1], "Brand new"]
    assert placed.condensed.key_points[0].source == two_sources.condensed.key_points[-1].source
    assert edition.stories[0] is lead  # the original is untouched
    moved = editing.move_story(edition, lead.story.id, 1)
    assert [s.story.id for s in moved.stories[:2]] == [edition.stories[1].story.id, lead.story.id]
    assert editing.move_story(edition, lead.story.id, 0) == edition
    assert len(editing.drop_story(edition, lead.story.id).stories) == 14
    only = editing.drop_story(moved, lead.story.id)
    while len(only.stories) > 1:
        only = editing.drop_story(only, only.stories[0].story.id)
    with pytest.raises(InputError, match="the only story"):
        editing.drop_story(only, only.stories[0].story.id)
    assert editing.set_message(edition, subject=" S ", preheader="").subject == "S"
    assert editing.set_message(edition, subject="Pay\u202e now", preheader="").subject == "Pay now"
    assert editing.split_lines("a\r\n\n b \rc") == ["a", "b", "c"]


# -- retrying a send that did not finish: who is waited for ---------------------------------


def _send_all_but_one(store: Store) -> list[str]:
    """The edition sent to every active reader but the first, whose delivery failed (451)."""
    emails = [s.email for s in store.subscribers(active_only=True)]
    store.seal_or_hold(DAY, require_approval=False, actor="schedule")
    store.plan_deliveries(DAY, emails)
    for e in emails[1:]:
        settle(store, DAY, e)
    settle(store, DAY, emails[0], "failed", reason="451 try later", code=451)
    return emails


def test_a_retry_sends_only_to_those_waiting_not_to_newer_subscribers(
    make_client: Factory, store: Store, outbox: Path
) -> None:
    from digest.models import Subscriber

    emails = _send_all_but_one(store)
    store.merge_subscribers([Subscriber(email=f"new{i}@example.org") for i in range(3)])
    client = make_client()
    page = client.get(f"/editions/{DAY}").text
    assert "1 waiting" in page
    follow(client, client.post(f"/editions/{DAY}/send", data=form_state(page)))
    assert [email.utils.parseaddr(str(m["To"]))[1] for m in messages(outbox)] == [emails[0]]


def test_a_reader_who_left_is_not_waited_for(make_client: Factory, store: Store) -> None:
    emails = _send_all_but_one(store)
    store.set_subscriber_status(emails[0], SubscriberStatus.UNSUBSCRIBED)
    page = make_client().get(f"/editions/{DAY}").text
    assert "sending incomplete" not in page
    assert "Retry sending</button>" not in page


def test_a_retry_takes_over_the_claims_of_a_lease_that_ran_out_in_a_live_process(
    make_client: Factory, store: Store, db: Path, outbox: Path
) -> None:
    """A process claimed a message and lives on, but its heartbeat stopped (a hung worker): once
    its lease runs out, a retry takes its claim over."""
    import subprocess
    import sys
    import textwrap

    emails = _send_all_but_one(store)
    code = textwrap.dedent(f"""
        import time
        from datetime import timedelta
        from digest.store import open_store
        with open_store({str(db)!r}) as s:
            worker = s.register_worker(name="hung", lease=timedelta(seconds=0.5))
            assert s.mark_sending({DAY!r}, {emails[0]!r}, "<sched>", claimed_by=worker)
        time.sleep(1)
        print("claimed", flush=True)
        time.sleep(60)
    """)
    child = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout is not None
        assert child.stdout.readline().strip() == "claimed"
        client = make_client()
        page = client.get(f"/editions/{DAY}").text
        follow(client, client.post(f"/editions/{DAY}/send", data=form_state(page)))
        assert store.delivery_states(DAY)[emails[0]] == "sent"
        assert len(messages(outbox)) == 1
    finally:
        child.kill()
        child.communicate()
