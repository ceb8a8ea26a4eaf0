"""A feed declared UTF-8 that holds a few bytes that are not: decoded as declared.

When the declared encoding fails, feedparser decodes the *whole* document with its next
guess (chardet's, then windows-1252), so one stray byte (a quote pasted from a word
processor, a truncated character) turns every accented letter of an otherwise correct feed
into mojibake. Here such a document is decoded as UTF-8 with only the bad bytes replaced
(U+FFFD), before feedparser sees it. A document whose non-ASCII bytes are mostly *not*
UTF-8 is left alone: its declaration is wrong, and feedparser's guess is the better reading.

Contains no I/O.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Mapping

_BOM = b"\xef\xbb\xbf"
_XML_ENCODING = re.compile(rb"""\A(?:\xef\xbb\xbf)?\s*<\?xml\s[^>]*?\bencoding\s*=\s*["']([\w.:-]+)""")
_CHARSET = re.compile(r"""charset\s*=\s*["']?([^"';\s]+)""", re.I)
_BAD = re.compile("[\udc80-\udcff]")  # a byte that is not UTF-8, as surrogateescape decodes it


def declared_encoding(data: bytes, headers: Mapping[str, str]) -> str:
    """The encoding a feed claims, in the order feedparser reads it for XML: the HTTP
    charset, else a byte-order mark, else the XML declaration, else UTF-8 (XML's default)."""
    charset = _CHARSET.search(headers.get("content-type", ""))
    if charset:
        return charset.group(1)
    if data.startswith(_BOM):
        return "utf-8"
    declared = _XML_ENCODING.match(data[:1024])
    return declared.group(1).decode("ascii") if declared else "utf-8"


def _is_utf8(name: str) -> bool:
    try:
        return codecs.lookup(name).name == "utf-8"
    except LookupError:
        return False


def repair_utf8(data: bytes, headers: Mapping[str, str]) -> tuple[bytes, int]:
    """The document with its invalid UTF-8 bytes replaced, when it is declared UTF-8 and
    mostly is; else unchanged. Returns the bytes and how many bad bytes were replaced.

    Args:
        data: the feed as received.
        headers: the HTTP response headers, lower-case names (empty for a local file).
    """
    if b"\x00" in data[:4] or not _is_utf8(declared_encoding(data, headers)):
        return data, 0  # UTF-16/32 or another declared encoding: feedparser's business
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    else:
        return data, 0
    text = data.decode("utf-8", "surrogateescape")
    rest, bad = _BAD.subn("", text)
    utf8_chars = len(rest) - len(rest.encode("ascii", "ignore"))  # non-ASCII that did decode
    if utf8_chars < bad:
        return data, 0  # mostly another encoding: the declaration is wrong
    return data.decode("utf-8", "replace").encode("utf-8"), bad
