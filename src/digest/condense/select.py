"""Choosing key points by what they add: greedy maximal coverage of the story's content units.

Every sentence carries content units (:mod:`.units`): the stems of its words, weighted by how rare
the word is in its language, and its numbers. The summary covers some; each key point is then
the candidate that adds the most uncovered weight for its length (a budgeted maximal coverage, as
in Lin & Bilmes 2011), less penalties for quotes, questions, captions and fragments, plus a small
bonus for an early place in its report (news puts the facts first, but the facts of the middle
and the end count too; a report whose body adds few facts keeps them in its lead, and there an
early place counts more) and for being about the story's subject. A candidate that tells a fact
already chosen, in its own words or another outlet's, adds little and is not chosen; one that
repeats a chosen point nearly word for word is never chosen. Points are added while they bring a
new fact: five when the story holds that many, at least three whenever there is enough text.
Contains no I/O.
"""

from __future__ import annotations

import heapq
import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field

from .units import numbers

_QUOTE_START = re.compile(r"^[\"“‘'«„]")
_CAPTION = re.compile(r"^(?:[A-Z][\w'’-]*\s){0,3}[A-Z][\w'’-]*:\s")
_VAGUE = re.compile(
    r"^There (?:is|are|was|were|have been|has been) (?:growing|increasing|mounting|some|many)\b"
)
DANGLING = re.compile(  # "This move…": its referent is in a sentence the reader does not see
    r"(?i)^(?:this|that|these|those|such)\b(?!\s+(?:year|week|month|morning|afternoon|evening|weekend)\b)"
)
# Verbs that report an act (a decision, a promise, a confirmation, a denial): the facts of news;
# and verbs that report a statement, which count for less.
# Stems that are also common nouns or adjectives ("the rule", "fine", "fire", "a sign", "found"
# of "find") count only in a verb's form.
_DECISION = re.compile(  # (a lower-case letter first: the search skips the rest quickly)
    r"\b(?=[a-z])(?:(?:confirm|promis|pledg|announc|summon|den[yi]|dismiss|reject|agree|approv|vot|order"
    r"|arrest|launch|ban|declar|sentenc|convict|resign|elect|appoint|died|kill|charg|conced"
    r"|withdr[ae]w|recall|suspend|award|accept|sued?|settl|plead|acquitt?|releas|step(?:s|ped)? down)"
    r"(?:e|es|ed|ing|ied|ies|s)?|(?:rul|fin|fir|found)(?:ed|ing)|sign(?:ed|ing|s)"
    # French, German and Spanish: the participle or the past tense of the same acts
    r"|(?:annonc|confirm|promi|sign|dément|rejet|vot|approuv|adopt|démissionn|condamn|arrêt|suspend"
    r"|accept|refus|décid|ordonn|nomm|licenci)(?:é|ée|és|ées|is|ise|i|it)"
    r"|(?:angekündigt|bestätigt|versprochen|unterzeichnet|dementiert|abgelehnt|beschlossen|gewählt"
    r"|verurteilt|festgenommen|zurückgetreten|genehmigt|entlassen)"
    r"|(?:anunci|confirm|prometi|firm|neg|rechaz|vot|aprob|dimiti|conden|decidi|orden)(?:ó|ado|ada|aron|ieron))\b"
)
_STATEMENT = re.compile(
    r"\b(?=[a-z])(?:(?:warn|reveal|accus|vow|threaten|condemn|urg|demand)(?:e|es|ed|ing|s)?"
    r"|(?:réclam|exig|demand|dénonc|menac|accus)(?:e|ent|é|ait|aient)"
    r"|(?:forder|warn|droh|kritisier)(?:t|te|ten|n)|(?:exig|reclam|advirti|amenaz)(?:e|en|ió|ó|a|an))\b"
)
_TOKENS = re.compile(r"[^\W_]+")
_FIRST_PERSON = re.compile(
    # (a letter first, then what precedes it: the search skips quickly to those letters)
    r"[Imwuo](?<!\w[Imwuo])(?:(?<=I)|(?<=m)[ey]|(?<=w)e|(?<=u)s|(?<=o)ur)\b"
    r"|(?i:[jniwy](?<!\w[jniwy])(?:(?<=j)(?:e\b|'(?=\w))|(?<=n)(?:ous|osotros)\b|(?<=i)ch\b|(?<=w)ir\b|(?<=y)o\b))"
)
_SPEECH = 0.3
_CAPTION_PENALTY = 0.4
_COLOUR = 0.1
# a figure, or a name after the first word: what makes a sentence a fact of this story
_CONCRETE = re.compile(r"\d|\s[A-ZÀ-Ý][\w'’-]*[a-zà-ÿ]")
_LENGTH_POWER = 0.5  # gain per word^r: long sentences carry more, but cost the reader more
_POSITION = 5.0  # weight of an early place in the report
_PENALTY = 6.0  # a quote or a question must add much more to be chosen
_DECISION_BONUS = 2.0
# A point about the story's subject (what the story says again and again, what the summary tells)
# with a fact of its own is worth more than a stray detail of the same weight: news retells its
# subject as it adds to it. Measured on news with reference summaries (docs/condensing.md).
_REPEATED = 1.5
_RETOLD = 1.0
_SPREAD = 1.5  # for a point from a section or report that has given none
MIN_GAIN = 6.0  # a point that adds less uncovered weight than this is no new fact
_WEAK = 0.5  # a penalty this high (a scene, a question) is worth a point only to reach the least
_MAX_REPEATS = 3
REPEAT_BOOST = 0.3
_DUPLICATE = 0.5  # token Jaccard above which two points say the same thing
_COVERED = 0.6  # share of a point's weight already told above which it repeats
_LIST_ITEM = 1.0  # an item of a list is no sentence: never a point


