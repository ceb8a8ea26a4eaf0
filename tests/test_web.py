"""The unsubscribe and preferences endpoint, with a real store, served two ways.

``wsgi``: the standalone :class:`digest.web.SubscriptionApp` over real HTTP on loopback (for
those who mount it in their own server). ``asgi``: the same paths in the app of
``digest serve`` (:func:`digest.desk.create_app`), addressed by a public name and with a
desk token set, to show that readers never meet the desk's login.
"""

from __future__ import annotations

import threading
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from wsgiref.simple_server import WSGIRequestHandler, make_server

import pytest
from starlette.testclient import TestClient

from digest import tokens
from digest.config import FeedConfig, RenderConfig, Settings
from digest.desk import create_app
from digest.models import Subscriber, SubscriberStatus
from digest.store import Store, open_store
from digest.web import SubscriptionApp, link_paths

SECRET = b"test-secret"
Request = Callable[..., tuple[int, str]]  # (url path and query, form fields or None) -> (status, page)


class Quiet(WSGIRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


def _store(tmp_path: Path) -> Store:
    store = open_store(tmp_path / "s.db")
    store.merge_subscribers(
        [
            Subscriber("ada@example.org", "Ada"),
            Subscriber("bob@example.org", "Bob", topics=frozenset({"World"})),
        ]
    )
    return store


@contextmanager
def _wsgi(store: Store) -> Iterator[Request]:
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
    base = f"http://127.0.0.1:{server.server_port}"

    def request(path: str, data: dict[str, str] | None = None) -> tuple[int, str]:
        body = urllib.parse.urlencode(data).encode() if data is not None else None
        try:
            with urllib.request.urlopen(urllib.request.Request(base + path, data=body), timeout=10) as r:
                return r.status, r.read().decode()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read().decode()

    try:
        yield request
    finally:
        server.shutdown()
        server.server_close()


@contextmanager
def _asgi(store: Store) -> Iterator[Request]:
    settings = Settings(
        title="The <Brief>",
        render=RenderConfig(
            unsubscribe_url="https://news.example.org/unsubscribe",
            manage_url="https://news.example.org/prefs/",
        ),
        feeds=(FeedConfig(url="w.xml", topic="World"), FeedConfig(url="s.xml", topic="Science")),
    )
    environ = {"DIGEST_SECRET": SECRET.decode(), "DIGEST_DESK_TOKEN": "desk-only"}
    client = TestClient(create_app(settings, store, environ=environ), base_url="https://news.example.org")

    def request(path: str, data: dict[str, str] | None = None) -> tuple[int, str]:
        response = client.post(path, data=data) if data is not None else client.get(path)
        for name in ("content-security-policy", "x-content-type-options", "referrer-policy", "cache-control"):
            assert name in response.headers
        return response.status_code, response.text

    yield request


@pytest.fixture(params=["wsgi", "asgi"])
def site(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Request, Store]]:
    store = _store(tmp_path)
    serve = _wsgi if request.param == "wsgi" else _asgi
    try:
        with serve(store) as fetch:
            yield fetch, store
    finally:
        store.close()


def status(store: Store, email: str) -> SubscriberStatus:
    return next(s.status for s in store.subscribers() if s.email == email)


def test_one_click_post_unsubscribes(site: tuple[Request, Store]) -> None:
    request, store = site
    token = tokens.sign("ada@example.org", SECRET)
    code, page = request(f"/unsubscribe?token={token}", {"List-Unsubscribe": "One-Click"})
    assert code == 200
    assert "ada@example.org" in page
    assert status(store, "ada@example.org") is SubscriberStatus.UNSUBSCRIBED
    assert status(store, "bob@example.org") is SubscriberStatus.ACTIVE
    again = request(f"/unsubscribe?token={token}", {"List-Unsubscribe": "One-Click"})
    assert again[0] == 200  # a second click (or a retrying mail client) is fine


