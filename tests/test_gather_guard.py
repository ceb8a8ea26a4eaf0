"""The SSRF guard where a feed's own URL changes: a permanent redirect recorded on an earlier
run is checked again on every run, like any link (its host's address may have changed)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from digest.config import GatherConfig
from digest.models import FeedState
from feed_server import FeedServer
from test_gather import item, rss, run


@pytest.fixture
def server() -> Iterator[FeedServer]:
    s = FeedServer().start()
    yield s
    s.stop()


def test_a_recorded_move_to_another_host_is_guarded_on_later_runs(server: FeedServer) -> None:
    target = server.feed("/moved.xml", rss([item(1)]))
    elsewhere = target.replace("127.0.0.1", "localhost")  # another host name, a loopback address
    named = server.url("/feed.xml")
    recorded = FeedState(url=named, moved_to=elsewhere, etag='"e"')
    result = run([named], states={named: recorded})
    [outcome] = result.outcomes
    assert outcome.status == "error"
    assert "refused" in (outcome.error or "")
    assert server.hits["/moved.xml"] == 0  # refused before any connection
    assert result.states[0].moved_to is None  # the next run asks the URL the editor named


def test_a_recorded_move_on_the_named_host_stays_trusted(server: FeedServer) -> None:
    target = server.feed("/moved.xml", rss([item(1)]))
    named = server.url("/feed.xml")
    result = run([named], states={named: FeedState(url=named, moved_to=target)})
    assert result.outcomes[0].status == "ok"
    assert server.hits == {"/moved.xml": 1}
    elsewhere = target.replace("127.0.0.1", "localhost")
    allowed = GatherConfig(full_text=False, allow_private_addresses=True)
    result = run([named], allowed, states={named: FeedState(url=named, moved_to=elsewhere)})
    assert result.outcomes[0].status == "ok"
