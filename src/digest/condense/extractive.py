"""The extractive condenser: pick the sentences an editor would keep, then tighten them.

Each sentence is scored by its position (news puts the facts first), its centrality (how much
of the story's vocabulary it carries), and its density of names and numbers; quotes,
questions, captions and fragments are penalised. Key points are chosen greedily with maximal
marginal relevance so that no fact is repeated, compressed, and put back in story order.
Contains no I/O.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from ..errors import CondenseError
from ..models import Condensed, KeyPoint
from .clean import clean_sections
from .compress import clean_headline, compress, finish, headline_from_lead, same_text, shorten
from .language import detect_language, keys, split_sentences, words

MAX_POINT_WORDS = 30
_POINT_WORDS = 50  # words of key points worth adding a fourth or fifth for
MAX_SUMMARY_WORDS = 60
_MAX_SENTENCES = 400  # a 1 MB page holds thousands: the facts are near the top anyway
_MAX_CHARS = 40_000  # per source, for the same reason

_NUMBER = re.compile(r"\d")
_NAME = re.compile(r"(?<=\s)[A-Z][a-z]+|(?<=\s)[A-Z]{2,}")
_QUOTE_START = re.compile(r"^[\"“‘'«„]")
_CAPTION = re.compile(r"^(?:[A-Z][\w'’-]*\s){0,3}[A-Z][\w'’-]*:\s")
_DANGLING_PENALTY = 0.4
_LAMBDA = 0.5
_VAGUE = re.compile(
    r"^There (?:is|are|was|were|have been|has been) (?:growing|increasing|mounting|some|many)\b"
)
_DANGLING = re.compile(  # "This move…": its referent is in a sentence the reader does not see
    r"(?i)^(?:this|that|these|those|such)\b(?!\s+(?:year|week|month|morning|afternoon|evening|weekend)\b)"
)


@dataclass(frozen=True, slots=True)
class Source:
    """One article of a story as plain text (or HTML), with its title and index in the story."""

    text: str
    title: str | None = None
    index: int = 0


@dataclass(slots=True)
class _Sentence:
    text: str
    source: int
    position: int  # sentences from the start of its section, plus one per section before
    order: int  # index among all the sentences of the story, to put key points in story order
    section: int
    keys: list[str]
    words: int
    score: float = 0.0


def _sentences(sections: list[list[str]], source: int, lang: str, start: int) -> list[_Sentence]:
    """The sentences of one source; a position counts from the start of its section (plus
    one per section before it), so that a second report under its own title keeps its lead."""
    out: list[_Sentence] = []
    budget = _MAX_CHARS
    for number, section in enumerate(sections):
        position = number
        for para in section:
            if budget <= 0 or len(out) >= _MAX_SENTENCES:
                return out
            para, budget = para[:budget], budget - len(para)
            for s in split_sentences(para, lang):
                tokens = words(s)
                if tokens:
                    order = start + len(out)
                    out.append(_Sentence(s, source, position, order, number, keys(tokens, lang), len(tokens)))
                    position += 1
    return out


def _penalty(s: _Sentence) -> float:
    """How unlike a key point a sentence is: quotes, questions, captions and fragments."""
    p = 0.0
    if s.words < 6:
        p += 0.6
    if s.words > 55:
        p += 0.3
    if _QUOTE_START.match(s.text) or s.text.count('"') + s.text.count("“") >= 2:
        p += 0.35
    if s.text.rstrip("\"”’' ").endswith("?"):
        p += 0.5
    if _CAPTION.match(s.text):
        p += 0.4
    if _DANGLING.match(s.text) or _VAGUE.match(s.text):
        p += _DANGLING_PENALTY
    return p


def _score(sentences: list[_Sentence]) -> None:
    """Position prior + centrality + names and numbers - penalties, in place.

    In a story of several reports or sections each part has its own lead, so position says
    less and the facts themselves (names, numbers, shared vocabulary) say more.
    """
    parts = len({(s.source, s.section) for s in sentences})
    w_central, w_density = (0.2, 0.1) if parts == 1 else (0.4, 0.8)
    freq = Counter(k for s in sentences for k in set(s.keys))
    top = max(freq.values(), default=1)
    for s in sentences:
        central = sum(freq[k] for k in set(s.keys)) / (top * math.sqrt(max(len(s.keys), 1)) + 1e-9)
        names = len(_NAME.findall(" " + s.text)) + len(_NUMBER.findall(s.text)) / 2
        density = min(names / max(s.words, 1), 0.5)
        position = 1.0 / (1.0 + 0.35 * s.position)
        s.score = position + w_central * central + w_density * density - _penalty(s)


def _similarity(a: list[str], b: list[str]) -> float:
    sa, sb = set(a), set(b)
    if not sa or not sb:
        return 0.0
    return len(sa & sb) / min(len(sa), len(sb))


def _select(sentences: list[_Sentence], k: int, avoid: list[_Sentence]) -> list[_Sentence]:
    """Greedy maximal marginal relevance: good sentences that say something new.

    Another outlet's lead usually retells the same event in other words, so sentences from
    different sources count as repeats at a lower overlap.
    """
    chosen: list[_Sentence] = []
    pool = sorted(sentences, key=lambda s: -s.score)[:60]
    while pool and len(chosen) < k:
        best, best_value = None, -math.inf
        for s in pool:
            overlap, repeat = 0.0, False
            for o in avoid + chosen:
                sim = _similarity(s.keys, o.keys)
                overlap = max(overlap, sim)
                repeat = repeat or sim >= (0.7 if o.source == s.source else 0.45)
            value = s.score - _LAMBDA * overlap
            if not repeat and value > best_value:
                best, best_value = s, value
        if best is None:
            break
        chosen.append(best)
        pool.remove(best)
    return chosen


def _pick_points(sentences: list[_Sentence], max_points: int) -> list[_Sentence]:
    """Three key points, more (up to ``max_points``) while they are short: a reader gets about
    as many words of facts from a story told in short sentences as from one told in long ones."""
    # More points for more sections or sources: they were written to add facts.
    parts = len({(s.source, s.section) for s in sentences})
    picked = _select(sentences, min(max(3, parts + 2), max_points), [])
    while len(picked) < max_points and sum(min(s.words, MAX_POINT_WORDS) for s in picked) < _POINT_WORDS:
        more = _select([s for s in sentences if s not in picked], 1, picked)
        if not more:
            break
        picked += more
    return picked


def _summary(sentences: list[_Sentence], lang: str) -> tuple[str, list[_Sentence]]:
    """The first self-contained statement of the lead article, one or two sentences."""
    lead = [s for s in sentences if s.source == sentences[0].source]
    good = [s for s in lead[:8] if _penalty(s) < 0.15] or lead[:1]
    first = good[0]
    text = shorten(compress(first.text, lang), MAX_SUMMARY_WORDS)
    used = [first]
    nxt = next((s for s in good[1:] if s.order == first.order + 1), None)
    if nxt is not None and not _DANGLING.match(nxt.text):
        more = compress(nxt.text, lang)
        if len(text.split()) + len(more.split()) <= MAX_SUMMARY_WORDS and len(text.split()) < 15:
            text = f"{finish(text)} {more}"
            used.append(nxt)
    return finish(text), used


def condense_sources(sources: Sequence[Source], *, max_key_points: int = 5) -> Condensed:
    """Condense one story told by one or more sources into a headline, summary and key points.

    Raises:
        CondenseError: no source holds usable text.
    """
    all_sentences: list[_Sentence] = []
    titles: list[str | None] = []
    sample = " ".join(src.text[:2000] for src in sources[:3])
    lang = detect_language(sample)
    rule_lang = lang if lang != "unk" else "en"
    for src in sources:
        sections, title = clean_sections(src.text, src.title)
        titles.append(title)
        all_sentences.extend(_sentences(sections, src.index, rule_lang, len(all_sentences)))
    if not all_sentences:
        raise CondenseError("no usable text to condense")
    _score(all_sentences)
    summary, used = _summary(all_sentences, rule_lang)
    title = next((t for t in titles if t), None)
    headline = clean_headline(title) if title else headline_from_lead(used[0].text, rule_lang)
    # No rules for an unknown language: its lead is the honest choice.
    picked = all_sentences[:3] if lang == "unk" else _pick_points(all_sentences, max_key_points)
    points: list[KeyPoint] = []
    for s in sorted(picked, key=lambda s: s.order):
        text = finish(shorten(compress(s.text, rule_lang), MAX_POINT_WORDS))
        if not any(same_text(text, p.text) for p in points):
            points.append(KeyPoint(text, s.source))
    return Condensed(headline or summary[:80], summary, tuple(points[:max_key_points]), language=lang)
