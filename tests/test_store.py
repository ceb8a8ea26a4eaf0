"""The store through its API, on SQLite and on PostgreSQL; races between processes on one store."""

from __future__ import annotations

import multiprocessing
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import insert

from digest.errors import StorageError
from digest.models import Article, Condensed, FeedState, KeyPoint, Subscriber
from digest.store import Store, open_store, schema

NOW = datetime(2026, 11, 26, 7, 0, tzinfo=UTC)


def article(i: int, published: datetime = NOW) -> Article:
    return Article(
        id=f"urn:test:{i}",
        feed_url="https://example.org/feed",
        feed_name="Example",
        title=f"Title {i}",
        link=f"https://example.org/{i}",
        published=published,
        html=f"<p>Body {i}</p>",
        text=f"Body {i}",
    )


def test_migrations_are_recorded_and_idempotent(store_url: str) -> None:
    with open_store(store_url) as store:
        assert store.migrate() == max(v for v, _, _ in schema.MIGRATIONS)
    with open_store(store_url) as store:  # reopening applies nothing twice
        store.migrate()
        assert store.applied_migrations() == {v for v, _, _ in schema.MIGRATIONS}


def test_a_sqlite_store_is_in_wal_mode(tmp_path: Path) -> None:
    db = tmp_path / "d.db"
    open_store(db).close()
    assert sqlite3.connect(db).execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_newer_schema_is_refused(store: Store, store_url: str) -> None:
    with store.begin() as conn:
        conn.execute(insert(schema.schema_version).values(version=999, name="future", applied=NOW))
    with pytest.raises(StorageError, match="newer than this digest"):
        open_store(store_url)


def test_articles_are_stored_once(store: Store) -> None:
    assert len(store.add_articles([article(1), article(2), article(1)], now=NOW)) == 2
    assert store.add_articles([article(2), article(3)], now=NOW) == [article(3)]
    assert store.seen_ids(["urn:test:1", "urn:test:9"]) == {"urn:test:1"}
    old = article(4, NOW - timedelta(days=5))
    store.add_articles([old], now=NOW)
    recent = store.articles_since(NOW - timedelta(days=1))
    assert {a.id for a in recent} == {"urn:test:1", "urn:test:2", "urn:test:3"}
    assert all(a.published.tzinfo is not None for a in recent)


def test_feed_state_round_trip(store: Store) -> None:
    state = FeedState(
        url="https://example.org/feed", etag='"abc"', last_modified="Wed, 25 Nov 2026", failures=2
    )
    store.save_feed_states([state], names={state.url: "Example"})
    store.save_feed_states([state])
    assert store.feed_states([state.url]) == {state.url: state}


def test_condensation_cache(store: Store) -> None:
    c = Condensed("H", "S.", (KeyPoint("a", 0), KeyPoint("b", 1)), backend="llm")
    assert store.cached_condensation("k") is None
    store.cache_condensation("k", c)
    store.cache_condensation("k", c)
    assert store.cached_condensation("k") == c


def test_signing_secret_is_kept(store_url: str) -> None:
    with open_store(store_url) as store:
        first = store.signing_secret({}, "DIGEST_SECRET")
    with open_store(store_url) as store:
        assert store.signing_secret({}, "DIGEST_SECRET") == first
        assert store.signing_secret({"DIGEST_SECRET": "x"}, "DIGEST_SECRET") == b"x"
    assert len(first) >= 32


def test_an_import_never_resubscribes_and_counts_what_it_did(store: Store) -> None:
    from digest.models import SubscriberStatus

    assert store.merge_subscribers([Subscriber("a@x.org", "A"), Subscriber("b@x.org", "B")]) == (2, 0)
    store.set_subscriber_status("a@x.org", SubscriberStatus.UNSUBSCRIBED)
    gone = Subscriber("b@x.org", "B", status=SubscriberStatus.BOUNCED)
    assert store.merge_subscribers([Subscriber("a@x.org", "Ada"), gone, Subscriber("c@x.org")]) == (1, 2)
    found = {s.email: (s.name, s.status.value) for s in store.subscribers()}
    assert found == {
        "a@x.org": ("Ada", "unsubscribed"),
        "b@x.org": ("B", "bounced"),
        "c@x.org": ("", "active"),
    }


def test_folders_of_a_sqlite_url_are_created(tmp_path: Path) -> None:
    db = tmp_path / "a" / "b" / "d.db"
    with open_store(f"sqlite:///{db}") as store:
        store.migrate()
    assert db.exists()


def test_storage_errors_are_one_line(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x", encoding="utf-8")
    with pytest.raises(StorageError) as info:
        open_store(blocker / "d.db")  # a file where a folder should be
    assert "\n" not in str(info.value)
    assert str(blocker) in str(info.value)


def test_a_failed_statement_is_one_line_without_sql_or_values(store: Store) -> None:
    with pytest.raises(StorageError) as info, store.begin() as conn:
        conn.execute(insert(schema.meta).values(key="k", value=None))  # NOT NULL
    message = str(info.value)
    assert "\n" not in message
    assert "INSERT" not in message.upper().split(":", 1)[1]
    assert "meta" in message or "NOT NULL" in message.upper()


# -- several processes on one store at once ----------------------------------------------------


def _open_and_use(url: str, n: int, barrier: object) -> str:
    barrier.wait()  # type: ignore[attr-defined]
    with open_store(url) as store:
        store.merge_subscribers([Subscriber(f"r{i:04d}@x.org") for i in range(n)])
        store.plan_deliveries("2026-01-05", [f"r{i:04d}@x.org" for i in range(n)])
        store.cache_condensation("k", Condensed("H", "S.", (), backend="extractive"))
        secret = store.signing_secret({}, "DIGEST_SECRET")
        store.record_hard_failure("r0000@x.org", bounce_after=100)
    return secret.decode()


@pytest.mark.slow
def test_processes_racing_on_an_empty_store_all_succeed_and_agree(store_url: str) -> None:
    """Schema creation, subscriber import, planning, the cache, the signing secret and the
    failure count, from four processes at once, none failing on a key it did not expect."""
    if store_url.startswith("sqlite"):
        Path(store_url.removeprefix("sqlite:///")).unlink(missing_ok=True)  # not even created yet
    ctx = multiprocessing.get_context("spawn")
    with ctx.Manager() as manager:
        barrier = manager.Barrier(4)
        with ctx.Pool(4) as pool:
            secrets = pool.starmap(_open_and_use, [(store_url, 300, barrier)] * 4)
    assert len(set(secrets)) == 1
    with open_store(store_url) as store:
        assert store.count_subscribers() == 300
        assert store.delivery_counts("2026-01-05") == {"pending": 300}
        assert not store.record_hard_failure("r0000@x.org", bounce_after=6)  # 4 counted, this is 5
        assert store.record_hard_failure("r0000@x.org", bounce_after=6)
