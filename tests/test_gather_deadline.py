"""The gather deadline: past it, pending full-text fetches are abandoned (the snippets are
used, and counted) and pending feeds are errors; whatever was fetched in time is used.

The servers here drip one byte every half second for minutes: the deadline (a few seconds)
is generous for every fast reply and far shorter than any slow one, so no assertion depends
on how fast the machine is.
"""

from __future__ import annotations

import asyncio
import io
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from rich.console import Console

from digest.cli.display import print_summary
from digest.config import GatherConfig, parse_config
from digest.errors import ConfigError
from digest.models import FeedState
from digest.pipeline import RunContext, RunSummary, gather_into_store
from digest.store import open_store
from feed_server import FeedServer, Handler, Reply, Request, drip
from test_gather import NOW, item, outcome, rss, run

DEADLINE = 3.0
SLOW_PAGE = b"<html><body><p>" + b"x" * 400 + b"</p></body></html>"  # 200 s at one byte per 0.5 s


@pytest.fixture
def server() -> Iterator[FeedServer]:
    s = FeedServer().start()
    yield s
    s.stop()


def _dripping(content_type: str, body: bytes) -> Handler:
    def handle(_req: Request) -> Reply:
        return Reply(200, drip(body, 0.5), {"Content-Type": content_type})

    return handle


def _slow_links_feed(server: FeedServer, links: int) -> str:
    """A fast feed whose entries are snippets linking to pages on one host that drip."""
    for i in range(links):
        server.route(f"/drip/{i}", _dripping("text/html", SLOW_PAGE))
    entries = [
        item(i, link=server.url(f"/drip/{i}"), guid=f"d-{i}", description=f"Snippet {i}.")
        for i in range(links)
    ]
    return server.feed("/fast.xml", rss(entries))


def test_the_deadline_abandons_pending_full_text_and_slow_feeds(server: FeedServer) -> None:
    fast = _slow_links_feed(server, 6)
    slow = server.route("/slow.xml", _dripping("application/rss+xml", rss([item(99)])))
    config = GatherConfig(allow_private_addresses=True, deadline=DEADLINE)  # default timeouts: 20 s, 60 s
    state = FeedState(url=slow, etag='"v1"', last_modified="Mon, 02 Mar 2026 08:00:00 GMT")
    result = run([fast, slow], config, states={slow: state})

    assert outcome(result, fast).status == "ok"
    assert sorted(a.text for a in result.articles) == [f"Snippet {i}." for i in range(6)]
    assert result.full_text_abandoned == 6  # 1 was downloading, 5 queued for the host's slots
    late = outcome(result, slow)
    assert (late.status, late.error) == ("error", "gather deadline passed (3 s)")
    [late_state] = [s for s in result.states if s.url == slow]
    assert (late_state.failures, late_state.last_error) == (1, "gather deadline passed (3 s)")
    assert (late_state.etag, late_state.last_modified) == (state.etag, state.last_modified)  # kept


def test_nothing_is_abandoned_when_everything_is_in_time(server: FeedServer) -> None:
    url = server.feed("/f.xml", rss([item(1, link=server.url("/page"), guid="p", description="Snippet.")]))
    server.route("/page", Reply(200, SLOW_PAGE, {"Content-Type": "text/html"}))
    result = run([url], GatherConfig(allow_private_addresses=True, deadline=60))
    assert result.full_text_abandoned == 0
    assert server.hits["/page"] == 1


def test_the_run_summary_says_how_many_full_text_fetches_were_abandoned(
    server: FeedServer, tmp_path: Path
) -> None:
    fast = _slow_links_feed(server, 3)
    settings = parse_config(
        {"feeds": [{"url": fast}], "gather": {"deadline": f"{DEADLINE:g}s", "allow_private_addresses": True}},
        source="digest.toml",
        base_dir=tmp_path,
    )
    summary = RunSummary(edition_id="2026-03-02")
    with open_store(tmp_path / "digest.db") as store:
        asyncio.run(gather_into_store(RunContext(settings, store, now=NOW, environ={}), summary))
    assert summary.full_text_abandoned == 3
    assert summary.new_articles == 3
    assert summary.as_dict()["full_text_abandoned"] == 3
    out = io.StringIO()
    print_summary(Console(file=out, width=200), summary)
    assert "3 full-text fetches abandoned at the gather deadline; snippets used" in out.getvalue()


def test_deadline_is_a_duration_in_the_config(tmp_path: Path) -> None:
    def gather(value: object) -> GatherConfig:
        return parse_config({"gather": {"deadline": value}}, source="digest.toml", base_dir=tmp_path).gather

    assert GatherConfig().deadline == timedelta(minutes=3)
    assert gather("90s").deadline == timedelta(seconds=90)
    assert gather("1m30s").deadline == timedelta(seconds=90)
    assert gather(45).deadline == timedelta(seconds=45)
    for bad in ("0", "soon", -5):
        with pytest.raises(ConfigError, match=r"gather\.deadline"):
            gather(bad)
