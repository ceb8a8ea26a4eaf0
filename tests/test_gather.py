"""The gather stage against a real HTTP server on loopback: faults, conditional GET,
redirects, limits, identity and deduplication, dates, full text and the SSRF guard."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from digest import __version__
from digest.config import GatherConfig
from digest.gather import GatherResult, gather
from digest.models import FeedSpec, FeedState
from digest.store import open_store
from feed_server import FeedServer, Reply

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
FAST = GatherConfig(connect_timeout=2, read_timeout=0.5, total_timeout=3, full_text=False)
UNSAFE_HTML = re.compile(r"<script|<iframe|<object|<embed|\son\w+\s*=|javascript:|vbscript:|data:", re.I)


def rss(items: Iterable[dict[str, str]], title: str = "Test feed", encoding: str = "utf-8") -> bytes:
    """A small RSS 2.0 document; item keys are element names (``description`` is escaped HTML)."""
    parts = []
    for item in items:
        inner = "".join(f"<{k}>{v}</{k}>" for k, v in item.items())
        parts.append(f"<item>{inner}</item>")
    doc = (
        f'<?xml version="1.0" encoding="{encoding}"?>\n<rss version="2.0"><channel><title>{title}</title>'
        f"<link>https://news.example.org/</link><description>d</description>{''.join(parts)}</channel></rss>"
    )
    return doc.encode(encoding)


def item(n: int, **extra: str) -> dict[str, str]:
    base = {
        "title": f"Story number {n}",
        "link": f"https://news.example.org/story/{n}",
        "guid": f"https://news.example.org/story/{n}",
        "pubDate": "Mon, 02 Mar 2026 08:00:00 GMT",
        "description": f"&lt;p&gt;Body of story {n}.&lt;/p&gt;",
    }
    return {**base, **extra}


@pytest.fixture
def server() -> Iterator[FeedServer]:
    s = FeedServer().start()
    yield s
    s.stop()


def run(
    urls: Sequence[str],
    config: GatherConfig = FAST,
    states: dict[str, FeedState] | None = None,
    seen: set[str] | None = None,
    now: datetime = NOW,
) -> GatherResult:
    known = seen or set()
    return asyncio.run(
        gather(
            [FeedSpec(url=u, name=u) for u in urls],
            config=config,
            states=states or {},
            seen=lambda ids: known & set(ids),
            now=now,
        )
    )


def outcome(result: GatherResult, url: str):  # type: ignore[no-untyped-def]
    return next(o for o in result.outcomes if o.url == url)


def test_faults_are_reported_with_url_and_reason_and_never_stop_good_feeds(server: FeedServer) -> None:
    good = server.feed("/good.xml", rss([item(1), item(2)]))
    bomb = (
        b'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY a "aaaaaaaaaa">'
        + b"".join(b'<!ENTITY a%d "%s">' % (i + 1, (b"&a%d;" % i if i else b"&a;") * 10) for i in range(9))
        + b']><rss version="2.0"><channel><title>&a9;</title><item><title>x</title>'
        b"<description>&a9;</description></item></channel></rss>"
    )
    faults = {
        "/404": (Reply(404, b"gone"), "HTTP 404"),
        "/500": (Reply(500, b"oops"), "HTTP 500"),
        "/slow": (Reply(200, rss([item(3)]), delay=2.0), "timeout"),
        "/huge": (Reply(200, b"x" * (50 * 1024 * 1024)), "limit"),
        "/huge-stream": (Reply(200, (b"<" * 65536 for _ in range(800))), "limit"),
        "/loop-a": (Reply(302, headers={"Location": "/loop-b"}), "redirect loop"),
        "/loop-b": (Reply(302, headers={"Location": "/loop-a"}), "redirect loop"),
        "/html": (Reply(200, b"<html><body><p>not a feed</p></body></html>"), "not a"),
        "/empty": (Reply(200, b""), "empty"),
        "/js-redirect": (Reply(301, headers={"Location": "javascript:alert(1)"}), "refused"),
        "/file-redirect": (Reply(302, headers={"Location": "file:///etc/passwd"}), "not an http(s) URL"),
    }
    urls = [good, server.route("/bomb", Reply(200, bomb, {"Content-Type": "text/xml"}))]
    urls += [server.route(path, reply) for path, (reply, _) in faults.items()]
    config = GatherConfig(connect_timeout=2, read_timeout=0.5, total_timeout=5, full_text=False)
    result = run(urls, config)
    assert outcome(result, good).status == "ok"
    assert {a.title for a in result.articles} >= {"Story number 1", "Story number 2"}
    for path, (_, reason) in faults.items():
        o = outcome(result, server.url(path))
        assert o.status == "error", path
        assert reason in (o.error or ""), (path, o.error)
    bombed = outcome(result, server.url("/bomb"))  # parsed without expansion, or refused: never expanded
    assert all(len(a.html) < 10_000 and len(a.title) < 1_000 for a in result.articles)
    assert bombed.status in ("ok", "error")
    assert result.failed
    failures = {s.url: s.failures for s in result.states}
    assert failures == {u: 0 if outcome(result, u).status == "ok" else 1 for u in urls}


def test_wrong_charset_still_decodes(server: FeedServer) -> None:
    body = rss([item(1, title="Café crème in Zürich")], title="Señal", encoding="cp1252")
    body = body.replace(b' encoding="cp1252"', b"")  # no declaration, and the server lies
    url = server.feed("/charset.xml", body, "text/xml; charset=utf-8")
    result = run([url])
    assert [a.title for a in result.articles] == ["Café crème in Zürich"]
    assert result.outcomes[0].name == "Señal"


def test_conditional_get_second_run_costs_nothing(server: FeedServer) -> None:
    url = server.feed("/etag.xml", rss([item(1), item(2)]), "application/rss+xml", **{"Last-Modified": "x"})
    first = run([url])
    state = first.states[0]
    assert first.outcomes[0].status == "ok"
    assert state.etag
    assert state.last_success == NOW
    later = NOW + timedelta(hours=1)
    second = run([url], states={url: state}, now=later)
    assert second.outcomes[0].status == "not_modified"
    assert second.articles == ()
    assert second.states[0].etag == state.etag
    assert second.states[0].last_success == later
    assert server.requests[-1].headers["if-none-match"] == state.etag
    assert server.requests[-1].headers["if-modified-since"] == "x"


def test_user_agent_names_digest_and_gzip_is_accepted(server: FeedServer) -> None:
    url = server.route(
        "/gz.xml", Reply(200, rss([item(1)]), {"Content-Type": "application/rss+xml", "X-Gzip": "1"})
    )
    result = run([url])
    assert result.outcomes[0].status == "ok"
    assert len(result.articles) == 1
    req = server.requests[-1]
    assert req.headers["user-agent"].startswith(f"digest/{__version__}")
    assert "gzip" in req.headers["accept-encoding"]


def test_permanent_redirect_is_recorded_and_followed_next_time(server: FeedServer) -> None:
    target = server.feed("/new-home.xml", rss([item(1)]))
    old = server.route("/old.xml", Reply(301, headers={"Location": "/new-home.xml"}))
    temp = server.route("/temp.xml", Reply(302, headers={"Location": "/new-home.xml"}))
    first = run([old, temp])
    moved = {s.url: s.moved_to for s in first.states}
    assert moved == {old: target, temp: None}
    server.reset_counts()
    run([old], states={old: first.states[0]})
    assert server.hits["/old.xml"] == 0
    assert server.hits["/new-home.xml"] == 1


def test_health_counts_consecutive_failures_and_resets(server: FeedServer) -> None:
    url = server.route("/flaky.xml", Reply(503, b"busy"))
    s1 = run([url]).states[0]
    s2 = run([url], states={url: s1}).states[0]
    assert (s2.failures, s2.last_error, s2.last_error_at) == (2, "HTTP 503 Service Unavailable", NOW)
    server.feed("/flaky.xml", rss([item(1)]))
    s3 = run([url], states={url: s2}).states[0]
    assert (s3.failures, s3.last_success, s3.last_error) == (0, NOW, "HTTP 503 Service Unavailable")


def test_per_host_and_global_limits_hold(server: FeedServer) -> None:
    urls = [server.route(f"/slowish/{i}.xml", Reply(200, rss([item(i)]), delay=0.15)) for i in range(8)]
    config = GatherConfig(concurrency=8, per_host=2, full_text=False)
    result = run(urls, config)
    assert not result.failed
    assert server.peak == 2  # all on one host: never more than per_host at once, and both used


def test_nothing_is_gathered_twice_across_feeds_and_runs(server: FeedServer, tmp_path: Path) -> None:
    shared = [item(1), item(2, link="https://www.news.example.org/story/2?utm_source=rss#top", guid="")]
    a = server.feed("/a.xml", rss(shared))
    b = server.feed("/b.xml", rss([item(1), item(2, guid=""), item(3)]))
    with open_store(tmp_path / "digest.db") as store:
        first = asyncio.run(
            gather(
                [FeedSpec(a, "A"), FeedSpec(b, "B")],
                config=FAST,
                states={},
                seen=store.seen_ids,
                now=NOW,
            )
        )
        ids = [x.id for x in first.articles]
        assert len(ids) == len(set(ids)) == 3
        assert sum(o.new for o in first.outcomes) == 3
        store.add_articles(first.articles, now=NOW)
        again = asyncio.run(gather([FeedSpec(b, "B")], config=FAST, states={}, seen=store.seen_ids, now=NOW))
        assert again.articles == ()
        assert again.outcomes[0].new == 0
        assert again.outcomes[0].entries == 3


def test_dates_missing_get_first_seen_and_future_are_clamped(server: FeedServer) -> None:
    future = (NOW + timedelta(days=30)).strftime("%a, %d %b %Y %H:%M:%S GMT")
    undated = item(1)
    del undated["pubDate"]
    url = server.feed("/dates.xml", rss([undated, item(2, pubDate=future), item(3)]))
    published = {a.title: a.published for a in run([url]).articles}
    assert published["Story number 1"] == NOW
    assert published["Story number 2"] == NOW
    assert published["Story number 3"] == datetime(2026, 3, 2, 8, 0, tzinfo=UTC)


def test_hostile_entries_are_sanitized(server: FeedServer) -> None:
    evil = item(
        1,
        title="&lt;script&gt;alert(1)&lt;/script&gt; Headline",
        link="javascript:alert(document.cookie)",
        guid="evil-1",
        description=(
            "&lt;p onclick='x()'&gt;Hi &lt;a href='javascript:alert(1)'&gt;x&lt;/a&gt;"
            "&lt;img src=x onerror=alert(1)&gt;&lt;iframe src='https://e.example'&gt;&lt;/iframe&gt;"
            "&lt;a href='https://ok.example/'&gt;ok&lt;/a&gt;&lt;/p&gt;"
        ),
    )
    url = server.feed("/evil.xml", rss([evil]))
    [article] = run([url]).articles
    assert not UNSAFE_HTML.search(article.html)
    assert 'href="https://ok.example/"' in article.html
    assert article.link == ""
    assert article.title == "<script>alert(1)</script> Headline"  # plain text, escaped at render time


def test_local_files_and_file_urls_and_unchanged_files(tmp_path: Path) -> None:
    path = tmp_path / "feed.xml"
    path.write_bytes(rss([item(1), item(2)]))
    first = run([str(path), path.as_uri()])
    assert [o.status for o in first.outcomes] == ["ok", "ok"]
    assert len(first.articles) == 2  # the second feed is the same file: nothing new
    second = run([str(path)], states={str(path): first.states[0]})
    assert second.outcomes[0].status == "not_modified"
    missing = run([str(tmp_path / "nope.xml")]).outcomes[0]
    assert missing.status == "error"
    assert "cannot read" in (missing.error or "")


PAGE = """<html><head><title>Rover finds clay</title></head><body>
<nav><a href="/">Home</a> | <a href="/science">Science</a></nav>
<article><h1>Rover finds clay in ancient crater</h1>
{paras}
</article><footer>Subscribe to our newsletter. Cookie settings. All rights reserved.</footer></body></html>"""


def _page() -> bytes:
    para = (
        "<p>The rover drilled into a layered rock face on the crater floor on Tuesday and found clay "
        "minerals that form only in standing water, mission scientists said, adding that sample {n} "
        "would be cached for a later return flight.</p>"
    )
    return PAGE.format(paras="\n".join(para.format(n=n) for n in range(8))).encode()


def test_full_text_replaces_snippets_and_guard_refuses_private_links(server: FeedServer) -> None:
    page = server.route("/article/1", Reply(200, _page(), {"Content-Type": "text/html; charset=utf-8"}))
    url = server.feed("/snippets.xml", rss([item(1, link=page, guid="a-1", description="Rover finds clay.")]))
    allowed = GatherConfig(allow_private_addresses=True, full_text_min_words=120)
    [article] = run([url], allowed).articles
    assert "cached for a later return flight" in article.text
    assert "Cookie settings" not in article.text
    assert "<p>" in article.html
    assert server.hits["/article/1"] == 1
    server.reset_counts()
    [guarded] = run([url], GatherConfig(full_text_min_words=120)).articles  # default: guard on
    assert guarded.text == "Rover finds clay."  # the snippet is kept
    assert server.hits["/article/1"] == 0  # refused before any connection
    assert server.hits["/snippets.xml"] == 1  # the editor's own feed URL is trusted


def test_full_text_is_fetched_only_for_new_entries(server: FeedServer) -> None:
    page = server.route("/article/2", Reply(200, _page(), {"Content-Type": "text/html"}))
    url = server.feed("/s2.xml", rss([item(2, link=page, guid="b-2", description="Short.")]))
    config = GatherConfig(allow_private_addresses=True)
    [first] = run([url], config).articles
    server.reset_counts()
    again = run([url], config, seen={first.id})
    assert again.articles == ()
    assert again.outcomes[0].entries == 1
    assert server.hits["/s2.xml"] == 1
    assert server.hits["/article/2"] == 0


def test_a_named_feed_that_redirects_to_another_host_is_guarded(server: FeedServer) -> None:
    good = server.feed("/target.xml", rss([item(1)]))
    elsewhere = good.replace("127.0.0.1", "localhost")  # another host name, a loopback address
    hop = server.route("/hop", Reply(301, headers={"Location": elsewhere}))
    same = server.route("/same-host", Reply(301, headers={"Location": "/target.xml"}))
    result = run([hop, same])
    refused = outcome(result, hop)
    assert refused.status == "error"
    assert "refused" in (refused.error or "")
    assert outcome(result, same).status == "ok"  # the host the editor named stays trusted
    allowed = run([hop], GatherConfig(full_text=False, allow_private_addresses=True))
    assert allowed.outcomes[0].status == "ok"
