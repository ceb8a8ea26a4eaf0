"""The view model: what the templates see of an edition. Contains no I/O.

Everything from feeds is untrusted plain text; the HTML templates escape it (jinja
autoescape), and only http(s) links with a host survive :func:`safe_link`.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from urllib.parse import urlsplit

from ..htmltext import strip_bidi
from ..models import Edition, EditionStory, Subscriber

WORDS_PER_MINUTE = 230
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_LONG_MONTHS = {"Jan": "January", "Feb": "February", "Mar": "March", "Apr": "April", "Jun": "June"}
_LONG_MONTHS |= {"Jul": "July", "Aug": "August", "Sep": "September", "Oct": "October"}
_LONG_MONTHS |= {"Nov": "November", "Dec": "December"}
_DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_SPACE = re.compile(r"\s+")
_UNSAFE_URL = re.compile(r"[\s\x00-\x1f\x7f<>\"'`\\]")


@dataclass(frozen=True, slots=True)
class Ref:
    """A link listed by number at the end of the plain-text part."""

    number: int
    url: str


@dataclass(frozen=True, slots=True)
class Source:
    """A named link to one report (an outlet and its article)."""

    name: str
    link: str
    ref: int | None


@dataclass(frozen=True, slots=True)
class PointView:
    text: str
    source: Source


@dataclass(frozen=True, slots=True)
class StoryView:
    headline: str
    link: str
    ref: int | None
    source: str
    summary: str
    key_points: tuple[PointView, ...]
    also: tuple[Source, ...]
    reading_minutes: int
    topic: str | None
    outlets: int = 1  # distinct outlets that reported it: key points name theirs only when > 1


@dataclass(frozen=True, slots=True)
class SectionView:
    topic: str | None
    label: str
    stories: tuple[StoryView, ...]


def one_line(text: str) -> str:
    """Collapse all whitespace (newlines included) to single spaces; drop bidirectional-text
    controls (a stored name or headline from before they were stripped at the door)."""
    return _SPACE.sub(" ", strip_bidi(text)).strip()


def safe_link(url: str) -> str:
    """``url`` when it is an absolute http(s) URL with a host, else ``""``."""
    url = url.strip()
    if not url or _UNSAFE_URL.search(url):
        return ""
    try:
        parts = urlsplit(url)
    except ValueError:
        return ""
    return url if parts.scheme.lower() in ("http", "https") and parts.hostname else ""


def long_date(day: date) -> str:
    """``Thursday, 26 November 2026`` (English; locale-independent on purpose)."""
    month = _MONTHS[day.month - 1]
    return f"{_DAYS[day.weekday()]}, {day.day} {_LONG_MONTHS.get(month, month)} {day.year}"


def short_date(day: date) -> str:
    """``26 Nov 2026``."""
    return f"{day.day} {_MONTHS[day.month - 1]} {day.year}"


def topic_label(topic: str | None, *, alone: bool) -> str:
    """A section heading: the topic as written, capitalised; none for a lone untopical section."""
    if topic is None:
        return "" if alone else "More news"
    text = one_line(topic.replace("_", " "))
    return text[:1].upper() + text[1:]


def reading_minutes(text: str) -> int:
    """Minutes to read ``text`` at an ordinary adult pace; at least one."""
    return max(1, math.ceil(len(text.split()) / WORDS_PER_MINUTE))


def select(edition: Edition, subscriber: Subscriber) -> tuple[int, ...]:
    """Indexes of the stories a subscriber gets: all, or those of their topics (case-insensitive)."""
    if not subscriber.topics:
        return tuple(range(len(edition.stories)))
    wanted = {t.strip().casefold() for t in subscriber.topics}
    return tuple(
        i for i, s in enumerate(edition.stories) if s.topic is not None and s.topic.casefold() in wanted
    )


class _Numbering:
    """Numbers distinct links in order of first use, for the text part's link list."""

    def __init__(self) -> None:
        self.refs: dict[str, int] = {}

    def __call__(self, url: str) -> int | None:
        if not url:
            return None
        return self.refs.setdefault(url, len(self.refs) + 1)


def _story(es: EditionStory, number: _Numbering) -> StoryView:
    """One story's view, its links numbered in the order the text part shows them: the story's
    own link, then the key points' sources (only named when several outlets reported it), then
    the other outlets."""
    articles = es.story.articles
    lead = articles[0]
    link = safe_link(lead.link)
    ref = number(link)
    outlets = len({one_line(a.feed_name) for a in articles})

    def source(index: int, *, numbered: bool) -> Source:
        a = articles[index] if 0 <= index < len(articles) else lead
        url = safe_link(a.link)
        return Source(
            one_line(a.feed_name) or "source", url, number(url) if numbered else number.refs.get(url)
        )

    summary = strip_bidi(es.condensed.summary).strip()
    # A point the summary already says in full (an extractive condenser may repeat the lead
    # sentence, sometimes cut with "…") would only make the reader read it twice.
    said = one_line(summary).casefold()
    points = tuple(
        PointView(one_line(k.text), source(k.source, numbered=outlets > 1))
        for k in es.condensed.key_points
        if one_line(k.text).rstrip("…. ").casefold() not in said
    )
    seen = {(one_line(lead.feed_name), link)}
    also: list[Source] = []
    for i in range(1, len(articles)):
        s = source(i, numbered=True)
        if (s.name, s.link) not in seen:
            seen.add((s.name, s.link))
            also.append(s)
    return StoryView(
        headline=one_line(es.condensed.headline) or one_line(lead.title),
        link=link,
        ref=ref,
        source=one_line(lead.feed_name),
        summary=summary,
        key_points=points,
        also=tuple(also),
        reading_minutes=reading_minutes(lead.text),
        topic=es.topic,
        outlets=outlets,
    )


def sections(edition: Edition, indexes: Sequence[int]) -> tuple[tuple[SectionView, ...], tuple[Ref, ...]]:
    """The chosen stories grouped by topic (in order of first appearance) and the numbered links.

    Links are numbered in reading order: section by section, as the email shows them, not in
    the edition's rank order (which interleaves the sections).
    """
    by_topic: dict[str | None, list[EditionStory]] = {}
    for i in indexes:
        es = edition.stories[i]
        by_topic.setdefault(es.topic, []).append(es)
    alone = len(by_topic) == 1
    number = _Numbering()
    out = tuple(
        SectionView(topic, topic_label(topic, alone=alone), tuple(_story(es, number) for es in stories))
        for topic, stories in by_topic.items()
    )
    return out, tuple(Ref(n, url) for url, n in number.refs.items())


def headlines(secs: Iterable[SectionView]) -> list[str]:
    """Every headline, in the order the email shows them."""
    return [s.headline for sec in secs for s in sec.stories]


def default_preheader(heads: Sequence[str], subject: str = "", fallback: str = "", limit: int = 140) -> str:
    """The preview line: the headlines the subject does not already name, joined, cut at a word
    near ``limit`` characters; ``fallback`` (the lead story's summary) when the subject names
    them all. It follows the subject in the inbox: it adds to it rather than repeating it."""
    said = one_line(subject).casefold()
    rest = [h for h in heads if one_line(h).casefold() not in said]
    text = " · ".join(rest[:3]) if rest else one_line(fallback)
    if len(text) <= limit:
        return text
    return text[:limit].rsplit(" ", 1)[0].rstrip(" ·,;:") + "…"
