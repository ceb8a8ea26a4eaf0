"""``digest gather``: JSON shape, exit codes, summary, and what the store keeps."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner

from digest.cli import main
from digest.store import open_store
from feed_server import FeedServer, Reply
from test_gather import item, rss


@pytest.fixture
def server() -> Iterator[FeedServer]:
    s = FeedServer().start()
    yield s
    s.stop()


def invoke(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, ["gather", *args])
    return result.exit_code, result.stdout, result.stderr


def test_json_output_and_exit_code_one_when_a_feed_fails(server: FeedServer, tmp_path: Path) -> None:
    evil = item(3, description="&lt;p onclick='x()'&gt;hi&lt;script&gt;bad()&lt;/script&gt;&lt;/p&gt;")
    good = server.feed("/good.xml", rss([item(1), item(2), evil]))
    bad = server.route("/missing.xml", Reply(404, b"no"))
    db = str(tmp_path / "d.db")
    code, out, _ = invoke("--feed", good, "--feed", bad, "--db", db, "--json")
    assert code == 1
    data = json.loads(out)
    assert set(data) == {"feeds", "entries"}
    assert data["feeds"] == [
        {"url": good, "status": "ok", "entries": 3, "new": 3, "error": None},
        {"url": bad, "status": "error", "entries": 0, "new": 0, "error": "HTTP 404 Not Found"},
    ]
    assert [set(e) for e in data["entries"]] == [{"id", "feed", "title", "link", "published", "html"}] * 3
    third = data["entries"][2]
    assert third["feed"] == good
    assert "<script" not in third["html"]
    assert "onclick" not in third["html"]
    assert third["published"].startswith("2026-03-02T08:00:00")
    with open_store(db) as store:
        stored = {a.id: a for a in store.articles_since(datetime(2000, 1, 1, tzinfo=UTC))}
        assert stored[third["id"]].html == third["html"]  # "html" is the content as stored
        states = store.feed_states()
        assert states[bad].failures == 1
        assert states[bad].last_error == "HTTP 404 Not Found"
        assert states[good].failures == 0
        assert states[good].etag


def test_second_run_stores_nothing_new_and_reports_not_modified(server: FeedServer, tmp_path: Path) -> None:
    url = server.feed("/feed.xml", rss([item(1)]))
    db = str(tmp_path / "d.db")
    assert invoke("--feed", url, "--db", db, "--json")[0] == 0
    code, out, _ = invoke("--feed", url, "--db", db, "--json")
    assert code == 0
    assert json.loads(out) == {
        "feeds": [{"url": url, "status": "not_modified", "entries": 0, "new": 0, "error": None}],
        "entries": [],
    }


def test_readable_summary_on_stderr(server: FeedServer, tmp_path: Path) -> None:
    url = server.feed("/feed.xml", rss([item(1), item(2)], title="Readable News"))
    bad = server.route("/boom.xml", Reply(500, b""))
    code, out, err = invoke("--feed", url, "--feed", bad, "--db", str(tmp_path / "d.db"))
    assert code == 1
    assert out == ""
    assert "Readable News" in err
    assert "1 failure in a row" in err
    assert f"failed {bad}: HTTP 500" in " ".join(err.split())
    assert "2 feeds (1 failed), 2 new entries" in err


def test_config_feeds_and_usage_errors(server: FeedServer, tmp_path: Path) -> None:
    url = server.feed("/feed.xml", rss([item(1)]))
    cfg = tmp_path / "digest.toml"
    cfg.write_text(f'store = "d.db"\n[[feeds]]\nurl = "{url}"\nname = "Configured"\n', "utf-8")
    code, out, _ = invoke("--config", str(cfg), "--json")
    assert code == 0
    assert json.loads(out)["feeds"][0]["url"] == url
    assert (tmp_path / "d.db").exists()
    empty = tmp_path / "empty.toml"
    empty.write_text('store = "e.db"\n', "utf-8")
    code, _, err = invoke("--config", str(empty))
    assert code == 2
    assert "no feeds" in err
    bad = tmp_path / "bad.toml"
    bad.write_text("[gather]\nconcurrency = 0\n", "utf-8")
    code, _, err = invoke("--config", str(bad))
    assert code == 2
    assert "gather.concurrency" in err
