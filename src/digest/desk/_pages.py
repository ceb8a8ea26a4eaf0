"""The desk's pages (GET): the edition being edited, its preview, and past editions.

Reads only; runs in Starlette's worker threads (the store is synchronous). Anything a page
shows comes from the store at the moment of the request, so a reload always shows the
latest revision.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, Response

from ..errors import DigestError
from ..models import Edition, EditionStory
from ..render import RenderedMessage
from ..store import Store
from ..store.review import EditionReview
from ._context import Desk, Refused, anchor, parse_day
from ._guard import PREVIEW_CSP
from ._preview import View, clip_warning, dark_variant, render_preview


@dataclass(frozen=True, slots=True)
class Draft:
    """What the editor typed into a form that was refused, shown again so nothing is lost."""

    form: str  # "story", "message" or "test"
    story: str = ""
    values: Mapping[str, str] | None = None

    def get(self, form: str, name: str, default: str, story: str = "") -> str:
        if self.form != form or self.story != story or self.values is None:
            return default
        return self.values.get(name, default)


NO_DRAFT = Draft(form="")


@dataclass(frozen=True, slots=True)
class Refusal:
    """A refused form's reason, shown beside that form (``at``: its HTML id) rather than at the
    top of the page, where it would not say which of fifteen stories it is about."""

    at: str
    label: str  # how the pointer at the top of the page names the form
    error: str

    @classmethod
    def beside(cls, draft: Draft, error: str, edition: Edition) -> Refusal | None:
        """Where to show ``error``: beside a story's form, the subject's or the test address's,
        when it refused the editor's input; ``None`` (at the top) otherwise, as for a story
        not in the edition or a stale revision."""
        if not error or draft.values is None:
            return None
        if draft.form == "message":
            return cls("message", "The subject and preheader", error)
        if draft.form == "test":
            return cls("test", "The test copy", error)
        for position, placed in enumerate(edition.stories, 1):
            if draft.form == "story" and placed.story.id == draft.story:
                return cls(anchor(placed.story.id), f"Story {position}", error)
        return None


RECENT_RUNS = 100  # how far back to look for a run still recorded as running


@dataclass(frozen=True, slots=True)
class Sending:
    """Where a sealed edition's deliveries stand, from the ledger and the runs on record."""

    delivered: int = 0
    waiting: int = 0  # pending, sending or failed: what a retry would (try to) send
    running_since: datetime | None = None  # a run of the edition recorded as still running

    @classmethod
    def of(
        cls,
        counts: Mapping[str, int],
        active: Mapping[str, int],
        running: Mapping[str, datetime],
        edition_id: str,
    ) -> Sending:
        """From the edition's delivery counts: delivered counts every reader; waiting only the
        active ones (``active``), whom a retry would still send to."""
        waiting = sum(n for state, n in active.items() if state != "sent")
        return cls(counts.get("sent", 0), waiting, running.get(edition_id))

    @classmethod
    def load(cls, store: Store, edition_id: str) -> Sending:
        return cls.of(
            store.delivery_counts(edition_id),
            store.delivery_counts(edition_id, active_only=True),
            running_runs(store),
            edition_id,
        )


def running_runs(store: Store) -> dict[str, datetime]:
    """Edition id -> start of the latest of its recent runs still recorded as running.

    A run killed outright (SIGKILL, a power cut) stays recorded as running: the desk then
    asks before sending alongside it, rather than refusing for ever.
    """
    found: dict[str, datetime] = {}
    for run in store.recent_runs(RECENT_RUNS):  # latest first
        if run.status == "running" and run.finished is None:
            found.setdefault(run.edition_id, run.started)
    return found


def _story_view(placed: EditionStory, position: int, total: int) -> dict[str, Any]:
    c = placed.condensed
    return {
        "id": placed.story.id,
        "anchor": anchor(placed.story.id),
        "position": position,
        "first": position == 1,
        "last": position == total,
        "topic": placed.topic or "",
        "headline": c.headline,
        "summary": c.summary,
        "key_points": [k.text for k in c.key_points],
        "sources": [(a.feed_name, a.link) for a in placed.story.articles],
    }


