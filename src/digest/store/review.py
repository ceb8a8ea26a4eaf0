"""An edition's review: revisions, approval, hold and seal, and the log of editors' actions.

The rules, each enforced by one conditional UPDATE so that two editors, the desk and a
running send cannot interleave badly:

- every saved change bumps the ``revision``; a change made against an older revision is
  refused (:class:`EditionConflict`), so one editor never silently overwrites another;
- a change withdraws an approval: what was approved is what goes out;
- sending seals the edition (with ``approval = "required"`` only an approved one); after
  that no change is accepted (:class:`EditionSealed`), so every reader gets the same one.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Row, insert, select, update

from ..errors import InputError
from ..models import Edition
from ..serialize import edition_to_dict
from . import schema
from .base import StoreBase, utc

_ED = schema.editions
_EV = schema.edition_events
_D = schema.deliveries


class EditionSealed(InputError):
    """The edition is being sent or was sent: it no longer changes."""

    def __init__(self, edition_id: str) -> None:
        super().__init__(f"edition {edition_id}: sending has started; it no longer changes")


class EditionConflict(InputError):
    """The edition changed since the editor loaded it."""

    def __init__(self, edition_id: str, current: int, given: int | None) -> None:
        super().__init__(
            f"edition {edition_id}: changed since you loaded it (revision {current}, "
            f"yours {given}); reload and make your change again"
        )


class EditionMissing(InputError):
    """No edition is on record for that day."""

    def __init__(self, edition_id: str) -> None:
        super().__init__(f"edition {edition_id}: none on record")


def check_open(edition_id: str, review: EditionReview | None, revision: int | None) -> EditionReview:
    """``review`` when the edition exists, is not sealed and (unless ``revision`` is None) is at
    ``revision``: what an editor's change needs. Contains no I/O.

    Raises:
        EditionMissing, EditionSealed, EditionConflict.
    """
    if review is None:
        raise EditionMissing(edition_id)
    if review.sealed_at is not None:
        raise EditionSealed(edition_id)
    if revision is not None and review.revision != revision:
        raise EditionConflict(edition_id, review.revision, revision)
    return review


@dataclass(frozen=True, slots=True)
class EditionReview:
    """Where an edition stands. ``approved`` means approved at its current revision."""

    id: str
    created: datetime
    revision: int
    stories: int
    updated: datetime | None
    updated_by: str | None
    approved_at: datetime | None
    approved_by: str | None
    held_at: datetime | None
    sealed_at: datetime | None

    @property
    def approved(self) -> bool:
        return self.approved_at is not None

    @property
    def state(self) -> str:
        """One word for lists: sent(ing), held, approved or draft."""
        if self.sealed_at is not None:
            return "sealed"
        if self.held_at is not None and not self.approved:
            return "held"
        return "approved" if self.approved else "draft"


@dataclass(frozen=True, slots=True)
class EditionEvent:
    at: datetime
    actor: str
    action: str


def _now() -> datetime:
    return datetime.now(UTC)


class ReviewStore(StoreBase):
    def edition_review(self, edition_id: str) -> EditionReview | None:
        with self.begin() as conn:
            row = conn.execute(select(_ED).where(_ED.c.id == edition_id)).one_or_none()
        return _review(row) if row is not None else None

    def edition_reviews(self, limit: int = 30) -> list[EditionReview]:
        """The latest editions first."""
        with self.begin() as conn:
            rows = conn.execute(select(_ED).order_by(_ED.c.id.desc()).limit(limit)).all()
        return [_review(r) for r in rows]

    def revise_edition(self, edition: Edition, *, revision: int | None, actor: str, action: str) -> int:
        """Save an editor's change; return the new revision.

        Args:
            revision: the revision the change was made against; ``None`` accepts any (an
                import that replaces the whole edition).

        Raises:
            EditionMissing, EditionSealed, EditionConflict.
        """
        data = json.dumps(edition_to_dict(edition), ensure_ascii=False)
        with self.begin() as conn:
            cond = [_ED.c.id == edition.id, _ED.c.sealed_at.is_(None)]
            if revision is not None:
                cond.append(_ED.c.revision == revision)
            was_approved = conn.scalar(select(_ED.c.approved_at.is_not(None)).where(_ED.c.id == edition.id))
            res = conn.execute(
                update(_ED)
                .where(*cond)
                .values(
                    data=data,
                    revision=_ED.c.revision + 1,
                    updated=_now(),
                    updated_by=actor,
                    approved_at=None,
                    approved_by=None,
                    approved_revision=None,
                )
            )
            if res.rowcount != 1:
                self._refuse(conn, edition.id, revision)
            self._log(conn, edition.id, actor, action)
            if was_approved:
                self._log(conn, edition.id, actor, "approval withdrawn: the edition changed")
            return int(conn.scalar(select(_ED.c.revision).where(_ED.c.id == edition.id)) or 0)

    def approve_edition(self, edition_id: str, *, revision: int | None, actor: str) -> EditionReview:
        """Approve the edition as it stands at ``revision`` (``None``: as it stands now)."""
        with self.begin() as conn:
            cond = [_ED.c.id == edition_id, _ED.c.sealed_at.is_(None)]
            if revision is not None:
                cond.append(_ED.c.revision == revision)
            res = conn.execute(
                update(_ED)
                .where(*cond)
                .values(approved_at=_now(), approved_by=actor, approved_revision=_ED.c.revision)
            )
            if res.rowcount != 1:
                self._refuse(conn, edition_id, revision)
            self._log(conn, edition_id, actor, "approved")
        review = self.edition_review(edition_id)
        assert review is not None
        return review

    def withdraw_approval(self, edition_id: str, *, actor: str) -> None:
        with self.begin() as conn:
            res = conn.execute(
                update(_ED)
                .where(_ED.c.id == edition_id, _ED.c.sealed_at.is_(None), _ED.c.approved_at.is_not(None))
                .values(approved_at=None, approved_by=None, approved_revision=None)
            )
            if res.rowcount == 1:
                self._log(conn, edition_id, actor, "approval withdrawn")
            elif conn.scalar(select(_ED.c.sealed_at).where(_ED.c.id == edition_id)) is not None:
                self._refuse(conn, edition_id, None)

    def seal_or_hold(self, edition_id: str, *, require_approval: bool, actor: str) -> bool:
        """Seal the edition for sending (True), or, when approval is required and missing,
        record that a send found it unapproved (False).

        One transaction that first locks the edition's row, so an approval cannot slip in
        between the look and the hold: an approval either comes first (and the edition is
        sealed here) or finds the hold (and sends it itself). Sealing an already sealed
        edition succeeds: a rerun completes a send.
        """
        with self.begin() as conn:
            # a no-op write: the row lock (PostgreSQL) or write lock (SQLite) for the rest
            conn.execute(update(_ED).where(_ED.c.id == edition_id).values(revision=_ED.c.revision))
            row = conn.execute(
                select(_ED.c.sealed_at, _ED.c.approved_at, _ED.c.held_at).where(_ED.c.id == edition_id)
            ).one_or_none()
            if row is None:
                raise EditionMissing(edition_id)
            if row.sealed_at is not None:
                return True
            if require_approval and row.approved_at is None:
                if row.held_at is None:
                    conn.execute(update(_ED).where(_ED.c.id == edition_id).values(held_at=_now()))
                    self._log(conn, edition_id, actor, "held: awaiting approval")
                return False
            conn.execute(update(_ED).where(_ED.c.id == edition_id).values(sealed_at=_now()))
            self._log(conn, edition_id, actor, "sending started: the edition is final")
            return True

    def log_edition_event(self, edition_id: str, *, actor: str, action: str) -> None:
        with self.begin() as conn:
            self._log(conn, edition_id, actor, action)

    def edition_events(self, edition_id: str, limit: int = 50) -> list[EditionEvent]:
        """The latest first."""
        with self.begin() as conn:
            rows = conn.execute(
                select(_EV).where(_EV.c.edition_id == edition_id).order_by(_EV.c.id.desc()).limit(limit)
            ).all()
        return [EditionEvent(at=utc(r.at) or _now(), actor=r.actor, action=r.action) for r in rows]

    @staticmethod
    def _log(conn: Connection, edition_id: str, actor: str, action: str) -> None:
        conn.execute(insert(_EV).values(edition_id=edition_id, at=_now(), actor=actor[:200], action=action))

    def _refuse(self, conn: Connection, edition_id: str, revision: int | None) -> None:
        """Raise why a conditional update of the edition matched no row."""
        row = conn.execute(select(_ED).where(_ED.c.id == edition_id)).one_or_none()
        review = check_open(edition_id, _review(row) if row is not None else None, revision)
        raise EditionConflict(edition_id, review.revision, revision)  # changed in between


def _review(r: Row[Any]) -> EditionReview:
    approved = r.approved_at if r.approved_revision == r.revision else None
    return EditionReview(
        id=r.id,
        created=utc(r.created) or _now(),
        revision=int(r.revision or 1),
        stories=len(json.loads(r.data).get("stories", [])),
        updated=utc(r.updated),
        updated_by=r.updated_by,
        approved_at=utc(approved),
        approved_by=r.approved_by if approved else None,
        held_at=utc(r.held_at),
        sealed_at=utc(r.sealed_at),
    )
