"""Entry identity: the GUID, else the canonical link, else a content hash. Contains no I/O.

Ids are global, not per feed, so one story syndicated by two feeds under the same GUID or
link is gathered once. A GUID that is not a URI (``"12345"``) only means something inside
its own feed, so it is prefixed with the feed's URL.
"""

from __future__ import annotations

import hashlib
import re
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

_TRACKING = re.compile(r"^(utm_.*|fbclid|gclid|dclid|msclkid|mc_cid|mc_eid|_hsenc|_hsmi|igshid)$", re.I)
_URI_SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:\S")


def canonical_link(url: str) -> str:
    """A link reduced to what identifies the page.

    Lower-case scheme and host, no ``www.``, no default port, no fragment, no tracking
    parameters (``utm_*``, ``fbclid`` ...), remaining query parameters kept in order, and
    an empty path written as ``/``.
    """
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return url.strip()
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").rstrip(".")
    host = host.removeprefix("www.")
    if port and (scheme, port) not in (("http", 80), ("https", 443)):
        host = f"{host}:{port}"
    query = urlencode(
        [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if not _TRACKING.match(k)]
    )
    return urlunsplit((scheme, host, parts.path or "/", query, ""))


def content_hash(*parts: str) -> str:
    """A stable hash of the given texts (whitespace-insensitive)."""
    h = hashlib.sha256()
    for p in parts:
        h.update(" ".join(p.split()).encode("utf-8"))
        h.update(b"\x00")
    return h.hexdigest()


def entry_id(*, guid: str | None, link: str, feed_url: str, title: str, text: str) -> str:
    """The id under which an entry is stored.

    Args:
        guid: the entry's id/GUID as the feed gives it (``None`` or empty when absent).
        link: the entry's http(s) link, or ``""``.
        feed_url: the feed's URL as the editor named it (namespaces non-URI GUIDs).
        title, text: plain text, hashed when there is neither GUID nor link.
    """
    guid = (guid or "").strip()
    if guid:
        if guid.lower().startswith(("http://", "https://")):
            return canonical_link(guid)
        if _URI_SCHEME.match(guid):  # tag:, urn:, mailto: ... are global by design
            return guid
        return f"{feed_url}#{guid}"
    if link:
        return canonical_link(link)
    return "sha256:" + content_hash(title, text)