def test_get_changes_nothing_and_offers_a_button(site: tuple[Request, Store]) -> None:
    request, store = site
    code, page = request(f"/unsubscribe?token={tokens.sign('ada@example.org', SECRET)}")
    assert code == 200
    assert "<form method=post>" in page
    assert "The &lt;Brief&gt;" in page  # escaped
    assert status(store, "ada@example.org") is SubscriberStatus.ACTIVE


def test_the_confirmation_button_unsubscribes(site: tuple[Request, Store]) -> None:
    request, store = site
    token = tokens.sign("ada@example.org", SECRET)
    code, _ = request("/unsubscribe", {"token": token})  # what the page's button posts
    assert code == 200
    assert status(store, "ada@example.org") is SubscriberStatus.UNSUBSCRIBED


@pytest.mark.parametrize(
    "token",
    [
        "",
        "garbage",
        tokens.sign("ada@example.org", b"another-secret"),
        tokens.sign("ada@example.org", SECRET)[:-2] + "AA",
        tokens.sign("bob@example.org", SECRET).split(".")[0]
        + "."
        + tokens.sign("ada@example.org", SECRET).split(".")[1],
    ],
    ids=["empty", "garbage", "other-secret", "altered-mac", "swapped-address"],
)
def test_forged_tokens_are_refused(site: tuple[Request, Store], token: str) -> None:
    request, store = site
    code, _ = request(f"/unsubscribe?token={urllib.parse.quote(token)}", {"List-Unsubscribe": "One-Click"})
    assert code == 400
    code, _ = request(f"/unsubscribe?token={urllib.parse.quote(token)}")
    assert code == 400
    assert status(store, "ada@example.org") is SubscriberStatus.ACTIVE
    assert status(store, "bob@example.org") is SubscriberStatus.ACTIVE


def test_a_genuine_token_of_an_unknown_address_changes_nothing(site: tuple[Request, Store]) -> None:
    request, store = site
    token = tokens.sign("eve@example.org", SECRET)
    code, page = request(f"/unsubscribe?token={token}", {"List-Unsubscribe": "One-Click"})
    assert code == 404
    assert "not on the list" in page
    assert {s.email for s in store.subscribers()} == {"ada@example.org", "bob@example.org"}


def test_a_manage_token_does_not_unsubscribe_in_one_click(site: tuple[Request, Store]) -> None:
    request, store = site
    manage = tokens.sign("ada@example.org", SECRET, purpose=tokens.MANAGE)
    code, page = request(f"/unsubscribe?token={manage}", {"List-Unsubscribe": "One-Click"})
    assert code == 200
    assert "Settings for" in page  # the preferences page, not an unsubscribe
    assert status(store, "ada@example.org") is SubscriberStatus.ACTIVE


def test_preferences_choose_topics_and_leave(site: tuple[Request, Store]) -> None:
    request, store = site
    token = tokens.sign("bob@example.org", SECRET, purpose=tokens.MANAGE)
    code, page = request(f"/prefs?token={token}")
    assert code == 200
    assert 'value="World" checked' in page
    assert 'value="Science">' in page
    assert request(f"/prefs/?token={token}")[0] == 200  # the configured URL ends with a slash
    code, page = request(f"/prefs?token={token}", {"topic": "Science"})
    assert "Saved" in page
    assert next(s.topics for s in store.subscribers() if s.email == "bob@example.org") == {"Science"}
    request(f"/prefs?token={token}", {"topic": "Not a section"})
    assert next(s.topics for s in store.subscribers() if s.email == "bob@example.org") == frozenset()
    request(f"/prefs?token={token}", {"leave": "1"})
    assert status(store, "bob@example.org") is SubscriberStatus.UNSUBSCRIBED


def test_unknown_path(site: tuple[Request, Store]) -> None:
    request, _ = site
    assert request("/admin")[0] in (401, 404)  # the desk app asks for its login first


def test_link_paths() -> None:
    assert link_paths("https://example.org/unsubscribe", None, "https://example.org/prefs/") == [
        "/prefs",
        "/unsubscribe",
    ]
    assert link_paths("https://example.org/u", "https://example.org/u") == ["/u"]
