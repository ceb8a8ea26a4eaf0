"""The unsubscribe and preferences endpoint, with a real store (SQLite and PostgreSQL), mounted
both ways it is offered.

``alone``: :func:`digest.web.reader_app`, the readers' links alone, under a real uvicorn server
on loopback (for those who run it in their own server). ``desk``: the same routes in the app of
``digest serve`` (:func:`digest.desk.create_app`), addressed by its public name and with a desk
token set, to show that readers never meet the desk's login.
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest
from sqlalchemy import event
from starlette.testclient import TestClient

from asgi_helpers import serving
from digest import tokens
from digest.config import FeedConfig, RenderConfig, Settings
from digest.desk import create_app
from digest.models import Subscriber, SubscriberStatus
from digest.store import Store
from digest.store.subscribers import LEFT_BY_LINK
from digest.web import MAX_BODY, link_paths, reader_app
from test_tokens import legacy

SECRET = b"test-secret"
ENVIRON = {"DIGEST_SECRET": SECRET.decode(), "DIGEST_DESK_TOKEN": "desk-only"}
Request = Callable[..., tuple[int, str]]  # (url path and query, form fields or None) -> (status, page)
SETTINGS = Settings(
    title="The <Brief>",
    render=RenderConfig(
        unsubscribe_url="https://news.example.org/unsubscribe",
        manage_url="https://news.example.org/prefs/",
    ),
    feeds=(FeedConfig(url="w.xml", topic="World"), FeedConfig(url="s.xml", topic="Science")),
)


def _checked(response: httpx.Response) -> tuple[int, str]:
    for name in ("content-security-policy", "x-content-type-options", "referrer-policy", "cache-control"):
        assert name in response.headers
    return response.status_code, response.text


@contextmanager
def _alone(store: Store) -> Iterator[Request]:
    with serving(reader_app(SETTINGS, store, environ=ENVIRON)) as url, httpx.Client(base_url=url) as http:

        def request(path: str, data: dict[str, str] | None = None) -> tuple[int, str]:
            return _checked(http.post(path, data=data) if data is not None else http.get(path))

        yield request


@contextmanager
def _desk(store: Store) -> Iterator[Request]:
    client = TestClient(create_app(SETTINGS, store, environ=ENVIRON), base_url="https://news.example.org")

    def request(path: str, data: dict[str, str] | None = None) -> tuple[int, str]:
        response = client.post(path, data=data) if data is not None else client.get(path)
        return _checked(response)  # type: ignore[arg-type]

    yield request


@pytest.fixture
def readers(store: Store) -> Store:
    store.merge_subscribers(
        [
            Subscriber("ada@example.org", "Ada"),
            Subscriber("bob@example.org", "Bob", topics=frozenset({"World"})),
        ]
    )
    return store


@pytest.fixture(params=["alone", "desk"])
def site(request: pytest.FixtureRequest, readers: Store) -> Iterator[tuple[Request, Store]]:
    serve = _alone if request.param == "alone" else _desk
    with serve(readers) as fetch:
        yield fetch, readers


def key(store: Store, email: str) -> str:
    sub = store.subscriber(email)
    assert sub is not None
    assert sub.key is not None
    return sub.key


def sign(store: Store, email: str, purpose: str = tokens.UNSUBSCRIBE) -> str:
    return tokens.sign(key(store, email), SECRET, purpose=purpose)


def status(store: Store, email: str) -> SubscriberStatus:
    sub = store.subscriber(email)
    assert sub is not None
    return sub.status


ONE_CLICK = {"List-Unsubscribe": "One-Click"}


def test_one_click_post_unsubscribes(site: tuple[Request, Store]) -> None:
    request, store = site
    token = sign(store, "ada@example.org")
    code, page = request(f"/unsubscribe?token={token}", ONE_CLICK)
    assert code == 200
    assert "ada@example.org" in page
    assert status(store, "ada@example.org") is SubscriberStatus.UNSUBSCRIBED
    assert store.suppression_reasons(["ada@example.org"]) == {"ada@example.org": LEFT_BY_LINK}
    assert status(store, "bob@example.org") is SubscriberStatus.ACTIVE
    again = request(f"/unsubscribe?token={token}", ONE_CLICK)
    assert again[0] == 200  # a second click (or a retrying mail client) is fine


def test_get_changes_nothing_and_offers_a_button(site: tuple[Request, Store]) -> None:
    request, store = site
    code, page = request(f"/unsubscribe?token={sign(store, 'ada@example.org')}")
    assert code == 200
    assert "<form method=post>" in page
    assert "The &lt;Brief&gt;" in page  # escaped
    assert status(store, "ada@example.org") is SubscriberStatus.ACTIVE


def test_the_confirmation_button_unsubscribes(site: tuple[Request, Store]) -> None:
    request, store = site
    code, _ = request("/unsubscribe", {"token": sign(store, "ada@example.org")})  # the page's button
    assert code == 200
    assert status(store, "ada@example.org") is SubscriberStatus.UNSUBSCRIBED


FORGED: list[Callable[[Store], str]] = [
    lambda s: "",
    lambda s: "garbage",
    lambda s: tokens.sign(key(s, "ada@example.org"), b"another-secret"),
    lambda s: sign(s, "ada@example.org")[:-2] + "AA",
    lambda s: key(s, "bob@example.org") + "." + sign(s, "ada@example.org").split(".")[1],
    lambda s: legacy("ada@example.org", b"another-secret"),
    lambda s: legacy("bob@example.org").split(".")[0] + "." + legacy("ada@example.org").split(".")[1],
]


@pytest.mark.parametrize(
    "forge",
    FORGED,
    ids=["empty", "garbage", "other-secret", "altered-mac", "swapped-key", "legacy-other", "legacy-swap"],
)
def test_forged_tokens_are_refused(site: tuple[Request, Store], forge: Callable[[Store], str]) -> None:
    request, store = site
    token = urllib.parse.quote(forge(store))
    assert request(f"/unsubscribe?token={token}", ONE_CLICK)[0] == 400
    assert request(f"/unsubscribe?token={token}")[0] == 400
    assert status(store, "ada@example.org") is SubscriberStatus.ACTIVE
    assert status(store, "bob@example.org") is SubscriberStatus.ACTIVE


@pytest.mark.parametrize(
    "token",
    [tokens.sign(tokens.new_key(), SECRET), tokens.sign(None, SECRET), legacy("eve@example.org", SECRET)],
    ids=["unknown-key", "nobody", "legacy-unknown"],
)
def test_a_genuine_token_of_nobody_on_the_list_changes_nothing(
    site: tuple[Request, Store], token: str
) -> None:
    request, store = site
    code, page = request(f"/unsubscribe?token={token}", ONE_CLICK)
    assert code == 404
    assert "not on the list" in page
    assert {s.email: s.status for s in store.subscribers()} == {
        "ada@example.org": SubscriberStatus.ACTIVE,
        "bob@example.org": SubscriberStatus.ACTIVE,
    }


def test_links_in_emails_already_sent_keep_working(site: tuple[Request, Store]) -> None:
    """A token from before subscriber keys (the address in base64) still unsubscribes, and a
    manage one still shows the preferences: looked up by the address, the primary key."""
    request, store = site
    code, page = request(f"/prefs?token={legacy('bob@example.org', SECRET, tokens.MANAGE)}")
    assert code == 200
    assert "Settings for <strong>bob@example.org</strong>" in page
    code, _ = request(f"/unsubscribe?token={legacy('Ada@Example.org', SECRET)}", ONE_CLICK)
    assert code == 200
    assert status(store, "ada@example.org") is SubscriberStatus.UNSUBSCRIBED


def test_a_manage_token_does_not_unsubscribe_in_one_click(site: tuple[Request, Store]) -> None:
    request, store = site
    code, page = request(f"/unsubscribe?token={sign(store, 'ada@example.org', tokens.MANAGE)}", ONE_CLICK)
    assert code == 200
    assert "Settings for" in page  # the preferences page, not an unsubscribe
    assert status(store, "ada@example.org") is SubscriberStatus.ACTIVE


def test_preferences_choose_topics_and_leave(site: tuple[Request, Store]) -> None:
    request, store = site
    token = sign(store, "bob@example.org", tokens.MANAGE)

    def topics() -> frozenset[str]:
        sub = store.subscriber("bob@example.org")
        assert sub is not None
        return sub.topics

    code, page = request(f"/prefs?token={token}")
    assert code == 200
    assert 'value="World" checked' in page
    assert 'value="Science">' in page
    assert request(f"/prefs/?token={token}")[0] == 200  # the configured URL ends with a slash
    code, page = request(f"/prefs?token={token}", {"topic": "Science"})
    assert "Saved" in page
    assert 'value="Science" checked' in page
    assert topics() == {"Science"}
    request(f"/prefs?token={token}", {"topic": "Not a section"})
    assert topics() == frozenset()
    request(f"/prefs?token={token}", {"leave": "1"})
    assert status(store, "bob@example.org") is SubscriberStatus.UNSUBSCRIBED


def test_unknown_path(site: tuple[Request, Store]) -> None:
    request, _ = site
    assert request("/admin")[0] in (401, 404)  # the desk app asks for its login first


def test_an_oversized_body_is_refused_unread(site: tuple[Request, Store]) -> None:
    request, store = site
    token = sign(store, "ada@example.org")
    code, _ = request(f"/unsubscribe?token={token}", {"pad": "x" * (MAX_BODY + 1)})
    assert code == 413
    assert status(store, "ada@example.org") is SubscriberStatus.ACTIVE


# -- bounded work: indexed lookups only ---------------------------------------------------------


@contextmanager
def statements(store: Store) -> Iterator[list[str]]:
    """Every SQL statement the store runs meanwhile."""
    seen: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        seen.append(" ".join(statement.split()).lower().replace('"', ""))

    event.listen(store.engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(store.engine, "before_cursor_execute", record)


@pytest.mark.parametrize("kind", ["key", "legacy"])
def test_a_request_reads_one_subscriber_by_index_never_the_list(readers: Store, kind: str) -> None:
    """The issue: every request loaded and scanned the whole subscriber list (10.6 s a request
    at 1,000,000). Now one statement by the key's index, or for an old link by the address (the
    primary key), which finds and marks the reader at once."""
    readers.merge_subscribers(Subscriber(f"reader{i}@example.org") for i in range(300))
    client = TestClient(create_app(SETTINGS, readers, environ=ENVIRON), base_url="https://news.example.org")
    token = sign(readers, "ada@example.org") if kind == "key" else legacy("ada@example.org", SECRET)
    with statements(readers) as seen:
        assert client.post(f"/unsubscribe?token={token}", data=ONE_CLICK).status_code == 200
    touching = [s for s in seen if "subscribers" in s]
    assert touching, "the request did not reach the store"
    assert len(touching) <= 2, touching
    for sql in touching:
        assert f"where subscribers.{kind if kind == 'key' else 'email'} = " in sql, sql
    assert status(readers, "ada@example.org") is SubscriberStatus.UNSUBSCRIBED


# -- hosts: absolute URLs never come from the request -----------------------------------------


@pytest.mark.parametrize("path", ["/unsubscribe//?token=x", "/prefs//?token=x", "/unsubscribe?token=x"])
def test_an_unknown_host_is_refused_and_never_reflected(readers: Store, path: str) -> None:
    """The issue: ``/unsubscribe//?token=x`` answered a redirect to ``http://evil.example/…``."""
    for app in (
        create_app(SETTINGS, readers, environ=ENVIRON),
        reader_app(SETTINGS, readers, environ=ENVIRON),
    ):
        evil = TestClient(app, base_url="http://evil.example", follow_redirects=False).get(path)
        assert evil.status_code == 400
        assert "location" not in evil.headers
        assert "evil.example" not in evil.text
        ours = TestClient(app, base_url="https://news.example.org", follow_redirects=False).get(path)
        assert ours.status_code in (400, 404)  # a bad token, or no such page: never a redirect
        assert "location" not in ours.headers


def test_the_configured_and_loopback_hosts_are_answered(readers: Store) -> None:
    token = sign(readers, "ada@example.org")
    app = reader_app(SETTINGS, readers, environ=ENVIRON)
    for base in (
        "https://news.example.org",
        "http://127.0.0.1:8025",
        "http://localhost",
        "http://[::1]:8025",
    ):
        assert TestClient(app, base_url=base).get(f"/unsubscribe?token={token}").status_code == 200, base


def test_link_paths() -> None:
    assert link_paths("https://example.org/unsubscribe", None, "https://example.org/prefs/") == [
        "/prefs",
        "/unsubscribe",
    ]
    assert link_paths("https://example.org/u", "https://example.org/u") == ["/u"]


def test_the_archive_without_its_slash_redirects_to_a_path_never_a_host(readers: Store) -> None:
    app = create_app(SETTINGS, readers, environ=ENVIRON)
    answer = TestClient(app, base_url="https://news.example.org", follow_redirects=False).get("/archive")
    assert answer.status_code == 308
    assert answer.headers["location"] == "/archive/"