class Pages:
    """The GET endpoints, bound to one :class:`Desk`."""

    def __init__(self, desk: Desk) -> None:
        self.desk = desk

    def home(self, request: Request) -> Response:
        """Today's edition; else the latest, with an offer to prepare today's."""
        store = self.desk.store
        today = self.desk.today()
        if store.edition(today.isoformat()) is not None:
            return self.page(request, today)
        latest = store.edition_reviews(limit=1)
        if latest:
            return self.page(request, date.fromisoformat(latest[0].id), offer_prepare=True)
        return self.desk.render(request, "empty.html")

    def edition(self, request: Request) -> Response:
        return self.page(request, parse_day(request.path_params["day"]))

    def page(
        self,
        request: Request,
        day: date,
        *,
        status: int = 200,
        error: str = "",
        draft: Draft = NO_DRAFT,
        offer_prepare: bool = False,
    ) -> HTMLResponse:
        """The desk page of one edition (also re-shown, with ``error``, when a form is refused)."""
        store = self.desk.store
        edition = store.edition(day.isoformat())
        review = store.edition_review(day.isoformat())
        if edition is None or review is None:
            raise Refused(404, f"edition {day.isoformat()}: none on record")
        view = View.parse(dict(request.query_params))
        preview, preview_error, too_long = None, "", ""
        try:
            preview = self._render(edition)
            too_long = clip_warning(
                edition, self.desk.settings, secret=self.desk.secret, now=self.desk.clock()
            )
        except DigestError as exc:
            preview_error = str(exc)
        total = len(edition.stories)
        counts = store.delivery_counts(edition.id)
        active = store.delivery_counts(edition.id, active_only=True)
        sending = Sending.of(counts, active, running_runs(store), edition.id)
        today = self.desk.today()
        offer_prepare = offer_prepare or (day < today and store.edition(today.isoformat()) is None)
        refused = Refusal.beside(draft, error, edition)
        return self.desk.render(
            request,
            "desk.html",
            status=status,
            error="" if refused else error,
            refused=refused,
            draft=draft,
            edition=edition,
            review=review,
            state=_state(review, sending),
            state_class=_state_class(review, sending),
            sealed=review.sealed_at is not None,
            counts=counts,
            sending=sending,
            events=store.edition_events(edition.id, limit=30),
            stories=[_story_view(s, i, total) for i, s in enumerate(edition.stories, 1)],
            preview=preview,
            preview_error=preview_error,
            clip_warning=too_long,
            view=view,
            offer_prepare=offer_prepare,
        )

    def editions(self, request: Request) -> HTMLResponse:
        """Past editions, latest first, with their state and deliveries."""
        store = self.desk.store
        reviews = store.edition_reviews(limit=60)
        ids = [r.id for r in reviews]
        counts = store.delivery_counts_of(ids)
        active = store.delivery_counts_of(ids, active_only=True)
        running = running_runs(store)
        sending = {i: Sending.of(counts.get(i, {}), active.get(i, {}), running, i) for i in ids}
        rows = [
            (r, _state(r, sending[r.id]), _state_class(r, sending[r.id]), counts.get(r.id, {}))
            for r in reviews
        ]
        has_today = any(r.id == self.desk.today().isoformat() for r in reviews)
        return self.desk.render(request, "editions.html", rows=rows, offer_prepare=not has_today)

    def email_html(self, request: Request) -> Response:
        """The email's HTML, for the desk's sandboxed preview frame (``?dark=1``: dark mode)."""
        edition = self._edition(request)
        html = self._render(edition).html
        if request.query_params.get("dark") == "1":
            html = dark_variant(html)
        headers = {"Content-Security-Policy": PREVIEW_CSP, "X-Frame-Options": "SAMEORIGIN"}
        return HTMLResponse(html, headers=headers)

    def email_text(self, request: Request) -> Response:
        """The plain-text part of the email."""
        edition = self._edition(request)
        text = self._render(edition).text
        return PlainTextResponse(text)

    def _render(self, edition: Edition) -> RenderedMessage:
        return render_preview(edition, self.desk.settings, secret=self.desk.secret, now=self.desk.clock())

    def _edition(self, request: Request) -> Edition:
        day = parse_day(request.path_params["day"])
        edition = self.desk.store.edition(day.isoformat())
        if edition is None:
            raise Refused(404, f"edition {day.isoformat()}: none on record")
        return edition


_STATES = {"held": "held: waiting for approval", "approved": "approved", "draft": "draft"}


def _state(review: EditionReview, sending: Sending) -> str:
    """One or a few words for the edition's state, as editors say it.

    A sealed edition is "sent" only once no delivery is pending, in flight or failed; until
    then it says how far it got ("sending incomplete" when no run is sending it any more).
    """
    if review.state != "sealed":
        return _STATES.get(review.state, review.state)
    if not sending.waiting:
        return "sent"
    how = "sending" if sending.running_since else "sending incomplete"
    return f"{how}: {sending.delivered} delivered, {sending.waiting} waiting"


def _state_class(review: EditionReview, sending: Sending) -> str:
    """The state's CSS class: ``state-incomplete`` for a sealed edition not everyone got."""
    return "incomplete" if review.state == "sealed" and sending.waiting else review.state
