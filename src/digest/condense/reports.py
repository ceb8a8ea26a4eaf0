"""Reports within one page: where a second report of the story begins, its title and its date.

Pages (and scrapers) often set two reports of one story one after the other: a first-day report,
then an update under its own title, byline and date. A newer report's figures supersede the older
ones, so the condenser needs to know which paragraphs belong to which report and which report is
newest. A report begins where the lines between two paragraphs hold a date line or a separator
rule, or where a byline precedes a paragraph that opens with a dateline ("UPPER DUNN — …").
Contains no I/O.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_MONTHS = {
    **dict.fromkeys(("january", "jan", "janvier", "janv", "januar", "jän", "enero", "ene"), 1),
    **dict.fromkeys(("february", "feb", "février", "févr", "februar", "febrero"), 2),
    **dict.fromkeys(("march", "mar", "mars", "märz", "marzo"), 3),
    **dict.fromkeys(("april", "apr", "avril", "avr", "abril", "abr"), 4),
    **dict.fromkeys(("may", "mai", "mayo"), 5),
    **dict.fromkeys(("june", "jun", "juin", "juni", "junio"), 6),
    **dict.fromkeys(("july", "jul", "juillet", "juil", "juli", "julio"), 7),
    **dict.fromkeys(("august", "aug", "août", "agosto", "ago"), 8),
    **dict.fromkeys(("september", "sep", "sept", "septembre", "septiembre", "setiembre"), 9),
    **dict.fromkeys(("october", "oct", "octobre", "oktober", "okt", "octubre"), 10),
    **dict.fromkeys(("november", "nov", "novembre", "noviembre"), 11),
    **dict.fromkeys(("december", "dec", "décembre", "déc", "dezember", "dez", "diciembre", "dic"), 12),
}
_MONTH = r"(?P<month>[^\W\d_]{3,10})\.?"
_DAY_FIRST = re.compile(rf"(?i)\b(?P<day>\d{{1,2}})\.?\s+(?:de\s+)?{_MONTH}\s+(?:de\s+)?(?P<year>\d{{4}})\b")
_MONTH_FIRST = re.compile(rf"(?i)\b{_MONTH}\s+(?P<day>\d{{1,2}}),?\s+(?P<year>\d{{4}})\b")
_NUMERIC = re.compile(r"\b(?P<day>\d{1,2})[/.](?P<month>\d{1,2})[/.](?P<year>\d{4})\b")
_ISO = re.compile(r"\b(?P<year>\d{4})-(?P<month>\d{2})-(?P<day>\d{2})\b")
_TIME = re.compile(r"(?i)\b(?P<h>\d{1,2})[:.h](?P<m>\d{2})\s*(?P<pm>[ap]\.?m\.?)?")
_SEPARATOR = re.compile(r"^[\W_]{3,}$")
_AUTHOR = re.compile(r"^(?:[Bb]y|[Pp]ar|[Vv]on|[Pp]or)\s+[A-ZÀ-Ý]")

Date = tuple[int, int, int, int, int]


@dataclass(slots=True)
class Section:
    """Paragraphs under one heading, the title set over them, and the report they belong to."""

    paragraphs: list[str] = field(default_factory=list)
    title: str | None = None
    report: int = 0
    date: Date | None = None


def find_date(line: str) -> Date | None:
    """The first date (and time, when given) in ``line`` as a sortable tuple, or ``None``."""
    for pattern in (_DAY_FIRST, _MONTH_FIRST, _ISO, _NUMERIC):
        m = pattern.search(line)
        if m is None:
            continue
        month_text = m.group("month")
        month = int(month_text) if month_text.isdigit() else _MONTHS.get(month_text.casefold(), 0)
        if not 1 <= month <= 12:
            continue
        hour = minute = 0
        t = _TIME.search(line, m.end())
        if t:
            hour, minute = int(t.group("h")) % 24, int(t.group("m")) % 60
            if t.group("pm") and t.group("pm")[0].lower() == "p" and hour < 12:
                hour += 12
        return (int(m.group("year")), month, int(m.group("day")), hour, minute)
    return None


def is_date_line(line: str) -> bool:
    """A line that only gives a date or time (with a weekday, an outlet or "Updated")."""
    if len(line.split()) > 14 or find_date(line) is None:
        return False
    rest = re.sub(r"\d+|[^\w\s]", " ", line)
    return sum(1 for w in rest.split() if w[:1].islower() and len(w) > 3) <= 3


def starts_report(header: list[str], paragraph: str, dateline: re.Pattern[str]) -> bool:
    """Whether a paragraph opens a new report: its header lines hold a date or a rule, or a
    byline and it begins with a dateline."""
    dated = any(is_date_line(h) or _SEPARATOR.match(h) for h in header)
    # a byline alone is no mark: pages set one between a summary box and the report
    signed = any(_AUTHOR.match(h) for h in header)
    return dated or (signed and bool(dateline.match(paragraph)))


def header_date(header: list[str]) -> Date | None:
    """The date a report's header gives, if any."""
    return next((d for d in map(find_date, header) if d is not None), None)


def header_title(header: list[str], is_clutter: object) -> str | None:
    """The line of a report's header that reads as its title: four words or more, not a date,
    a byline, an outlet's name in capitals or page furniture."""
    for line in reversed(header):
        words = line.split()
        if len(words) < 4 or line.isupper() or is_date_line(line) or _AUTHOR.match(line):
            continue
        if callable(is_clutter) and is_clutter(line):
            continue
        return line
    return None


def ranks(sections: list[Section]) -> dict[int, int]:
    """How recent each report of a page is, 0 for the oldest: by date when every report has
    one, else in page order (an update is set below the report it updates)."""
    firsts: dict[int, Section] = {}
    for s in sections:
        firsts.setdefault(s.report, s)
    if all(s.date is not None for s in firsts.values()):
        order = sorted(firsts, key=lambda r: (firsts[r].date, r))
    else:
        order = sorted(firsts)
    return {r: i for i, r in enumerate(order)}
