"""The extractive condenser: pick the sentences an editor would keep, then tighten them.

The summary is the main clause of the lead ("who did what"); the lead's other facts, split off
its subordinate clauses as statements of their own, join the later sentences as candidates for
the key points. Key points never repeat the summary or each other, are compressed to complete
clauses under 30 words, and are put back in story order. Scoring and selection live in
:mod:`.select`, clause splitting in :mod:`.clauses`, the mending of glued English sentences in
:mod:`.segment`. Contains no I/O.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ..errors import CondenseError
from ..models import Condensed, KeyPoint
from . import clauses
from .clean import clean_sections
from .compress import clean_headline, compress, finish, fit, headline_from_lead, same_text
from .language import detect_language, keys, split_sentences, words
from .segment import unglue
from .select import DANGLING, Sentence, add_relevance, choose, penalty, score

MAX_POINT_WORDS = 30
MAX_SUMMARY_WORDS = 60
_BARE_WORDS = 8  # a main clause shorter than this says too little alone
_MAX_SENTENCES = 400  # a 1 MB page holds thousands: the facts are near the top anyway
_MAX_CHARS = 40_000  # per source, for the same reason
_POOL = 12  # best-scored sentences per report considered as key points
# A key point repeats the summary when most of its content words are the summary's, or when it
# adds fewer than this many content words of its own.
REPEAT_SHARE = 0.6
REPEAT_NEW_WORDS = 3


@dataclass(frozen=True, slots=True)
class Source:
    """One article of a story as plain text (or HTML), with its title and index in the story."""

    text: str
    title: str | None = None
    index: int = 0


def _split(paragraph: str, lang: str) -> list[str]:
    """The sentences of a paragraph; in English, captions and sentences glued together are cut."""
    sentences = split_sentences(paragraph, lang)
    return [part for s in sentences for part in unglue(s)] if lang == "en" else sentences


def _sentences(sections: list[list[str]], source: int, lang: str, start: int) -> list[Sentence]:
    """The sentences of one source; a position counts from the start of its section (plus
    one per section before it), so that a second report under its own title keeps its lead."""
    out: list[Sentence] = []
    budget = _MAX_CHARS
    for number, section in enumerate(sections):
        position = number
        for para in section:
            if budget <= 0 or len(out) >= _MAX_SENTENCES:
                return out
            para, budget = para[:budget], budget - len(para)
            for s in _split(para, lang):
                tokens = words(s)
                if tokens:
                    order = start + len(out)
                    out.append(Sentence(s, source, position, order, number, keys(tokens, lang), len(tokens)))
                    position += 1
    return out


def repeats(point: str, summary: str | set[str], lang: str) -> bool:
    """Whether a key point mostly says what the summary (or its set of word keys) says."""
    mine = set(keys(point, lang))
    theirs = set(keys(summary, lang)) if isinstance(summary, str) else summary
    new = mine - theirs
    return len(new) < REPEAT_NEW_WORDS or len(mine & theirs) / len(mine) >= REPEAT_SHARE


def _as_point(text: str, lang: str) -> str:
    """A sentence as a key point: compressed, a complete clause, under the word limit
    (``""`` when it cannot be made one without cutting a clause in half)."""
    text = compress(text, lang)
    if lang == "en" and len(text.split()) > MAX_POINT_WORDS:
        text = clauses.split(text).main
    return fit(text, MAX_POINT_WORDS, lang)


def _summary(sentences: list[Sentence], lang: str, *, split: bool) -> tuple[str, Sentence, list[Sentence]]:
    """The main clause of the lead article's first self-contained sentence, the sentence it
    came from, and the lead's other facts (its split-off clauses) as sentences of their own."""
    lead = [s for s in sentences if s.source == sentences[0].source]
    first = next((s for s in lead[:8] if penalty(s) < 0.15), lead[0])
    text = compress(first.text, lang)
    extras: list[Sentence] = []
    if split:
        parts = clauses.split_lead(text)
        # a tail that cannot become a fact of its own stays in the summary: cutting it would
        # lose what the lead says ("…, sending a $1.4 billion mission toward asteroid X")
        if parts.extras or len(parts.main.split()) >= len(text.split()) - 2:
            text = parts.main
        name = clauses.named_subject(text)
        for i, extra in enumerate(parts.extras):
            extra = clauses.resolve(extra, name)  # "He was charged" → "Ann Lee was charged"
            tokens = words(extra)
            order = first.order + (i + 1) / 10
            where = (first.source, first.position, order, first.section)
            extras.append(Sentence(extra, *where, keys(tokens, lang), len(tokens)))
    text = fit(text, MAX_SUMMARY_WORDS, lang) or fit(first.text, MAX_SUMMARY_WORDS, lang)
    text = text or _first_words(first.text, MAX_SUMMARY_WORDS)
    # A short main clause is enough when the facts split off it read on their own; otherwise
    # ("A dog was filmed." + "He helped wash up.") the whole lead says better who did what.
    alone = clauses.is_clause(text) and all(clauses.stands_alone(e.text) for e in extras)
    bare = len(text.split()) < _BARE_WORDS and not (extras and alone)
    if bare and not DANGLING.match(first.text):
        text = fit(compress(first.text, lang), MAX_SUMMARY_WORDS, lang) or text
    return finish(text), first, extras


def _first_words(text: str, n: int) -> str:
    """The last resort for a run-on without a clause boundary: its first words, as a sentence."""
    return " ".join(text.split()[:n]).rstrip(" ,;:-–—")


def _key_points(
    sentences: list[Sentence], summary: str, title: str | None, lang: str, n: int
) -> list[Sentence]:
    """Key points that say something the summary does not, chosen and put in story order."""
    said = set(keys(summary, lang))
    add_relevance(sentences, said | set(keys(title or "", lang)))
    candidates = []
    pool = _POOL * len({s.part for s in sentences})  # each report of a story may give a fact
    for s in sorted(sentences, key=lambda s: -s.score)[:pool]:  # compress only what may be chosen
        s.point = _as_point(s.text, lang)
        if s.point and not DANGLING.match(s.point) and not repeats(s.point, said, lang):
            candidates.append(s)
    return sorted(choose(candidates, n), key=lambda s: s.order)


def condense_sources(sources: Sequence[Source], *, max_key_points: int = 5) -> Condensed:
    """Condense one story told by one or more sources into a headline, summary and key points.

    Raises:
        CondenseError: no source holds usable text.
    """
    all_sentences: list[Sentence] = []
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
    score(all_sentences)
    summary, first, extras = _summary(all_sentences, rule_lang, split=lang == "en")
    title = next((t for t in titles if t), None)
    headline = clean_headline(title) if title else headline_from_lead(first.text, rule_lang)
    # another outlet's first sentence tells the same event as the summary, in other words
    retold = {
        id(min((s for s in all_sentences if s.source == k), key=lambda s: s.order))
        for k in {s.source for s in all_sentences} - {first.source}
    }
    others = [s for s in all_sentences if s is not first and id(s) not in retold]
    if lang == "unk":  # No rules for an unknown language: its lead is the honest choice.
        picked = others[:3] or [first]
    else:
        score(extras)
        picked = _key_points(others + extras, summary, title, rule_lang, max_key_points)
    points: list[KeyPoint] = []
    for s in picked:
        text = finish(s.point or fit(s.text, MAX_POINT_WORDS) or _first_words(s.text, MAX_POINT_WORDS))
        if not any(same_text(text, p.text) for p in points):
            points.append(KeyPoint(text, s.source))
    return Condensed(headline or summary[:80], summary, tuple(points[:max_key_points]), language=lang)
