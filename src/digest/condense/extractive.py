"""The extractive condenser: the news in a summary, then the facts it leaves out as key points.

The summary is the first sentence of the newest report that tells the story's news (in a
feature whose lead sets a scene, the first one that shares the title's subject), whole, with
its source, and a second sentence when the first is short. Key points are chosen from every
report and every section by what they add to it (:mod:`.select`), read on their own
(:mod:`.refer`), are compressed to complete sentences under 30 words and are put back in story
order. Reports come from the story's articles and from the reports one page sets one after the
other (:mod:`.reports`); the newest one gives the headline and the summary. Contains no I/O.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from ..errors import CondenseError
from ..models import Condensed, KeyPoint
from . import clauses, reports
from .clean import clean_reports
from .compress import clean_headline, compress, finish, fit, headline_from_lead, same_text
from .language import detect_language, split_sentences, words
from .refer import full_name, name_thing, named_subject, opens_with_it, resolve, stands_alone, thing_subject
from .segment import unglue
from .select import Sentence, about_subject, boosted, choose, repeats_of, value
from .summary import MAX_SUMMARY_WORDS as MAX_SUMMARY_WORDS
from .summary import summarize
from .units import FACT_UNITS, units

MAX_POINT_WORDS = 39
MIN_POINT_WORDS = 5
_MAX_SENTENCES = 400  # a 1 MB page holds thousands: the facts are near the top anyway
_MAX_CHARS = 40_000  # per source, for the same reason
_LEAST_POINTS = 3
SCENE = 1.0  # enough to keep the scene out of the key points
_KEEP_SOURCE = True
_ALONE = True
_POOL = 16  # candidates compressed and weighed exactly


@dataclass(frozen=True, slots=True)
class Source:
    """One article of a story as plain text (or HTML), with its title, index in the story and,
    when known, when it was published (the newest report gives the headline and summary)."""

    text: str
    title: str | None = None
    index: int = 0
    published: datetime | None = None


@dataclass(slots=True)
class _Report:
    """One report of the story: its sentences in order, its title and how recent it is."""

    part: tuple[int, int]
    title: str | None
    recency: tuple[float, int, int]
    sentences: list[Sentence]


def _split(paragraph: str, lang: str) -> list[str]:
    """The sentences of a paragraph; in English, captions and sentences glued together are cut."""
    sentences = split_sentences(paragraph, lang)
    return [part for s in sentences for part in unglue(s)] if lang == "en" else sentences


def _read(src: Source, lang: str, start: int) -> list[_Report]:
    """The reports of one source, each with its sentences (positions count from its start)."""
    sections, title = clean_reports(src.text, src.title)
    rank = reports.ranks(sections)
    published = src.published.timestamp() if src.published else 0.0
    out: dict[int, _Report] = {}
    budget, count = _MAX_CHARS, 0
    for number, sec in enumerate(sections):
        report = out.get(sec.report)
        if report is None:
            recency = (published, rank[sec.report], -src.index)  # equal dates: the lead is newest
            report = out[sec.report] = _Report((src.index, sec.report), sec.title or title, recency, [])
        for para in sec.paragraphs:
            if budget <= 0 or count >= _MAX_SENTENCES:
                return list(out.values())
            para, budget = para[:budget], budget - len(para)
            for text in _split(para, lang):
                n = len(words(text))
                if n:
                    where = (
                        src.index,
                        len(report.sentences),
                        start + count,
                        report.part,
                        (src.index, number),
                    )
                    report.sentences.append(Sentence(text, *where, n, units(text, lang)))
                    count += 1
    return list(out.values())


def _named(text: str, s: Sentence) -> str:
    """``text`` with its opening "he"/"she" or "it"/"they" named, when the story says who: for
    "it", the subject of the sentence before (looked for only when it is needed)."""
    text = resolve(text, s.name)
    if s.thing is None and s.before and opens_with_it(text):
        s.thing = thing_subject(s.before)
    return name_thing(text, s.thing)


def _as_point(s: Sentence, lang: str) -> str:
    """A sentence as a key point: connectives trimmed, pronouns named, a complete sentence
    under the word limit that reads on its own; ``""`` when it cannot be made one."""
    text = _named(compress(s.text, lang, keep_source=_KEEP_SOURCE), s)
    if len(text.split()) > MAX_POINT_WORDS:
        text = _named(compress(s.text, lang), s)
    if lang == "en" and len(text.split()) > MAX_POINT_WORDS:
        text = clauses.split(text).main
    text = fit(text, MAX_POINT_WORDS, lang)
    if len(text.split()) < MIN_POINT_WORDS or (_ALONE and not stands_alone(text)):
        return ""
    return finish(text)


def _candidates(
    story: list[_Report], used: set[int], told: dict[str, float], df: dict[str, int], lang: str
) -> list[Sentence]:
    """The sentences that can be key points: not the summary, not another report's lead (it
    retells the news the summary tells), readable on its own. Only the best by a first
    estimate of what they add are compressed: that is where the time goes."""
    names: dict[int, tuple[str | None, tuple[str, bool] | None, str]] = {}
    pool: list[Sentence] = []
    for report in story:
        name: str | None = None
        thing: tuple[str, bool] | None = None  # what an "it" the sentence before named stood for
        known: list[str] = []
        before = ""
        for s in report.sentences:
            if id(s) not in used and (s.position > 0 or report is story[-1]) and s.penalty < 1.0:
                pool.append(s)
                names[id(s)] = name, thing, before
            subject = full_name(named_subject(s.text), known)
            if subject:
                known.append(subject)
            # English "he" and "she" stand for a person: the one last named. Elsewhere "il",
            # "elle", "er" may stand for a thing: only the subject of the sentence before counts.
            name = subject or (name if lang == "en" else None)
            # "it" and "they" stand for the subject of the sentence before, or for what the
            # "it" of the sentence before stood for
            if lang == "en" and opens_with_it(s.text):
                thing = thing or thing_subject(before)
                thing = thing if name_thing(s.text, thing) != s.text else None
            else:
                thing = None
            before = s.text
    _supersede(story, pool)
    # where the newest report's body adds few figures, dates or acts, its facts are in its lead
    lead = LEAD_PLACE * max(0.0, 1.0 - body_facts(story[-1].sentences) / _SPREAD_FACTS)
    for s in pool:
        s.subject = about_subject(s.units, df, told)
        s.lead = lead if s.part == story[-1].part else 0.0
    pool.sort(key=lambda s: -value(s, told))
    for s in pool[:_POOL]:
        s.point = ""
        s.name, s.thing, before = names[id(s)]
        s.before = before if lang == "en" else ""
        s.units = boosted(s.units, df)
    return pool[:_POOL]


LEAD_PLACE = 20.0  # more weight of an early place in a report whose body adds no facts
_SPREAD_FACTS = 0.3  # new figures, dates or acts per sentence of a body that spreads its facts
_LEAD_SENTENCES = 5


def body_facts(sentences: list[Sentence]) -> float:
    """New figures, dates and acts per sentence after a report's lead: how far it spreads its
    facts. News told in its lead goes on with quotes, background and colour; a report of a
    budget, a ruling or a study goes on with figures and acts the lead does not give."""
    lead = {u for s in sentences[:_LEAD_SENTENCES] for u in s.units if u[0] in FACT_UNITS}
    body = sentences[_LEAD_SENTENCES:]
    new = {u for s in body for u in s.units if u[0] in FACT_UNITS} - lead
    return len(new) / len(body) if body else 1.0


def _ready(s: Sentence, df: dict[str, int], lang: str) -> bool:
    """Make ``s`` its key point; whether it can be one. Its units and length become the point's."""
    s.point = _as_point(s, lang)
    if not s.point:
        return False
    if s.point != s.text:
        s.units = boosted(units(s.point, lang), df)
    s.words = len(s.point.split())  # what the reader reads: the point, not the sentence
    return True


