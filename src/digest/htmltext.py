"""HTML fragments as readable plain text. Contains no I/O.

Shared by the stages: gather turns every sanitized entry into text with it, and condense
reads an article's HTML with it when the article has no text of its own.
"""

from __future__ import annotations

import html
import re
import unicodedata

from lxml import etree  # type: ignore[import-untyped]
from lxml import html as lxml_html

__all__ = ["HIDDEN_TAGS", "html_to_text", "normalize_text"]

# Elements whose content is never text a reader sees.
HIDDEN_TAGS = frozenset(
    {"script", "style", "noscript", "template", "iframe", "object", "embed", "svg", "math"}
)
_BLOCKS = {
    "p", "div", "br", "li", "ul", "ol", "table", "tr", "h1", "h2", "h3", "h4", "h5", "h6",
    "blockquote", "pre", "figure", "figcaption", "dl", "dt", "dd", "hr", "caption",
}  # fmt: skip
_SPACE = re.compile(r"[ \t\r\f\v\u00a0]+")
# Bidirectional-text controls: invisible, they reorder what is shown ("\u202egro.elpmaxe@"
# shows as an address that is not the one given). Text never needs them (the Unicode bidi
# algorithm orders mixed scripts by itself); in a name, a headline or a header they only spoof.
BIDI_CONTROLS = "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
_BIDI = dict.fromkeys(map(ord, BIDI_CONTROLS))
_CONTROL = dict.fromkeys(c for c in range(32) if c not in (9, 10)) | _BIDI


def strip_bidi(text: str) -> str:
    """``text`` without bidirectional-text controls. Contains no I/O."""
    return text.translate(_BIDI)


def html_to_text(fragment: str) -> str:
    """The readable text of an HTML fragment: paragraphs separated by blank lines."""
    if not fragment.strip():
        return ""
    try:
        root = lxml_html.fragment_fromstring(fragment, create_parent="div")
    except Exception:  # lxml raises ParserError, ValueError, even AssertionError ("<html><head>")
        return normalize_text(html.unescape(re.sub(r"<[^>]*>", " ", fragment)))
    parts: list[str] = []
    for event, el in etree.iterwalk(root, events=("start", "end")):
        tag = el.tag if isinstance(el.tag, str) else ""
        if event == "start":
            if tag in _BLOCKS:
                parts.append("\n\n")
            if el.text and tag not in HIDDEN_TAGS:
                parts.append(el.text)
        else:
            if tag in _BLOCKS:
                parts.append("\n\n")
            if el.tail and el is not root:
                parts.append(el.tail)
    return normalize_text("".join(parts))


def normalize_text(text: str) -> str:
    """Collapse runs of spaces, keep paragraph breaks, drop control characters."""
    text = unicodedata.normalize("NFC", text.translate(_CONTROL))
    lines = [_SPACE.sub(" ", line).strip() for line in text.splitlines()]
    out: list[str] = []
    for line in lines:
        if line or (out and out[-1]):
            out.append(line)
    return "\n".join(out).strip().replace("\n\n\n", "\n\n")
