"""Plain typed data passed between the stages.

config -> gather -> condense -> select -> render -> deliver. Every stage takes and returns
these frozen dataclasses; none of them does I/O. Timestamps are timezone-aware (UTC).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum


@dataclass(frozen=True, slots=True)
class FeedSpec:
    """One feed named by the editor (config or ``--feed``): trusted, loopback included."""

    url: str
    name: str
    topic: str | None = None
    weight: float = 1.0


@dataclass(frozen=True, slots=True)
class Article:
    """One gathered entry, sanitized and ready to condense.

    ``title`` and ``text`` are plain text (escaped at render time); ``html`` is the
    sanitized HTML content as stored; ``link`` is an http(s) URL or ``""``.
    """

    id: str
    feed_url: str
    feed_name: str
    title: str
    link: str
    published: datetime
    html: str
    text: str
    topic: str | None = None
    weight: float = 1.0


@dataclass(frozen=True, slots=True)
class Story:
    """One event as reported by one or more outlets. ``articles[0]`` is the lead report."""

    id: str
    articles: tuple[Article, ...]
    topic: str | None = None
    score: float = 0.0

    @property
    def lead(self) -> Article:
        return self.articles[0]

    @property
    def published(self) -> datetime:
        return max(a.published for a in self.articles)


@dataclass(frozen=True, slots=True)
class KeyPoint:
    """A fact of a story; ``source`` is the index into ``Story.articles`` it came from."""

    text: str
    source: int = 0


@dataclass(frozen=True, slots=True)
class Condensed:
    """What the condenser makes of one story (or one article)."""

    headline: str
    summary: str
    key_points: tuple[KeyPoint, ...]
    language: str = "en"
    backend: str = "extractive"

    def as_json(self) -> dict[str, object]:
        """The public JSON shape of ``digest condense --json``."""
        return {
            "headline": self.headline,
            "summary": self.summary,
            "key_points": [k.text for k in self.key_points],
        }


@dataclass(frozen=True, slots=True)
class EditionStory:
    """A story placed in an edition, with its condensation."""

    story: Story
    condensed: Condensed

    @property
    def topic(self) -> str | None:
        return self.story.topic


@dataclass(frozen=True, slots=True)
class Edition:
    """The digest of one scheduled day in the configured timezone."""

    id: str  # e.g. "2026-11-26"
    day: date
    title: str
    stories: tuple[EditionStory, ...]
    created: datetime
    intro: str = ""
    subject: str = ""  # an editor's subject line; "" = the config's template
    preheader: str = ""  # an editor's preheader; "" = the config's template or the next headlines

    @property
    def topics(self) -> tuple[str | None, ...]:
        """Topics in order of first appearance (``None`` = no topic)."""
        seen: dict[str | None, None] = {}
        for s in self.stories:
            seen.setdefault(s.topic, None)
        return tuple(seen)


class SubscriberStatus(StrEnum):
    ACTIVE = "active"
    UNSUBSCRIBED = "unsubscribed"
    BOUNCED = "bounced"


@dataclass(frozen=True, slots=True)
class Subscriber:
    email: str  # normalized (email-validator)
    name: str = ""
    status: SubscriberStatus = SubscriberStatus.ACTIVE
    timezone: str | None = None
    topics: frozenset[str] = field(default_factory=frozenset)  # empty = every topic
    first_name: str = ""  # as given; "" = the first word of ``name`` (see ``greeting_name``)
    # the store's opaque id of this subscriber (``tokens.new_key``), which the links in their
    # emails are signed with; None for a reader the store does not know (a test copy). An
    # identity, not a value: two subscribers compare equal whatever their keys.
    key: str | None = field(default=None, compare=False)

    @property
    def active(self) -> bool:
        return self.status is SubscriberStatus.ACTIVE

    @property
    def greeting_name(self) -> str:
        """The name to greet the subscriber by: ``first_name``, else the first word of ``name``."""
        return self.first_name or next(iter(self.name.split()), "")


@dataclass(frozen=True, slots=True)
class OutgoingMessage:
    """A complete message as handed to a transport: envelope plus serialized bytes (CRLF)."""

    edition_id: str
    sender: str  # envelope MAIL FROM
    recipient: str  # envelope RCPT TO (ASCII: an IDN domain in its xn-- form)
    message_id: str
    data: bytes
    subscriber: str = ""  # the subscriber's address as the store keys it; default: recipient

    @property
    def ledger_key(self) -> str:
        """The address under which the ledger records this delivery."""
        return self.subscriber or self.recipient


@dataclass(frozen=True, slots=True)
class FeedState:
    """What the store remembers of a feed between runs (conditional GET and health)."""

    url: str
    etag: str | None = None
    last_modified: str | None = None
    moved_to: str | None = None
    last_success: datetime | None = None
    last_error: str | None = None
    last_error_at: datetime | None = None
    failures: int = 0  # consecutive