def _supersede(story: list[_Report], pool: list[Sentence]) -> None:
    """A newer report's figures supersede: a figure that a newer report states again is told
    by that report, so an older report's sentence gains nothing for it."""
    if len(story) < 2:
        return
    newer: dict[tuple[int, int], set[str]] = {}
    seen: set[str] = set()
    for report in reversed(story):  # newest first: each report knows the figures of newer ones
        newer[report.part] = set(seen)
        seen.update(u for s in report.sentences for u in s.units if u[0] == "#")
    for s in pool:
        stale = newer.get(s.part, set()).intersection(s.units)
        if stale:
            s.units = {u: w for u, w in s.units.items() if u not in stale}


def _by_recency(sources: Sequence[Source], lang: str) -> list[_Report]:
    """All reports of the story, oldest first (the last one is the newest)."""
    story: list[_Report] = []
    count = 0
    for src in sources:
        found = _read(src, lang, count)
        count += sum(len(r.sentences) for r in found)
        story.extend(r for r in found if r.sentences)
    return sorted(story, key=lambda r: r.recency)


def _lead(sentences: list[Sentence], title: str | None) -> Condensed:
    """The first sentence as the summary and the next three as key points."""
    first = sentences[0]
    summary = finish(fit(first.text, MAX_SUMMARY_WORDS) or " ".join(first.text.split()[:MAX_SUMMARY_WORDS]))
    points = [KeyPoint(finish(fit(s.text, MAX_POINT_WORDS) or s.text), s.source) for s in sentences[1:4]]
    headline = clean_headline(title) if title else headline_from_lead(first.text, "en")
    return Condensed(headline or summary[:80], summary, tuple(points), language="unk")


def condense_sources(sources: Sequence[Source], *, max_key_points: int = 5) -> Condensed:
    """Condense one story told by one or more sources into a headline, summary and key points.

    Raises:
        CondenseError: no source holds usable text.
    """
    sample = " ".join(src.text[:2000] for src in sources[:3])
    lang = detect_language(sample)
    rule_lang = lang if lang != "unk" else "en"
    story = _by_recency(sources, rule_lang)
    if not story:
        raise CondenseError("no usable text to condense")
    newest = story[-1]
    title = newest.title or next((r.title for r in reversed(story) if r.title), None)
    if lang == "unk":  # No rules for an unknown language: its lead is the honest choice.
        return _lead(newest.sentences, title)
    summary, used = summarize(newest.sentences, title, rule_lang)
    for s in newest.sentences[: newest.sentences.index(used[0])]:
        s.flaw = s.penalty + SCENE  # the opening scene the summary skipped: colour, not news
    headline = clean_headline(title) if title else headline_from_lead(used[0].text, rule_lang)
    told = units(summary, rule_lang)
    df = repeats_of([s for r in story for s in r.sentences])
    candidates = _candidates(story, {id(s) for s in used}, told, df, rule_lang)
    picked = choose(
        candidates, told, most=max_key_points, least=_LEAST_POINTS, ready=lambda s: _ready(s, df, rule_lang)
    )
    points: list[KeyPoint] = []
    for s in sorted(picked, key=lambda s: s.order):
        if not any(same_text(s.point, p.text) for p in points):
            points.append(KeyPoint(s.point, s.source))
    return Condensed(headline or summary[:80], summary, tuple(points[:max_key_points]), language=lang)
