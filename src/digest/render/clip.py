"""The Gmail clip guard: keep every HTML part sent under a limit. Contains no I/O.

Gmail shows only the first 102 KB of an email's HTML and hides the rest behind "[Message
clipped]", the footer with the unsubscribe link included. At about 2.2 KB per story, 40
stories cross it. :func:`fit` measures the largest HTML part an edition makes for its
readers and, when it is over the limit, drops the lowest-ranked stories (the edition keeps
them best first) until every reader's part fits.

Sizes are bytes of the HTML part *as sent*: the quoted-printable body in the message, a few
percent larger than the decoded HTML that Gmail counts, so a limit on it is on the safe side.
Readers differ: their topics choose the stories, and their own values (greeting, address,
signed links) differ in length. Readers are grouped by topics, and each group is measured with
the longest value of each kind among its members: a bound for every one of them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime

from ..config import Settings
from ..models import Edition, Subscriber
from . import EditionRenderer

KB = 1000  # the limit is in kilobytes of 1,000 bytes: 100 KB stays under Gmail's 102 KB either way
_ANYONE = "reader@example.org"


@dataclass(frozen=True, slots=True)
class Readers:
    """Who an edition goes to, as far as its size goes: per set of topics (casefolded; empty:
    every topic), the most bytes each per-subscriber value takes in the HTML part."""

    groups: Mapping[frozenset[str], Mapping[str, int]]


def readers_of(renderer: EditionRenderer, subscribers: Iterable[Subscriber]) -> Readers:
    """Group active ``subscribers`` by topics and keep the largest size of each value; with no
    active subscriber, one reader of every topic (the desk's sample) stands in."""
    groups: dict[frozenset[str], dict[str, int]] = {}
    for sub in subscribers:
        if not sub.active:
            continue
        sizes = renderer.slot_sizes(sub)
        group = groups.setdefault(frozenset(t.strip().casefold() for t in sub.topics), {})
        for name, size in sizes.items():
            group[name] = max(size, group.get(name, 0))
    if not groups:
        groups[frozenset()] = renderer.slot_sizes(Subscriber(_ANYONE, "Sample Reader"))
    return Readers(groups)


def largest_part(renderer: EditionRenderer, readers: Readers) -> int:
    """Bytes of the largest HTML part the renderer's edition makes for any of ``readers``."""
    sizes = (
        renderer.html_size(Subscriber(_ANYONE, topics=topics), slots)
        for topics, slots in readers.groups.items()
    )
    return max((s for s in sizes if s is not None), default=0)


@dataclass(frozen=True, slots=True)
class ClipCheck:
    """What the guard found and did. Sizes in bytes."""

    limit: int
    largest: int  # the largest HTML part of the edition as given
    fitted: int  # ... of the edition returned
    dropped: tuple[str, ...] = ()  # headlines of the stories dropped, best first
    trimmed: bool = False  # whether dropping stories was allowed

    @property
    def over(self) -> bool:
        """Whether the edition as given was over the limit."""
        return self.largest > self.limit

    def warnings(self) -> list[str]:
        """One line for the run summary and the desk; none when the edition fits."""
        if not self.over:
            return []
        was = f"the email's HTML part is {_kb(self.largest)}, over the {_kb(self.limit)} limit "
        why = "(Gmail clips at 102 KB and hides the rest, the unsubscribe link included)"
        if self.dropped:
            n = len(self.dropped)
            stories = "story" if n == 1 else f"{n} stories"
            return [f"{was}{why}: dropped the lowest-ranked {stories} to fit ({_kb(self.fitted)})"]
        if self.trimmed:
            return [f"{was}{why}: even its top story alone does not fit; sent as it is"]
        return [f"{was}{why}; render.trim_to_fit is off: sent as it is"]


def _kb(size: int) -> str:
    return f"{size // KB} KB" if size % KB == 0 else f"{size / KB:.1f} KB"


def fit(
    edition: Edition,
    settings: Settings,
    *,
    secret: bytes,
    now: datetime,
    subscribers: Iterable[Subscriber],
    trim: bool,
) -> tuple[Edition, ClipCheck]:
    """The edition, with its lowest-ranked stories dropped when (and as far as) it must be to
    keep every reader's HTML part within ``render.clip_limit_kb``.

    Args:
        subscribers: who it goes to; only the active ones count.
        trim: drop stories when over the limit (else only measure).

    Returns:
        The edition (unchanged when it fits, when ``trim`` is false, or when not even its top
        story fits) and what was found.

    Raises:
        TemplateError, HeaderError, ConfigError: as :class:`EditionRenderer` does.
    """
    limit = settings.render.clip_limit_kb * KB
    renderer = EditionRenderer(edition, settings, secret=secret, now=now)
    readers = readers_of(renderer, subscribers)
    largest = largest_part(renderer, readers)
    if largest <= limit or not trim:
        return edition, ClipCheck(limit, largest, largest, trimmed=trim)
    # the most stories, best first, that fit: a part grows with every story kept
    best: tuple[int, int] | None = None
    low, high = 1, len(edition.stories) - 1
    while low <= high:
        keep = (low + high) // 2
        kept = replace(edition, stories=edition.stories[:keep])
        size = largest_part(EditionRenderer(kept, settings, secret=secret, now=now), readers)
        if size <= limit:
            best, low = (keep, size), keep + 1
        else:
            high = keep - 1
    if best is None:
        return edition, ClipCheck(limit, largest, largest, trimmed=True)
    keep, size = best
    dropped = tuple(s.condensed.headline for s in edition.stories[keep:])
    return replace(edition, stories=edition.stories[:keep]), ClipCheck(limit, largest, size, dropped, True)
