"""Feed bytes to plain entries: defused, decoded, parsed by feedparser, sanitized.

Contains no I/O. feedparser always gets bytes (never a URL or a path: it would open a
string that names an existing file) plus the response headers, so it decodes with the
HTTP charset and resolves relative links against the feed's own URL.
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import feedparser

from ..errors import Failure
from ._charset import repair_utf8
from ._clean import plain_title, safe_link, sanitize_html

# A DOCTYPE with an internal subset, matched without backtracking (possessive quantifiers).
_DOCTYPE_SUBSET = re.compile(rb"""<!DOCTYPE\b[^\[>]*+\[(?:[^\]"']++|"[^"]*+"|'[^']*+')*+\]\s*+>""", re.I)
_ENTITY_DECL = re.compile(rb"<!ENTITY", re.I)
_ROOT = re.compile(rb"<[A-Za-z_]")
_XML_TYPES = ("application/xml", "text/xml")


class ParseError(Failure):
    """The bytes are not a usable feed; ``reason`` is a short phrase."""


@dataclass(frozen=True, slots=True)
class ParsedEntry:
    """One entry as the feed gives it, made safe: plain title, http(s) link, sanitized HTML."""

    guid: str | None
    link: str
    title: str
    html: str
    published: datetime | None  # UTC; None when the feed gives no (valid) date


@dataclass(frozen=True, slots=True)
class ParsedFeed:
    title: str
    entries: tuple[ParsedEntry, ...]
    warnings: tuple[str, ...]


def defuse(data: bytes) -> bytes:
    """Remove DOCTYPE internal subsets, so no entity is ever declared, let alone expanded.

    feedparser's loose fallback parser expands a declared entity without limit (billion
    laughs, quadratic blow-up); with the declarations gone, references stay literal text.

    Raises:
        ParseError: entity declarations that cannot be removed safely (for example in a
            UTF-16 document, or in a malformed DOCTYPE).
    """
    if b"\x00" in data[:4]:  # UTF-16/32: check the ASCII skeleton, refuse rather than rewrite
        if _ENTITY_DECL.search(data.replace(b"\x00", b"")):
            raise ParseError("entity declarations refused (UTF-16/32 document)")
        return data
    if not _ENTITY_DECL.search(data):
        return data
    data = _DOCTYPE_SUBSET.sub(b"", data)
    root = _ROOT.search(data)
    if _ENTITY_DECL.search(data, 0, root.start() if root else len(data)):
        raise ParseError("entity declarations refused (malformed DOCTYPE)")
    return data


def _parse_headers(headers: Mapping[str, str], url: str) -> dict[str, str]:
    """Headers for feedparser. Feeds are often served as text/html or text/plain, or as
    text/xml without a charset (which RFC 3023 reads as US-ASCII): all of those are
    read as XML, so the document's own declaration, BOM or chardet decides the encoding."""
    if not headers:
        return {}
    out = {k.lower(): v for k, v in headers.items()}
    ctype = out.get("content-type", "")
    mime, _, params = ctype.partition(";")
    mime = mime.strip().lower()
    xml_like = mime in _XML_TYPES or mime.endswith("+xml")
    if not xml_like or (mime.startswith("text/") and "charset" not in params.lower()):
        out["content-type"] = "application/xml" + (f";{params}" if "charset" in params.lower() else "")
    out.setdefault("content-location", url)
    return out


def _date(entry: Any) -> datetime | None:
    for key in ("published_parsed", "updated_parsed", "created_parsed"):
        t = entry.get(key)
        if t:
            try:
                return datetime(t[0], t[1], t[2], t[3], t[4], t[5], tzinfo=UTC)
            except (TypeError, ValueError, OverflowError):
                continue
    return None


def _content(entry: Any) -> str:
    """The richest HTML body the entry has: its longest content, else its summary."""
    best = ""
    candidates = [*entry.get("content", []), entry.get("summary_detail") or {}]
    for c in candidates:
        value = c.get("value") or ""
        if "html" not in (c.get("type") or "text/html"):
            value = "".join(f"<p>{html.escape(p)}</p>" for p in value.split("\n\n") if p.strip())
        if len(value) > len(best):
            best = value
    return best


def _entry(entry: Any) -> ParsedEntry:
    title = entry.get("title_detail") or {}
    guid = entry.get("id") or None
    return ParsedEntry(
        guid=str(guid).strip() or None if guid else None,
        link=safe_link(entry.get("link")),
        title=plain_title(title.get("value") or entry.get("title") or "", title.get("type") or "text/plain"),
        html=sanitize_html(_content(entry)),
        published=_date(entry),
    )


def parse_feed(data: bytes, *, url: str, headers: Mapping[str, str]) -> ParsedFeed:
    """Parse feed bytes into safe entries.

    Args:
        data: the body as received (after transfer decoding).
        url: the URL it came from (the base for relative links).
        headers: the HTTP response headers (empty for a local file).

    Raises:
        ParseError: not a feed, or an ill-formed one that yields no entry.
    """
    if not data.strip():
        raise ParseError("empty document")
    data, replaced = repair_utf8(data, headers)
    data = defuse(data)
    try:
        # feedparser's own sanitizer is off: every HTML field goes through nh3's allow-list
        # (sanitize_html in _clean) before it is kept, and skipping it saves a third of the parse
        parsed = feedparser.parse(data, response_headers=_parse_headers(headers, url), sanitize_html=False)
    except Exception as exc:  # feedparser has crashed on odd input before: a bad feed, not a bad run
        raise ParseError(f"parser failed: {type(exc).__name__}: {exc}") from exc
    entries = parsed.get("entries") or []
    warnings = [f"charset: {replaced} invalid UTF-8 byte(s) replaced with U+FFFD"] if replaced else []
    if parsed.get("bozo"):
        bozo = parsed.get("bozo_exception")
        problem = f"{type(bozo).__name__}: {bozo}"
        if isinstance(bozo, feedparser.CharacterEncodingOverride):  # decoded all the same
            warnings.append(f"charset: {str(bozo)[:200]}")
        elif not entries:
            raise ParseError(f"not a usable feed ({problem[:200]})")
        else:
            warnings.append(f"ill-formed feed, {len(entries)} entries recovered ({problem[:200]})")
    elif not parsed.get("version") and not entries:
        raise ParseError("not a feed (no RSS, Atom or RDF root element)")
    feed = parsed.get("feed") or {}
    kept: list[ParsedEntry] = []
    for number, entry in enumerate(entries, start=1):
        try:
            kept.append(_entry(entry))
        except Exception as exc:  # one hostile entry is skipped; the feed's others are kept
            warnings.append(f"entry {number} skipped: {type(exc).__name__}: {str(exc)[:200]}")
    return ParsedFeed(
        title=plain_title(
            feed.get("title") or "", (feed.get("title_detail") or {}).get("type") or "text/plain"
        ),
        entries=tuple(kept),
        warnings=tuple(warnings),
    )
