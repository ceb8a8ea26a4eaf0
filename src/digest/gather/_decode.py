"""Content decoding with a bounded output, so a compression bomb stops at ``max_bytes``.

httpx decodes each network read whole: one 64 KiB read of gzipped zeros becomes 64 MiB
before anyone can count it. Here the fetcher reads the raw bytes and this module inflates
them at most :data:`PIECE` bytes at a time (``zlib``'s ``max_length``), counting as it
goes; the body is abandoned as soon as it would pass the limit, however much one read holds.

Encodings: gzip (``x-gzip``), deflate (zlib-wrapped or raw, as servers send both) and chains
of them, the ones httpx decodes without extra packages. brotli and zstd are neither
advertised nor decoded: their common Python bindings cannot cap the output of one call.

Contains no I/O.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator, Sequence

from ..errors import Failure

#: What digest sends as ``Accept-Encoding``: exactly what :class:`BoundedBody` decodes.
ACCEPT_ENCODING = "gzip, deflate"
#: The most one inflate step produces (and so the most a body overshoots its limit by).
PIECE = 64 * 1024
#: More stacked encodings than this is an attack, not a server (urllib3 stops at 5 too).
MAX_ENCODINGS = 5
_UNSUPPORTED = {"br", "zstd", "compress", "x-compress"}


class BodyError(Failure):
    """The body cannot be decoded, or decodes to more than the limit."""


class _Inflater:
    """One gzip or deflate stream, inflated at most :data:`PIECE` bytes at a time."""

    def __init__(self, encoding: str) -> None:
        self.encoding = encoding
        self._head = b""  # deflate: the first bytes, until they tell zlib-wrapped from raw
        self._z = zlib.decompressobj(16 + zlib.MAX_WBITS) if encoding != "deflate" else None

    def feed(self, data: bytes) -> Iterator[bytes]:
        if self._z is None:
            self._head += data
            if len(self._head) < 2:
                return
            data, self._head = self._head, b""
            self._z = zlib.decompressobj(zlib.MAX_WBITS if _zlib_header(data) else -zlib.MAX_WBITS)
        z = self._z
        if z.eof:  # bytes after the end of the stream are ignored (as httpx does), not kept
            return
        try:
            # max_length caps each step's output; the input not yet inflated waits in
            # unconsumed_tail, and an empty step means this input is used up
            while out := z.decompress(data, PIECE):
                yield out
                data = z.unconsumed_tail
        except zlib.error as exc:
            raise BodyError(f"invalid {self.encoding} data ({exc})") from exc


def _zlib_header(data: bytes) -> bool:
    """Whether a deflate body starts with a zlib header (RFC 1950) rather than raw deflate."""
    cmf, flg = data[0], data[1]
    return cmf & 0x0F == 8 and cmf >> 4 <= 7 and (cmf << 8 | flg) % 31 == 0


def _stages(content_encoding: str) -> list[_Inflater]:
    """Decoders in the order to apply them (the reverse of the header's order)."""
    codings = [c.strip().lower() for c in content_encoding.split(",") if c.strip()]
    if len(codings) > MAX_ENCODINGS:
        raise BodyError(f"refused: {len(codings)} stacked content encodings")
    stages = []
    for coding in reversed(codings):
        if coding in ("gzip", "x-gzip", "deflate"):
            stages.append(_Inflater("deflate" if coding == "deflate" else "gzip"))
        elif coding in _UNSUPPORTED:
            raise BodyError(f"unsupported content encoding {coding!r} (not requested)")
        # "identity" and unknown tokens (servers send "utf-8", "binary" ...) pass as they are,
        # as in httpx
    return stages


def _through(stages: Sequence[_Inflater], data: bytes) -> Iterator[bytes]:
    """``data`` through every stage, lazily: each piece is counted before the next is made."""
    if not stages:
        yield data
        return
    for piece in stages[0].feed(data):
        yield from _through(stages[1:], piece)


class BoundedBody:
    """A response body decoded as it arrives and refused once it passes ``limit`` bytes.

    Memory stays within ``limit`` plus one :data:`PIECE` per stage, whatever the ratio of
    the compression and however large one network read is.
    """

    def __init__(self, content_encoding: str, limit: int) -> None:
        self.limit = limit
        self.size = 0  # decoded bytes so far
        self.received = 0  # raw bytes so far
        self._stages = _stages(content_encoding)
        self._label = "+".join(s.encoding for s in reversed(self._stages))
        self._buf = bytearray()

    def feed(self, raw: bytes) -> None:
        """Decode the next raw bytes.

        Raises:
            BodyError: the decoded body passes the limit, or the data is not what the
                ``Content-Encoding`` header says.
        """
        self.received += len(raw)
        if self.received > self.limit:
            raise BodyError(f"body exceeds the {self.limit}-byte limit (max_bytes)")
        for piece in _through(self._stages, raw):
            self.size += len(piece)
            if self.size > self.limit:
                how = f" once {self._label}-decoded" if self._label else ""
                raise BodyError(f"body exceeds the {self.limit}-byte limit (max_bytes){how}")
            self._buf += piece

    def value(self) -> bytes:
        return bytes(self._buf)
