"""The summary: one or two complete sentences that tell the news, with its source.

It is the first sentence of the newest report that reads on its own and tells what the title is
about. In most news that is the lead. A feature that opens on a scene ("The tide is still going
out when …") names the title's subject in one place at most, so the summary is the first sentence
that shares two things with the title (a name run such as "Carrick Haven" counts once). A first
sentence that is short, or that only says the headline again, takes the next one too when it
reads on its own. Attributions stay ("…, the transport department said"): a claim keeps its
source. Contains no I/O.
"""

from __future__ import annotations

from . import clauses
from .compress import compress, finish, fit
from .language import keys, words
from .refer import resolve, stands_alone
from .select import Sentence
from .units import numbers

MAX_SUMMARY_WORDS = 60
_MIN_WORDS = 12
_BRIEF = 8  # a next sentence this short that states a figure joins the summary ("The vote was 9-4.")
_PAIR_WORDS = 60
_PAIR = True
_PAIR_SENTENCES = 7  # a report this long keeps enough sentences for the key points
_NEW_WORDS = 4  # a summary adds at least this many words the headline does not have
_TITLE_HITS = 2
_READABLE = 0.3  # the most penalty a summary sentence may carry
_ALONE = False


def _chunks(text: str, lang: str) -> list[set[str]]:
    """The sentence's content as chunks: a run of capitalised words is one (a name), every
    other word one of its own."""
    out: list[set[str]] = []
    run: set[str] = set()
    for i, w in enumerate(words(text)):
        key = set(keys([w], lang))
        if w[:1].isupper() and i > 0:
            run |= key
            continue
        if run:
            out.append(run)
            run = set()
        if key:
            out.append(key)
    if run:
        out.append(run)
    return out


def title_hits(text: str, title_keys: set[str], lang: str) -> int:
    """How many chunks of ``text`` (names counting once) the title also names."""
    return sum(1 for chunk in _chunks(text, lang) if chunk & title_keys)


def _usable(s: Sentence) -> bool:
    return s.penalty < _READABLE and stands_alone(s.text)


def _first(sentences: list[Sentence], title: str | None, lang: str) -> Sentence:
    """The first readable sentence that tells what the title is about (or the first readable)."""
    title_keys = set(keys(title or "", lang))
    need = min(_TITLE_HITS, len(title_keys))
    first: Sentence | None = None
    for s in sentences:
        if _usable(s):
            if need == 0 or title_hits(s.text, title_keys, lang) >= need:
                return s
            first = first or s
    return first or sentences[0]


def _needs_more(text: str, nxt: Sentence, title: str | None, lang: str, long_report: bool) -> bool:
    """Whether the summary should take the next sentence as well: the first is short, says
    little beyond the headline, or gives no figure where the next one gives it briefly."""
    n = len(text.split())
    # the next sentence may say "she" or "it": its referent is the sentence before it
    brief = nxt.words <= _BRIEF  # a short sentence is no fragment here: it follows its subject
    readable = nxt.penalty < _READABLE + (0.6 if nxt.words < 6 else 0.0)
    # it follows the sentence it follows in the article: its "it" or "they" points there
    if (
        n + nxt.words > _PAIR_WORDS + 10
        or not readable
        or (_ALONE and not stands_alone(resolve(nxt.text, "X")))
    ):
        return False
    new = set(keys(text, lang)) - set(keys(title or "", lang))
    figure = bool(numbers(nxt.text)) and n + nxt.words <= _PAIR_WORDS
    if _PAIR and n + nxt.words <= _PAIR_WORDS and long_report:
        return True
    return n < _MIN_WORDS or len(new) < _NEW_WORDS or (figure and (brief or not numbers(text)))


def summarize(sentences: list[Sentence], title: str | None, lang: str) -> tuple[str, list[Sentence]]:
    """The summary of a report and the sentences it was made of (no key point repeats them)."""
    first = _first(sentences, title, lang)
    text = compress(first.text, lang, keep_source=True)
    used = [first]
    at = sentences.index(first)
    if at + 1 < len(sentences) and _needs_more(
        text, sentences[at + 1], title, lang, len(sentences) >= _PAIR_SENTENCES
    ):
        nxt = sentences[at + 1]
        text = f"{finish(text)} {compress(nxt.text, lang, keep_source=True)}"
        used.append(nxt)
    if len(text.split()) > MAX_SUMMARY_WORDS:
        text = fit(compress(first.text, lang), MAX_SUMMARY_WORDS, lang)
        if not text and lang == "en":
            text = fit(clauses.split(first.text).main, MAX_SUMMARY_WORDS, lang)
        text = text or " ".join(first.text.split()[:MAX_SUMMARY_WORDS]).rstrip(" ,;:-–—")
        used = [first]
    return finish(text), used
