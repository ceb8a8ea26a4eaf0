from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from digest.errors import StorageError
from digest.models import Article, Condensed, FeedState, KeyPoint
from digest.store import open_store, schema

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


def test_migrations_are_recorded_and_idempotent(tmp_path: Path) -> None:
    db = tmp_path / "d.db"
    with open_store(db) as store:
        assert store.migrate() == max(v for v, _, _ in schema.MIGRATIONS)
    with open_store(db) as store:  # reopening applies nothing twice
        store.migrate()
    con = sqlite3.connect(db)
    assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert con.execute("select count(*) from digest_schema").fetchone()[0] == len(schema.MIGRATIONS)


def test_newer_schema_is_refused(tmp_path: Path) -> None:
    db = tmp_path / "d.db"
    open_store(db).close()
    con = sqlite3.connect(db)
    con.execute("insert into digest_schema values (999, 'future', '2030-01-01')")
    con.commit()
    with pytest.raises(StorageError, match="newer than this digest"):
        open_store(db)


def test_articles_are_stored_once(tmp_path: Path) -> None:
    with open_store(tmp_path / "d.db") as store:
        assert len(store.add_articles([article(1), article(2), article(1)], now=NOW)) == 2
        assert store.add_articles([article(2), article(3)], now=NOW) == [article(3)]
        assert store.seen_ids(["urn:test:1", "urn:test:9"]) == {"urn:test:1"}
        old = article(4, NOW - timedelta(days=5))
        store.add_articles([old], now=NOW)
        recent = store.articles_since(NOW - timedelta(days=1))
        assert {a.id for a in recent} == {"urn:test:1", "urn:test:2", "urn:test:3"}
        assert all(a.published.tzinfo is not None for a in recent)


def test_feed_state_round_trip(tmp_path: Path) -> None:
    state = FeedState(
        url="https://example.org/feed", etag='"abc"', last_modified="Wed, 25 Nov 2026", failures=2
    )
    with open_store(tmp_path / "d.db") as store:
        store.save_feed_states([state], names={state.url: "Example"})
        store.save_feed_states([state])
        assert store.feed_states([state.url]) == {state.url: state}


def test_condensation_cache(tmp_path: Path) -> None:
    c = Condensed("H", "S.", (KeyPoint("a", 0), KeyPoint("b", 1)), backend="llm")
    with open_store(tmp_path / "d.db") as store:
        assert store.cached_condensation("k") is None
        store.cache_condensation("k", c)
        store.cache_condensation("k", c)
        assert store.cached_condensation("k") == c


def test_signing_secret_is_kept(tmp_path: Path) -> None:
    with open_store(tmp_path / "d.db") as store:
        first = store.signing_secret({}, "DIGEST_SECRET")
    with open_store(tmp_path / "d.db") as store:
        assert store.signing_secret({}, "DIGEST_SECRET") == first
        assert store.signing_secret({"DIGEST_SECRET": "x"}, "DIGEST_SECRET") == b"x"
    assert len(first) >= 32


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
