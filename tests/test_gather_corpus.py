"""The shared feed corpus (real captures, feedparser's own cases, hostile feeds) served over
loopback with the HTTP headers MANIFEST.json records, gathered in one run like a real one."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from digest.config import GatherConfig
from digest.gather import GatherResult, gather
from digest.models import Article, FeedSpec
from feed_server import FeedServer, Reply

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
UNSAFE = re.compile(r"<script|<iframe|<object|<embed|<form|\son\w+\s*=|javascript:|vbscript:|data:", re.I)
CORPUS = Path(__file__).resolve().parent.parent.parent / "shared" / "fixtures" / "feeds"


def _manifest() -> list[dict[str, Any]]:
    path = CORPUS / "MANIFEST.json"
    return json.loads(path.read_text("utf-8")) if path.exists() else []


@dataclass(frozen=True)
class Gathered:
    result: GatherResult
    urls: dict[str, str]  # manifest file -> URL served

    def articles(self, file: str) -> list[Article]:
        return [a for a in self.result.articles if a.feed_url == self.urls[file]]


@pytest.fixture(scope="module")
def gathered(shared_dir: Path) -> Iterator[Gathered]:
    server = FeedServer().start()
    urls = {}
    for m in _manifest():
        headers = {"Content-Type": "application/xml", **{k.title(): v for k, v in m["headers"].items()}}
        body = (shared_dir / "fixtures" / "feeds" / m["file"]).read_bytes()
        urls[m["file"]] = server.route("/" + m["file"], Reply(200, body, headers))
    feeds = [FeedSpec(url=u, name=u) for u in urls.values()]
    config = GatherConfig(full_text=False, per_host=8, concurrency=8)
    result = asyncio.run(gather(feeds, config=config, states={}, seen=lambda ids: set(), now=NOW))
    yield Gathered(result, urls)
    server.stop()


@pytest.mark.parametrize("m", _manifest(), ids=lambda m: m["file"])
def test_corpus_feed_matches_manifest(gathered: Gathered, m: dict[str, Any]) -> None:
    url = gathered.urls[m["file"]]
    o = next(o for o in gathered.result.outcomes if o.url == url)
    encoding_only = "CharacterEncoding" in m["bozo_exception"]  # cured by reading text/xml as XML
    if m["entries"] == 0 and ((m["bozo"] and not encoding_only) or not m["version"]):
        assert o.status == "error"
        assert o.error, "a broken feed is reported with a reason"
        return
    assert o.status == "ok", o.error
    assert o.entries == m["entries"]  # bozo feeds that still yield entries are used
    if m["bozo"] and m["entries"] and not encoding_only:
        assert o.warnings, "a bozo feed is used with a warning"
    title = m["feed_title"]
    if m["file"].startswith("sanitize/"):
        # the manifest's titles there are feedparser's sanitizer output; digest strips markup with
        # an HTML5 parser instead (a malformed comment may hide more text), and nothing unsafe stays
        assert o.name == url or not re.search(r"<|alert|script", o.name, re.I), o.name
    elif title and not re.search(r"[<&]", title):
        assert o.name.startswith(" ".join(title.split()))  # decoded like feedparser (chardet, charset)
    articles = gathered.articles(m["file"])
    assert o.new == len(articles) <= o.entries
    undated = sum(a.published == NOW for a in articles)
    assert undated >= (m["entries_without_date"] if len(articles) == m["entries"] else 0)
    for a in articles:
        assert not UNSAFE.search(a.html), a.html[:300]
        assert a.link == "" or a.link.startswith(("http://", "https://"))
        assert "\n" not in a.title
        assert a.published <= NOW
        assert len(a.html) < 1_000_000  # no entity was expanded


def test_corpus_ids_are_unique_and_hostile_links_dropped(gathered: Gathered) -> None:
    ids = [a.id for a in gathered.result.articles]
    assert len(ids) == len(set(ids))
    hostile = gathered.articles("security/hostile_html_and_links.xml")
    assert hostile, "the hostile feed still yields its entries"
    assert all(not a.link.lower().startswith("javascript") for a in hostile)
