"""Untrusted feed text made safe: sanitized HTML, plain-text titles, http(s) links only.

Contains no I/O. Every HTML field from a feed (or a linked page) passes through
:func:`sanitize_html` before it is stored; nothing else decides what HTML survives.
"""

from __future__ import annotations

import html
import re
from urllib.parse import urlsplit

import nh3

from ..htmltext import HIDDEN_TAGS, html_to_text, normalize_text, strip_bidi

# What a newsletter needs from an article body; everything else (script, style, iframe,
# object, form, svg, event handlers, style attributes) is dropped.
_TAGS = {
    "a", "abbr", "b", "blockquote", "br", "caption", "cite", "code", "dd", "del", "dfn", "div",
    "dl", "dt", "em", "figcaption", "figure", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "i",
    "img", "ins", "kbd", "li", "mark", "ol", "p", "pre", "q", "s", "samp", "small", "span",
    "strong", "sub", "sup", "table", "tbody", "td", "tfoot", "th", "thead", "time", "tr", "u", "ul",
}  # fmt: skip
_ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt", "title", "width", "height"},
    "abbr": {"title"},
    "td": {"colspan", "rowspan"},
    "th": {"colspan", "rowspan", "scope"},
    "time": {"datetime"},
    "blockquote": {"cite"},
    "q": {"cite"},
}
_URL_SCHEMES = {"http", "https", "mailto"}
_URL_ATTRIBUTES = {"href", "src", "cite"}


def _keep_absolute_urls(tag: str, attribute: str, value: str) -> str | None:
    """Only absolute http(s)/mailto URLs: relative ones mean nothing in an email."""
    if attribute in _URL_ATTRIBUTES:
        scheme = value.strip().split(":", 1)[0].lower() if ":" in value else ""
        if scheme not in _URL_SCHEMES:
            return None
        if scheme != "mailto" and not urlsplit(value.strip()).netloc:
            return None
    return value


def sanitize_html(fragment: str) -> str:
    """Sanitize untrusted HTML with an allow-list (http, https and mailto URLs only).

    Scripts, styles, frames, forms and their content are removed, event-handler and style
    attributes dropped, links get ``rel="noopener noreferrer nofollow"``; bidirectional-text
    controls go (they could make a headline show as something else).
    """
    if not fragment:
        return ""
    return nh3.clean(
        strip_bidi(fragment),
        tags=_TAGS,
        clean_content_tags=set(HIDDEN_TAGS),
        attributes=_ATTRIBUTES,
        attribute_filter=_keep_absolute_urls,
        url_schemes=_URL_SCHEMES,
        link_rel="noopener noreferrer nofollow",
        strip_comments=True,
    ).strip()


def plain_title(value: str, content_type: str) -> str:
    """A title as plain text on one line. HTML titles (Atom ``type="html"``) lose their markup;
    RSS titles are already plain text (escaped at render time, never here)."""
    if "html" in content_type:
        value = html_to_text(value)
    return " ".join(normalize_text(value).split())


def safe_link(url: str | None) -> str:
    """``url`` when it is an absolute http(s) URL, else ``""`` (``javascript:`` and friends)."""
    if not url:
        return ""
    url = url.strip()
    try:
        parts = urlsplit(url)
    except ValueError:
        return ""
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return ""
    if any(c.isspace() or ord(c) < 32 for c in url):
        return ""
    return url


def paragraphs_to_html(text: str) -> str:
    """Plain text (paragraphs separated by blank lines or newlines) as escaped ``<p>`` HTML."""
    paras = [p.strip() for p in re.split(r"\n\s*\n|\n", text) if p.strip()]
    return "".join(f"<p>{html.escape(p, quote=False)}</p>" for p in paras)
