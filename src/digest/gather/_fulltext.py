"""Full text for snippet-only entries: how long a text is, and the main text of a page.

Contains no I/O: the page bytes are fetched elsewhere (under the same limits as feeds,
behind the SSRF guard) and handed in.
"""

from __future__ import annotations

import re
import warnings

import trafilatura

# Han, kana and hangul: languages written without spaces between words.
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff]")
_WORD = re.compile(r"\w+")


def text_size(text: str) -> int:
    """Words, counting each CJK character as one (such text has no spaces to count)."""
    cjk = len(_CJK.findall(text))
    return cjk + len(_WORD.findall(_CJK.sub(" ", text)))


def is_snippet(text: str, min_words: int) -> bool:
    """Whether an entry's text is too short to stand for the article."""
    return text_size(text) < min_words


def extract_main_text(page: bytes, url: str) -> str:
    """The main text of an article page (trafilatura), paragraphs separated by newlines.

    Returns ``""`` when nothing article-like is found.
    """
    with warnings.catch_warnings():  # trafilatura's dependencies warn about their own internals
        warnings.simplefilter("ignore")
        try:
            text = trafilatura.extract(
                page, url=url or None, include_comments=False, include_tables=True, include_images=False
            )
        except Exception:  # a page the extractor chokes on is a page without full text
            return ""
    return text or ""