@dataclass(slots=True)
class Sentence:
    """A sentence of a story with what scoring and selection need to know about it."""

    text: str
    source: int
    position: int  # sentences from the start of its report
    order: float  # place in the story, to put key points back in story order
    part: tuple[int, int]  # (source, report): which report of the story it belongs to
    section: tuple[int, int]  # (source, section): the part of a page under one heading
    words: int
    units: dict[str, float] = field(default_factory=dict)
    point: str = ""  # the sentence as a key point: compressed, complete, short
    name: str | None = None  # whom an opening "he" or "she" stands for
    thing: tuple[str, bool] | None = None  # what an opening "it" or "they" stands for (plural)
    before: str = ""  # the sentence before, whose subject an opening "it" may stand for
    subject: float = 0.0  # how much it is about the story's subject (:func:`about_subject`)
    lead: float = 0.0  # how much more an early place counts in its report (facts kept in the lead)
    flaw: float = -1.0  # its penalty, computed once
    base: float | None = None  # its value before what it adds, computed once
    stated: tuple[str, tuple[str, ...], frozenset[str]] | None = None  # text, figures, words

    @property
    def figures(self) -> tuple[str, ...]:
        """The figures it states as units (a newer report's figures kept), computed once."""
        return self._said()[1]

    @property
    def tokens(self) -> frozenset[str]:
        """Its words as :func:`tokens` gives them, computed once."""
        return self._said()[2]

    def _said(self) -> tuple[str, tuple[str, ...], frozenset[str]]:
        """What it says (the point once made, else the sentence), with its figures and words."""
        text = self.point or self.text
        if self.stated is None or self.stated[0] != text:
            self.stated = (text, tuple(f"#{n}" for n in numbers(text)), frozenset(tokens(text)))
        return self.stated

    @property
    def penalty(self) -> float:
        """:func:`penalty`, computed once."""
        if self.flaw < 0:
            self.flaw = penalty(self)
        return self.flaw

    @property
    def prior(self) -> float:
        """What the sentence is worth whatever is chosen: an early place in its report, a
        decision or statement, how much it is about the story's subject, less its penalty."""
        if self.base is None:
            early = (_POSITION + self.lead) / (1.0 + 0.25 * self.position)
            decision = _DECISION_BONUS if _DECISION.search(self.text) else 0.0
            decision = decision or (_DECISION_BONUS / 2 if _STATEMENT.search(self.text) else 0.0)
            self.base = early + decision + self.subject - _PENALTY * self.penalty
        return self.base


def penalty(s: Sentence) -> float:
    """How unlike a key point a sentence is: quotes, questions, captions and fragments."""
    p = 0.0
    if s.words < 6:
        p += 0.6
    if s.text[:1].islower() and not s.text[1:2].isupper():  # a list's item ("growth of 0.9%;"), not "iPhone"
        p += _LIST_ITEM
    if s.words > 55:
        p += 0.3
    if _QUOTE_START.match(s.text) or s.text.count('"') + s.text.count("“") + s.text.count("«") >= 2:
        p += 0.35
    if s.text.rstrip("\"”’»' ").endswith("?"):
        p += 0.5
    if _CAPTION.match(s.text):
        p += _CAPTION_PENALTY
    if DANGLING.match(s.text) or _VAGUE.match(s.text):
        p += 0.4
    if _FIRST_PERSON.search(s.text):  # speech, whether or not its quote marks survived
        p += _SPEECH
    if not _CONCRETE.search(s.text) and not _DECISION.search(s.text):
        p += _COLOUR  # no figure, no name, no act: a scene or a comment rather than a fact
    return p


def repeats_of(sentences: list[Sentence]) -> dict[str, int]:
    """In how many sentences each unit appears."""
    df: dict[str, int] = {}
    for s in sentences:
        for u in s.units:
            df[u] = df.get(u, 0) + 1
    return df


