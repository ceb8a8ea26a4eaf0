"""A feed declared UTF-8 with a few invalid bytes is decoded as declared, only the bad bytes
replaced; a feed whose declaration is plainly wrong is still read by feedparser's guess."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from digest.gather._charset import declared_encoding, repair_utf8
from feed_server import FeedServer
from test_gather import item, rss, run

ACCENTED = "Café crème in Zürich, naïve señal"


@pytest.fixture
def server() -> Iterator[FeedServer]:
    s = FeedServer().start()
    yield s
    s.stop()


def _stray(doc: bytes) -> bytes:
    """A UTF-8 feed with one byte pasted from windows-1252 (a curly apostrophe)."""
    return doc.replace(b"STRAY", b"It\x92s")


@pytest.mark.parametrize(
    "content_type", ["application/rss+xml", "text/xml; charset=utf-8", "text/html; charset=UTF-8"]
)
def test_utf8_feed_with_a_stray_byte_keeps_its_accents(server: FeedServer, content_type: str) -> None:
    items = [item(1, title=ACCENTED, description="STRAY in Zürich"), item(2, title=f"STRAY {ACCENTED}")]
    url = server.feed("/stray.xml", _stray(rss(items, title="Señal")), content_type)
    result = run([url])
    first, second = result.articles
    assert first.title == ACCENTED
    assert first.text == "It\ufffds in Zürich"  # only the bad byte is replaced
    assert second.title == f"It\ufffds {ACCENTED}"
    assert result.outcomes[0].name == "Señal"
    assert any("2 invalid UTF-8 byte(s) replaced" in w for w in result.outcomes[0].warnings)


def test_a_local_utf8_file_with_a_stray_byte_keeps_its_accents(tmp_path: Path) -> None:
    path = tmp_path / "feed.xml"
    path.write_bytes(_stray(rss([item(1, title=f"STRAY {ACCENTED}")])))
    [article] = run([str(path)]).articles
    assert article.title == f"It\ufffds {ACCENTED}"


@pytest.mark.parametrize(
    ("doc", "headers", "declared"),
    [
        (b'<?xml version="1.0" encoding="ISO-8859-1"?><rss/>', {}, "ISO-8859-1"),
        (b"<?xml version='1.0' encoding='utf8'?><rss/>", {}, "utf8"),
        (b'<?xml version="1.0"?><rss/>', {}, "utf-8"),
        (b"\xef\xbb\xbf<rss/>", {}, "utf-8"),
        (b'<?xml version="1.0" encoding="utf-8"?>', {"content-type": "text/xml; charset=koi8-r"}, "koi8-r"),
    ],
)
def test_declared_encoding(doc: bytes, headers: dict[str, str], declared: str) -> None:
    assert declared_encoding(doc, headers) == declared


def test_repair_only_what_is_declared_and_mostly_utf8() -> None:
    good = "<rss><title>Zürich ünd Köln</title></rss>".encode()
    assert repair_utf8(good, {}) == (good, 0)  # valid: untouched
    stray = good.replace(b"</title>", b"\x92\xff</title>")
    fixed, replaced = repair_utf8(stray, {})
    assert replaced == 2
    assert fixed.decode("utf-8") == "<rss><title>Zürich ünd Köln\ufffd\ufffd</title></rss>"
    latin = "<rss><title>Zürich ünd Köln</title></rss>".encode("cp1252")  # mis-declared
    assert repair_utf8(latin, {"content-type": "text/xml; charset=utf-8"}) == (latin, 0)
    declared_latin = b'<?xml version="1.0" encoding="iso-8859-1"?>' + stray
    assert repair_utf8(declared_latin, {}) == (declared_latin, 0)  # another encoding: feedparser's
    utf16 = "<rss>Zürich</rss>".encode("utf-16")
    assert repair_utf8(utf16, {}) == (utf16, 0)
