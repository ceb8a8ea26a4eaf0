"""Bodies are decoded a bounded piece at a time: a compression bomb stops at ``max_bytes``
with memory near the limit, for feeds and full-text pages alike."""

from __future__ import annotations

import asyncio
import gzip
import io
import tracemalloc
import zlib
from collections.abc import Callable, Coroutine, Iterator
from typing import Any

import pytest
from rich.console import Console

from digest.cli.display import print_summary
from digest.config import GatherConfig
from digest.gather._decode import ACCEPT_ENCODING, PIECE, BodyError, BoundedBody
from digest.gather._fetch import PAGE_ACCEPT, Fetched, Fetcher, FetchError
from digest.pipeline import RunSummary
from feed_server import FeedServer, Reply
from test_gather import item, rss, run

MiB = 1 << 20
LIMIT = 1 * MiB


def compressed_zeros(size: int, wbits: int = 16 + zlib.MAX_WBITS) -> bytes:
    """``size`` zero bytes compressed (gzip by default): about a thousandth of the size."""
    z = zlib.compressobj(9, zlib.DEFLATED, wbits)
    block = bytes(MiB)
    return b"".join([*(z.compress(block) for _ in range(size // MiB)), z.flush()])


@pytest.fixture(scope="module")
def bomb() -> bytes:
    return compressed_zeros(64 * MiB)  # ~64 KB on the wire: one network read inflates 1000×


@pytest.fixture
def server() -> Iterator[FeedServer]:
    s = FeedServer().start()
    yield s
    s.stop()


Fetches = Callable[[Fetcher], list[Coroutine[Any, Any, Fetched]]]


def _peak(fetches: Fetches, config: GatherConfig, warm_up: str) -> tuple[list[object], int]:
    """Run the fetches; their results (or errors) and the peak of memory allocated meanwhile
    (after one warm-up fetch, so lazy imports and the first connection are not counted)."""

    async def go() -> tuple[list[object], int]:
        async with Fetcher(config) as fetcher:
            await fetcher.fetch(warm_up, trusted=True)
            tracemalloc.start()
            try:
                results = await asyncio.gather(*fetches(fetcher), return_exceptions=True)
                return list(results), tracemalloc.get_traced_memory()[1]
            finally:
                tracemalloc.stop()

    return asyncio.run(go())


@pytest.mark.parametrize("fetches", [1, 4])
def test_a_gzip_bomb_stops_at_the_limit_with_memory_near_it(
    server: FeedServer, bomb: bytes, fetches: int
) -> None:
    url = server.route("/bomb", Reply(200, bomb, {"Content-Encoding": "gzip", "Content-Type": "text/html"}))
    config = GatherConfig(max_bytes=LIMIT, allow_private_addresses=True, per_host=fetches)

    def pages(fetcher: Fetcher) -> list[Coroutine[Any, Any, Fetched]]:
        return [fetcher.fetch(url, trusted=False, accept=PAGE_ACCEPT) for _ in range(fetches)]

    results, peak = _peak(pages, config, server.route("/ok", Reply(200, b"ok")))
    # before: httpx inflated a whole network read (64 MiB here) before the size was counted
    assert peak < fetches * 2 * LIMIT, f"peak {peak / MiB:.1f} MiB for {fetches} × {LIMIT / MiB:.0f} MiB"
    assert all(isinstance(r, FetchError) for r in results), results
    assert {str(r) for r in results} == {"body exceeds the 1048576-byte limit (max_bytes) once gzip-decoded"}


def test_a_feed_bomb_is_a_one_line_error_naming_the_feed_and_the_limit(
    server: FeedServer, bomb: bytes
) -> None:
    good = server.feed("/good.xml", rss([item(1)]))
    bombed = server.route("/bomb.xml", Reply(200, bomb, {"Content-Encoding": "gzip"}))
    result = run([good, bombed], GatherConfig(max_bytes=LIMIT, full_text=False))
    assert [o.status for o in result.outcomes] == ["ok", "error"]
    assert [a.title for a in result.articles] == ["Story number 1"]
    out = io.StringIO()
    print_summary(
        Console(file=out, width=300), RunSummary(edition_id="2026-03-02", feeds=list(result.outcomes))
    )
    [line] = [ln for ln in out.getvalue().splitlines() if "feed failed" in ln]
    assert line.strip() == (
        f"feed failed {bombed}: body exceeds the 1048576-byte limit (max_bytes) once gzip-decoded"
    )


def test_a_page_bomb_keeps_the_snippet(server: FeedServer, bomb: bytes) -> None:
    page = server.route("/page", Reply(200, bomb, {"Content-Encoding": "gzip", "Content-Type": "text/html"}))
    url = server.feed("/s.xml", rss([item(1, link=page, guid="p-1", description="Short snippet.")]))
    result = run([url], GatherConfig(max_bytes=LIMIT, allow_private_addresses=True))
    assert result.outcomes[0].status == "ok"
    assert [a.text for a in result.articles] == ["Short snippet."]
    assert server.hits["/page"] == 1


def test_one_chunk_that_inflates_hugely_is_decoded_a_piece_at_a_time() -> None:
    chunk = compressed_zeros(256 * MiB)  # handed over whole: the decoder must not inflate it whole
    body = BoundedBody("gzip", LIMIT)
    tracemalloc.start()
    try:
        with pytest.raises(BodyError, match="1048576-byte limit"):
            body.feed(chunk)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert LIMIT < body.size <= LIMIT + PIECE  # decoded bytes counted: it stopped at the limit
    assert peak < 3 * LIMIT  # the body (1 MiB) and one piece; inflated whole it was 256 MiB


PAGE = b"<html><body>" + b"<p>Clay minerals form in standing water.</p>" * 500 + b"</body></html>"


def _deflate(data: bytes, wbits: int) -> bytes:
    z = zlib.compressobj(6, zlib.DEFLATED, wbits)
    return z.compress(data) + z.flush()


@pytest.mark.parametrize(
    ("encoding", "raw"),
    [
        ("", PAGE),
        ("identity", PAGE),
        ("utf-8", PAGE),  # a misconfigured server: unknown tokens pass, as in httpx
        ("gzip", gzip.compress(PAGE)),
        ("x-gzip", gzip.compress(PAGE)),
        ("GZIP", gzip.compress(PAGE) + b"trailing junk"),
        ("deflate", _deflate(PAGE, zlib.MAX_WBITS)),  # zlib-wrapped, as RFC 9110 says
        ("deflate", _deflate(PAGE, -zlib.MAX_WBITS)),  # raw, as many servers send it
        ("deflate, gzip", gzip.compress(_deflate(PAGE, zlib.MAX_WBITS))),  # applied in that order
    ],
)
@pytest.mark.parametrize("chunk", [1, 7, 65536])
def test_encodings_decode_exactly(encoding: str, raw: bytes, chunk: int) -> None:
    body = BoundedBody(encoding, LIMIT)
    for i in range(0, len(raw), chunk):
        body.feed(raw[i : i + chunk])
    assert body.value() == PAGE


@pytest.mark.parametrize(
    ("encoding", "raw", "error"),
    [
        ("br", b"\x0b\x02\x80hello\x03", "unsupported content encoding 'br'"),
        ("zstd", b"(\xb5/\xfd", "unsupported content encoding 'zstd'"),
        ("gzip, " * 6 + "gzip", b"", "stacked content encodings"),
        ("gzip", b"not gzip at all", "invalid gzip data"),
        ("deflate", b"\x78\x9c not deflate", "invalid deflate data"),
        ("", b"x" * (LIMIT + 1), "1048576-byte limit (max_bytes)"),
    ],
)
def test_bodies_that_cannot_be_decoded_are_refused(encoding: str, raw: bytes, error: str) -> None:
    with pytest.raises(BodyError, match=error.replace("(", r"\(").replace(")", r"\)")):
        BoundedBody(encoding, LIMIT).feed(raw)


def test_only_what_can_be_decoded_is_asked_for(server: FeedServer) -> None:
    url = server.feed("/f.xml", rss([item(1)]))
    assert run([url]).outcomes[0].status == "ok"
    assert server.requests[-1].headers["accept-encoding"] == ACCEPT_ENCODING == "gzip, deflate"