def about_subject(units: dict[str, float], df: dict[str, int], summary: dict[str, float]) -> float:
    """How much a sentence is about the story's subject, by weight of what it tells: the units
    the story says again (0 when each is said once, up to 3 when each is said four times or
    more) and the share the summary tells. What it adds still counts in :func:`gain`."""
    total = repeated = retold = 0.0
    for u, w in units.items():
        total += w
        repeated += w * min(df.get(u, 1) - 1, _MAX_REPEATS)
        if u in summary:
            retold += w
    return (_REPEATED * repeated + _RETOLD * retold) / total if total else 0.0


def boosted(units: dict[str, float], df: dict[str, int]) -> dict[str, float]:
    """``units`` with the weight of those the story repeats (its subject) raised: a word said in
    three sentences matters more than a rare word said once in passing."""
    return {u: w * (1.0 + REPEAT_BOOST * min(df.get(u, 1) - 1, _MAX_REPEATS)) for u, w in units.items()}


def tokens(text: str) -> set[str]:
    """Lower-case letters-and-digits tokens, for telling near-identical sentences apart."""
    return set(_TOKENS.findall(text.casefold()))


def _duplicate(a: Sentence, b: Sentence) -> bool:
    """Whether two candidate points say the same thing nearly word for word."""
    ta, tb = a.tokens, b.tokens
    union = ta | tb
    return bool(union) and len(ta & tb) / len(union) > _DUPLICATE


def gain(s: Sentence, covered: dict[str, float]) -> float:
    """The weight of the units ``s`` tells that nothing chosen so far tells."""
    return sum(w for u, w in s.units.items() if u not in covered)


def repeats(s: Sentence, covered: dict[str, float]) -> bool:
    """Whether most of what ``s`` tells (by weight) is told already, or every figure it gives
    and no new act ("The mission cost $1.4 billion…" after a summary that gives the cost)."""
    total = sum(s.units.values())
    if total <= 0 or 1 - gain(s, covered) / total >= _COVERED:
        return True
    figures = s.figures
    acts = [u for u in s.units if u[0] == "!" and u not in covered]  # "…has confirmed the 2,000"
    return bool(figures) and not acts and all(u in covered for u in figures)


def value(s: Sentence, covered: dict[str, float], spread: set[tuple[int, int]] | None = None) -> float:
    """What choosing ``s`` is worth now: new weight per word^r, an early place, less penalties;
    more when its section or report has given no point yet (``spread``: those that have not)."""
    bonus = _SPREAD if spread and (s.section in spread or s.part in spread) else 0.0
    return gain(s, covered) / math.pow(max(s.words, 1), _LENGTH_POWER) + s.prior + bonus


def choose(
    candidates: list[Sentence],
    covered: dict[str, float],
    *,
    most: int,
    least: int,
    ready: Callable[[Sentence], bool] | None = None,
) -> list[Sentence]:
    """Greedy maximal coverage: up to ``most`` points, each adding a fact the summary and the
    points before it do not tell; fewer only when nothing new is left, never fewer than
    ``least`` while a candidate that is not a repeat remains.

    ``ready`` makes a candidate its key point (compressed, named) when it first comes out best,
    and says whether it can be one; it is weighed again as the point it became. Only the few
    that come out best are compressed: that is where the time goes."""
    told = dict(covered)
    chosen: list[Sentence] = []
    spread = _speakers(candidates)
    # lazy greedy (CELF): what a candidate adds only shrinks as points are chosen, so its value
    # from an earlier round bounds its value now; only the top one is weighed again
    heap = [(-value(s, told, spread), i, 0, s) for i, s in enumerate(candidates)]
    heapq.heapify(heap)
    rounds = 0  # how many points were chosen when each value was weighed
    while heap and len(chosen) < most:
        _, i, weighed, best = heapq.heappop(heap)
        if weighed != rounds:
            heapq.heappush(heap, (-value(best, told, spread), i, rounds, best))
            continue
        if ready is not None and not best.point:
            if ready(best):  # weighed again as the point it became
                heapq.heappush(heap, (-value(best, told, spread), i, rounds, best))
            continue
        rounds += 1
        spread -= {best.section, best.part}
        new = gain(best, told)
        if len(chosen) >= least and (new < MIN_GAIN or repeats(best, told) or best.penalty >= _WEAK):
            break
        rest = (entry[3] for entry in heap)
        if repeats(best, told) and len(chosen) < least and any(not repeats(s, told) for s in rest):
            continue
        if any(_duplicate(best, c) for c in chosen):
            continue
        chosen.append(best)
        told.update(best.units)
    return chosen


def _speakers(pool: list[Sentence]) -> set[tuple[int, int]]:
    """The sections (a heading's paragraphs) and reports of two candidates or more, when the
    story has several sections: each should give a point."""
    sizes: dict[tuple[int, int], int] = {}
    for s in pool:
        sizes[s.section] = sizes.get(s.section, 0) + 1
        sizes[s.part] = sizes.get(s.part, 0) + 1
    return {k for k, n in sizes.items() if n >= 2} if len({s.section for s in pool}) > 1 else set()
