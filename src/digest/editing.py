"""The changes an editor makes to an edition: pure functions from one Edition to the next.

The desk (and any other front end) parses a form, calls one of these, and hands the result
to ``Store.revise_edition``, which refuses it when the edition moved on or is being sent.
Contains no I/O. Every refusal is an :class:`~digest.errors.InputError` whose one-line
message names the field, so the desk can show it next to the form as it is.

The limits keep an edited edition renderable: a headline or subject is one line (it becomes
a header or a link text), and a story keeps the shape the templates expect (a headline, a
summary, at most :data:`MAX_KEY_POINTS` key points).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from dataclasses import replace

from .errors import InputError
from .htmltext import strip_bidi
from .models import Edition, EditionStory, KeyPoint

__all__ = [
    "MAX_HEADLINE",
    "MAX_KEY_POINT",
    "MAX_KEY_POINTS",
    "MAX_SUBJECT",
    "MAX_SUMMARY",
    "drop_story",
    "edit_story",
    "find_story",
    "move_story",
    "one_line",
    "set_message",
    "split_lines",
]

MAX_HEADLINE = 300
MAX_SUMMARY = 2000
MAX_KEY_POINTS = 8
MAX_KEY_POINT = 400
MAX_SUBJECT = 300


def _has_control(text: str, *, allow_newlines: bool) -> bool:
    allowed = {"\n", "\t"} if allow_newlines else {"\t"}
    return any(unicodedata.category(c) == "Cc" and c not in allowed for c in text)


def one_line(field: str, value: str, *, limit: int, required: bool) -> str:
    """``value`` stripped, checked to be one line of at most ``limit`` characters.

    Raises:
        InputError: it holds a line break or a control character, is too long, or is empty
            while ``required``.
    """
    text = strip_bidi(value).strip()  # invisible reordering could make it show as another text
    if "\n" in text or "\r" in text or "\u2028" in text or "\u2029" in text:
        raise InputError(f"{field}: must be one line")
    if _has_control(text, allow_newlines=False):
        raise InputError(f"{field}: holds a control character")
    if required and not text:
        raise InputError(f"{field}: must not be empty")
    if len(text) > limit:
        raise InputError(f"{field}: {len(text)} characters; at most {limit}")
    return text


def _paragraph(field: str, value: str, *, limit: int) -> str:
    text = strip_bidi(value).replace("\r\n", "\n").replace("\r", "\n").strip()
    if _has_control(text, allow_newlines=True):
        raise InputError(f"{field}: holds a control character")
    if not text:
        raise InputError(f"{field}: must not be empty")
    if len(text) > limit:
        raise InputError(f"{field}: {len(text)} characters; at most {limit}")
    return text


def split_lines(text: str) -> list[str]:
    """The non-blank lines of a textarea (key points are written one per line)."""
    return [
        line.strip() for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n") if line.strip()
    ]


def find_story(edition: Edition, story_id: str) -> int:
    """The index of the story with ``story_id``.

    Raises:
        InputError: no story of the edition has that id.
    """
    for i, placed in enumerate(edition.stories):
        if placed.story.id == story_id:
            return i
    raise InputError(f"story {story_id!r}: not in edition {edition.id}")


def _key_points(placed: EditionStory, lines: Sequence[str]) -> tuple[KeyPoint, ...]:
    """Key points from edited lines, each keeping the source article it came from.

    A line left as it was keeps its source; an edited line takes the source of the point
    that stood at its place (an editor usually rewords in place); a new one the lead report.
    """
    if len(lines) > MAX_KEY_POINTS:
        raise InputError(f"key points: {len(lines)} lines; at most {MAX_KEY_POINTS}")
    old = placed.condensed.key_points
    by_text = {k.text: k.source for k in old}
    articles = len(placed.story.articles)
    points = []
    for i, raw in enumerate(lines):
        text = one_line(f"key point {i + 1}", raw, limit=MAX_KEY_POINT, required=True)
        source = by_text.get(text, old[i].source if i < len(old) else 0)
        points.append(KeyPoint(text=text, source=source if 0 <= source < articles else 0))
    return tuple(points)


def edit_story(
    edition: Edition, story_id: str, *, headline: str, summary: str, key_points: Sequence[str]
) -> Edition:
    """The edition with one story's headline, summary and key points replaced.

    Args:
        story_id: the story's id (stable across reorders, unlike its position).
        headline: one line, 1 to :data:`MAX_HEADLINE` characters.
        summary: 1 to :data:`MAX_SUMMARY` characters.
        key_points: up to :data:`MAX_KEY_POINTS` lines of up to :data:`MAX_KEY_POINT` each;
            blank ones are ignored.

    Raises:
        InputError: the story is unknown or a field is invalid (the message names it).
    """
    index = find_story(edition, story_id)
    placed = edition.stories[index]
    condensed = replace(
        placed.condensed,
        headline=one_line("headline", headline, limit=MAX_HEADLINE, required=True),
        summary=_paragraph("summary", summary, limit=MAX_SUMMARY),
        key_points=_key_points(placed, [k for k in key_points if k.strip()]),
    )
    stories = list(edition.stories)
    stories[index] = replace(placed, condensed=condensed)
    return replace(edition, stories=tuple(stories))


def drop_story(edition: Edition, story_id: str) -> Edition:
    """The edition without one story.

    Raises:
        InputError: the story is unknown, or it is the last one (an edition with no story
            is never sent, so dropping everything would silently cancel the day's email).
    """
    index = find_story(edition, story_id)
    if len(edition.stories) == 1:
        raise InputError(f"story {story_id!r}: the only story of edition {edition.id}; it cannot be dropped")
    return replace(edition, stories=edition.stories[:index] + edition.stories[index + 1 :])


def move_story(edition: Edition, story_id: str, offset: int) -> Edition:
    """The edition with one story moved ``offset`` places (-1 = up, 1 = down).

    Raises:
        InputError: the story is unknown or would leave the edition.
    """
    index = find_story(edition, story_id)
    target = index + offset
    if not 0 <= target < len(edition.stories):
        where = "first" if offset < 0 else "last"
        raise InputError(f"story {story_id!r}: already {where}; it cannot move {offset:+d}")
    stories = list(edition.stories)
    stories.insert(target, stories.pop(index))
    return replace(edition, stories=tuple(stories))


def set_message(edition: Edition, *, subject: str, preheader: str) -> Edition:
    """The edition with the editor's subject and preheader ("" = the config's template).

    Raises:
        InputError: either is not one line of at most :data:`MAX_SUBJECT` characters.
    """
    return replace(
        edition,
        subject=one_line("subject", subject, limit=MAX_SUBJECT, required=False),
        preheader=one_line("preheader", preheader, limit=MAX_SUBJECT, required=False),
    )
