"""The unsubscribe and preferences endpoint over real HTTP on loopback, with a real store."""

from __future__ import annotations

import threading
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from wsgiref.simple_server import WSGIRequestHandler, make_server

import pytest

from digest import tokens
from digest.models import Subscriber, SubscriberStatus
from digest.store import Store, open_store
from digest.web import SubscriptionApp

SECRET = b"test-secret"


class Quiet(WSGIRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def site(tmp_path: Path) -> Iterator[tuple[str, Store]]:
    store = open_store(tmp_path / "s.db")
    store.merge_subscribers(
        [
            Subscriber("ada@example.org", "Ada"),
            Subscriber("bob@example.org", "Bob", topics=frozenset({"World"})),
        ]
    )
    app = SubscriptionApp(
        store,
        SECRET,
        newsletter="The <Brief>",
        paths=["/unsubscribe", "/prefs/"],
        topics=["World", "Science"],
    )
    server = make_server("127.0.0.1", 0, app, handler_class=Quiet)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}", store
    finally:
        server.shutdown()
        server.server_close()
        store.close()


def request(url: str, data: dict[str, str] | None = None) -> tuple[int, str]:
    body = urllib.parse.urlencode(data).encode() if data is not None else None
    try:
        with urllib.request.urlopen(urllib.request.Request(url, data=body), timeout=10) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def status(store: Store, email: str) -> SubscriberStatus:
    return next(s.status for s in store.subscribers() if s.email == email)


def test_one_click_post_unsubscribes(site: tuple[str, Store]) -> None:
    base, store = site
    token = tokens.sign("ada@example.org", SECRET)
    code, page = request(f"{base}/unsubscribe?token={token}", {"List-Unsubscribe": "One-Click"})
    assert code == 200
    assert "ada@example.org" in page
    assert status(store, "ada@example.org") is SubscriberStatus.UNSUBSCRIBED
    assert status(store, "bob@example.org") is SubscriberStatus.ACTIVE


def test_get_changes_nothing_and_offers_a_button(site: tuple[str, Store]) -> None:
    base, store = site
    code, page = request(f"{base}/unsubscribe?token={tokens.sign('ada@example.org', SECRET)}")
    assert code == 200
    assert "<form method=post>" in page
    assert "The &lt;Brief&gt;" in page  # escaped
    assert status(store, "ada@example.org") is SubscriberStatus.ACTIVE


@pytest.mark.parametrize(
    "token",
    [
        "",
        "garbage",
        tokens.sign("ada@example.org", b"another-secret"),
        tokens.sign("ada@example.org", SECRET)[:-2] + "AA",
    ],
)
def test_forged_tokens_are_refused(site: tuple[str, Store], token: str) -> None:
    base, store = site
    code, _ = request(f"{base}/unsubscribe?token={urllib.parse.quote(token)}", {"x": "1"})
    assert code == 400
    assert status(store, "ada@example.org") is SubscriberStatus.ACTIVE


def test_a_manage_token_does_not_unsubscribe_in_one_click(site: tuple[str, Store]) -> None:
    base, store = site
    manage = tokens.sign("ada@example.org", SECRET, purpose=tokens.MANAGE)
    code, page = request(f"{base}/unsubscribe?token={manage}", {"List-Unsubscribe": "One-Click"})
    assert code == 200
    assert "Settings for" in page  # the preferences page, not an unsubscribe
    assert status(store, "ada@example.org") is SubscriberStatus.ACTIVE


def test_preferences_choose_topics_and_leave(site: tuple[str, Store]) -> None:
    base, store = site
    token = tokens.sign("bob@example.org", SECRET, purpose=tokens.MANAGE)
    code, page = request(f"{base}/prefs?token={token}")
    assert code == 200
    assert 'value="World" checked' in page
    assert 'value="Science">' in page
    code, page = request(f"{base}/prefs?token={token}", {"topic": "Science"})
    assert "Saved" in page
    assert next(s.topics for s in store.subscribers() if s.email == "bob@example.org") == {"Science"}
    request(f"{base}/prefs?token={token}", {"leave": "1"})
    assert status(store, "bob@example.org") is SubscriberStatus.UNSUBSCRIBED


def test_unknown_path_is_404(site: tuple[str, Store]) -> None:
    base, _ = site
    assert request(f"{base}/admin")[0] == 404
