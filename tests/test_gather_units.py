"""Pure parts of gathering: identity, sanitizing, defusing, the SSRF guard's address check,
the feed-state decisions and snippet detection."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import httpx
import pytest

from digest.config import GatherConfig
from digest.gather._clean import plain_title, safe_link, sanitize_html
from digest.gather._fetch import Fetcher, FetchError
from digest.gather._fulltext import is_snippet, text_size
from digest.gather._guard import is_public_address
from digest.gather._identity import canonical_link, entry_id
from digest.gather._parse import ParseError, defuse, parse_feed
from digest.gather._state import after_error, after_fetch, conditional_headers, fetch_url
from digest.htmltext import html_to_text
from digest.models import FeedSpec, FeedState

NOW = datetime(2026, 3, 2, tzinfo=UTC)


@pytest.mark.parametrize(
    ("url", "canonical"),
    [
        ("HTTPS://WWW.Example.COM:443/a?utm_source=x&id=3&fbclid=y#frag", "https://example.com/a?id=3"),
        ("http://example.com", "http://example.com/"),
        ("http://example.com:8080/x?b=2&a=1", "http://example.com:8080/x?b=2&a=1"),
    ],
)
def test_canonical_link(url: str, canonical: str) -> None:
    assert canonical_link(url) == canonical


def test_entry_id_prefers_guid_then_link_then_hash() -> None:
    feed = "https://feed.example/rss"
    assert (
        entry_id(guid="tag:x.org,2026:1", link="https://a/b", feed_url=feed, title="", text="")
        == "tag:x.org,2026:1"
    )
    assert entry_id(guid="42", link="", feed_url=feed, title="", text="") == f"{feed}#42"
    assert entry_id(
        guid=None, link="https://www.a.org/b?utm_medium=rss", feed_url=feed, title="", text=""
    ) == ("https://a.org/b")
    h1 = entry_id(guid=None, link="", feed_url=feed, title="T", text="same  text")
    assert h1 == entry_id(guid="", link="", feed_url="other", title="T", text="same text")
    assert h1.startswith("sha256:")


@pytest.mark.parametrize(
    "hostile",
    [
        "<script>alert(1)</script>",
        "<img src=x onerror=alert(1)>",
        "<a href='javascript:alert(1)'>x</a>",
        "<a href=' JaVaScRiPt:alert(1)'>x</a>",
        "<iframe src='https://evil.example'></iframe>",
        "<svg onload=alert(1)><circle/></svg>",
        "<form action='https://evil.example'><input></form>",
        "<div style='background:url(javascript:alert(1))'>x</div>",
        "<object data='data:text/html;base64,PHNjcmlwdD4='></object>",
        "<a href='data:text/html,<script>alert(1)</script>'>x</a>",
        "<math><mi xlink:href='javascript:alert(1)'>x</mi></math>",
    ],
)
def test_sanitize_drops_scripts_handlers_and_unsafe_urls(hostile: str) -> None:
    out = sanitize_html(f"<p>keep</p>{hostile}")
    assert "keep" in out
    low = out.lower()
    for bad in ("<script", "onerror", "onload", "javascript:", "<iframe", "<form", "data:", "style=", "<svg"):
        assert bad not in low


def test_sanitize_keeps_article_markup_and_safe_links() -> None:
    out = sanitize_html(
        '<h2>T</h2><p>A <a href="https://x.org/a">link</a> <a href="mailto:a@b.org">m</a></p>'
    )
    assert 'href="https://x.org/a"' in out
    assert 'href="mailto:a@b.org"' in out
    assert "<h2>" in out
    assert "nofollow" in out


def test_text_and_titles_are_plain() -> None:
    assert html_to_text("<p>One &amp; two</p><p>Three<br>four</p>") == "One & two\n\nThree\n\nfour"
    assert plain_title("<b>Bold</b> &amp; more", "text/html") == "Bold & more"
    assert plain_title("a <b> c\n d", "text/plain") == "a <b> c d"
    assert safe_link("javascript:alert(1)") == ""
    assert safe_link("/relative") == ""
    assert safe_link(" https://x.org/a ") == "https://x.org/a"


def test_defuse_strips_entity_declarations_and_refuses_what_it_cannot_strip() -> None:
    doc = b'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY a "x]>y"><!ENTITY b "&a;&a;">]><rss>&b;</rss>'
    assert defuse(doc) == b'<?xml version="1.0"?><rss>&b;</rss>'
    assert defuse(b"<rss><![CDATA[<!ENTITY in text>]]></rss>") == b"<rss><![CDATA[<!ENTITY in text>]]></rss>"
    with pytest.raises(ParseError, match="refused"):
        defuse('<!DOCTYPE rss [<!ENTITY a "x">]><rss/>'.encode("utf-16"))
    with pytest.raises(ParseError, match="refused"):
        defuse(b'<!DOCTYPE rss [<!ENTITY a "unterminated><rss/>')


def test_quadratic_blowup_stays_small() -> None:
    entity = "A" * 10_000
    doc = f'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY a "{entity}">]>'
    doc += '<rss version="2.0"><channel><title>t</title>'
    doc += "<item><title>x</title><description>" + "&a;" * 5_000 + "</description></item></channel></rss>"
    try:
        feed = parse_feed(doc.encode(), url="http://127.0.0.1/", headers={})
    except ParseError:
        return  # refusing is fine too
    assert all(len(e.html) < 100_000 for e in feed.entries)


@pytest.mark.parametrize(
    ("address", "public"),
    [
        ("93.184.216.34", True),
        ("2606:4700::1111", True),
        ("127.0.0.1", False),
        ("10.1.2.3", False),
        ("172.16.0.1", False),
        ("192.168.1.1", False),
        ("169.254.169.254", False),
        ("100.64.0.1", False),
        ("0.0.0.0", False),
        ("::1", False),
        ("fe80::1", False),
        ("fc00::1", False),
        ("::ffff:127.0.0.1", False),
        ("224.0.0.1", False),
        ("not-an-ip", False),
    ],
)
def test_guard_address_check(address: str, public: bool) -> None:
    assert is_public_address(address) is public


@pytest.mark.parametrize(
    ("address", "public"),
    [
        ("2002:a9fe:a9fe::1", False),  # 6to4 of 169.254.169.254 (the cloud metadata service)
        ("2002:7f00:1::1", False),  # 6to4 of 127.0.0.1
        ("2002:5db8:d822::1", False),  # 6to4 even of a public address: relays, never a web server
        ("2001:0:4136:e378:8000:63bf:3fff:fdd2", False),  # Teredo
        ("64:ff9b::a9fe:a9fe", False),  # NAT64 of 169.254.169.254
        ("64:ff9b::7f00:1", False),  # NAT64 of 127.0.0.1
        ("64:ff9b::5db8:d822", True),  # NAT64 of a public address: what DNS64 answers
        ("64:ff9b:1::5db8:d822", False),  # local-use NAT64
        ("::ffff:169.254.169.254", False),
        ("::ffff:93.184.216.34", True),
        ("::127.0.0.1", False),  # IPv4-compatible (deprecated)
        ("::93.184.216.34", False),
        ("::ffff:0:7f00:1", False),  # IPv4-translated
    ],
)
def test_guard_judges_ipv6_transition_forms(address: str, public: bool) -> None:
    assert is_public_address(address) is public


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:9/",
        "http://localhost:9/x",
        "http://[::1]:9/",
        "http://10.0.0.1:9/",
        "http://[2002:a9fe:a9fe::1]:9/",
        "http://[64:ff9b::a9fe:a9fe]:9/",
    ],
)
def test_guarded_fetch_refuses_private_hosts_before_connecting(url: str) -> None:
    async def go() -> None:
        async with Fetcher(GatherConfig(connect_timeout=1)) as f:
            await f.fetch(url, trusted=False)

    with pytest.raises(FetchError, match="refused"):
        asyncio.run(go())


def test_guarded_transport_still_uses_the_guard() -> None:
    """httpx has no public switch for the network backend: this pins the one digest uses."""
    from digest.gather._guard import GuardedBackend, guarded_transport

    transport = guarded_transport(httpx.Limits(), httpx.create_ssl_context())
    assert isinstance(transport._pool._network_backend, GuardedBackend)


def test_state_decisions() -> None:
    spec = FeedSpec(url="https://a.org/feed", name="A")
    s0 = FeedState(url=spec.url)
    assert conditional_headers(spec, s0) == {}
    s1 = after_fetch(s0, now=NOW, etag='"e"', last_modified="Mon", moved_to="https://b.org/feed")
    assert conditional_headers(spec, s1) == {"If-None-Match": '"e"', "If-Modified-Since": "Mon"}
    assert fetch_url(spec, s1) == "https://b.org/feed"
    s2 = after_error(s1, now=NOW, reason="HTTP 404 Not Found")
    assert (s2.failures, s2.moved_to, s2.etag, fetch_url(spec, s2)) == (1, None, None, spec.url)
    assert after_error(s2, now=NOW, reason="x").failures == 2
    # a "move" that is not an http(s) URL (a hand-edited store) is never followed
    assert fetch_url(spec, FeedState(url=spec.url, moved_to="/etc/passwd")) == spec.url
    assert fetch_url(spec, FeedState(url=spec.url, moved_to="file:///etc/passwd")) == spec.url


def test_snippets_count_cjk_characters() -> None:
    assert text_size("one two three") == 3
    assert text_size("日本の地震") == 5
    assert is_snippet("word " * 50, 120)
    assert not is_snippet("word " * 130, 120)
    assert not is_snippet("地" * 130, 120)


def test_markup_that_lxml_refuses_does_not_stop_a_feed() -> None:
    from digest.htmltext import html_to_text

    assert html_to_text("<html><head>") == ""
    assert "Body" in html_to_text("<html><head><title>x</title></head><body><p>Body</p>")
    feed = (
        b'<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom"><title type="html">'
        b'&lt;html&gt;&lt;head&gt;</title><entry><id>urn:1</id><title type="html">&lt;html&gt;&lt;head&gt;'
        b'</title><content type="html">&lt;p&gt;Text&lt;/p&gt;</content></entry></feed>'
    )
    from digest.gather._parse import parse_feed

    parsed = parse_feed(feed, url="https://example.org/feed", headers={})
    assert len(parsed.entries) == 1


def test_bidi_controls_are_stripped_from_feed_titles_and_html() -> None:
    from digest.gather._clean import plain_title, sanitize_html

    assert plain_title("Bank\u202e notice\u2067", "text/plain") == "Bank notice"
    assert sanitize_html("<p>Pay\u202e now</p>") == "<p>Pay now</p>"
