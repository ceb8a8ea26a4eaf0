"""Condense: turn a story into a headline, a summary and 3–5 key points.

The extractive condenser runs offline with no model download; an optional OpenAI-compatible
LLM backend falls back to it on any failure. Every condensation is cached by content hash.
The condenser of stories (with its cache and the LLM client) is imported on first use, so that
condensing articles (``digest condense --batch``) does not pay for the HTTP client's import.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from ..errors import CondenseError
from ..models import Condensed
from .clean import html_to_text, looks_like_html
from .extractive import Source, condense_sources

if TYPE_CHECKING:
    from .condenser import CondenseCache, Condenser, CondenseReport, Fallback, cache_key

__all__ = [
    "CondenseCache",
    "CondenseReport",
    "Condenser",
    "Fallback",
    "Source",
    "cache_key",
    "condense_text",
]

_LAZY = frozenset({"CondenseCache", "CondenseReport", "Condenser", "Fallback", "cache_key"})


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module 'digest.condense' has no attribute {name!r}")
    return getattr(import_module(".condenser", __name__), name)


def condense_text(text: str, *, title: str | None = None, max_key_points: int = 5) -> Condensed:
    """Condense one article given as plain text or HTML.

    HTML (detected by its tags) goes through the main-text extractor first; its ``<title>``
    is used when ``title`` is not given.

    Raises:
        CondenseError: the text holds nothing to condense (one line, names the reason).
    """
    if not isinstance(text, str):
        raise CondenseError("article text is not a string")
    if looks_like_html(text):
        text, page_title = html_to_text(text)
        title = title or page_title
    if not text.strip():
        raise CondenseError("no usable text to condense")
    return condense_sources([Source(text, title)], max_key_points=max_key_points)
