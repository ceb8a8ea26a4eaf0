"""The desk's buttons (POST): edit, reorder, drop, approve, send a test, prepare.

Each action checks the form's origin and token, refuses a stale or sealed edition before
looking at the input, applies one pure change from :mod:`digest.editing` and saves it with
``Store.revise_edition`` (which checks the revision again, atomically), then answers 303
back to the page with a one-line notice. A refused form is shown again with the reason and
what the editor typed. Preparing and sending go through :mod:`digest.pipeline`, like every
other path that builds or sends an edition, one at a time, each in a worker thread on an
event loop of its own (:meth:`Actions._off_loop`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Coroutine, Iterator
from contextlib import contextmanager
from datetime import date
from typing import Any, TypeVar

import anyio.to_thread
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response

from .. import editing
from ..errors import DigestError, InputError
from ..models import Edition
from ..pipeline import RunSummary, approve_edition, prepare_edition, run_edition, send_test
from ..store.review import EditionMissing, EditionReview, check_open
from ._context import (
    Desk,
    Refused,
    actor,
    anchor,
    form_revision,
    parse_day,
    read_form,
    redirect,
    status_of,
    text_field,
)
from ._pages import NO_DRAFT, Draft, Pages, Sending

Outcome = tuple[str, str]  # (where to go back to, the notice to show there)
Work = Callable[[date, FormData, str], Awaitable[Outcome]]
_DRAFT_FIELDS = ("headline", "summary", "key_points", "subject", "preheader", "address")
MAX_ADDRESS = 320
T = TypeVar("T")


def _quote(text: str, limit: int = 80) -> str:
    text = " ".join(text.split())
    return f"“{text if len(text) <= limit else text[: limit - 1] + '…'}”"


def summary_notice(summary: RunSummary, *, retry: bool = False) -> str:
    """One line for the notice after a send (an approval's, or a retry's): how many got it,
    how many failed, and whether it stopped early."""
    if summary.held:
        return "Approved, but the send was held again: approval is still missing."
    d = summary.delivery
    if d is None:
        lead = "Nothing sent" if retry else "Approved"
        return f"{lead}; no subscriber was waiting for it ({summary.already_sent} already had it)."
    failed = d.failed + len(summary.render_failed)
    parts = [f"{d.sent} delivered", f"{failed} failed"]
    if summary.already_sent:
        parts.append(f"{summary.already_sent} had it already")
    stopped = f"; stopped early: {d.aborted}" if d.aborted else ""
    if failed or d.aborted:
        lead = "Sending is still incomplete" if retry else "Approved, but sending is incomplete"
        return f"{lead}: {', '.join(parts)}{stopped}. Retry sending when the cause is fixed."
    return f"{'Sent' if retry else 'Approved and sent'}: {', '.join(parts)}."


class Actions:
    """The POST endpoints, bound to one :class:`Desk`."""

    def __init__(self, desk: Desk, pages: Pages) -> None:
        self.desk = desk
        self.pages = pages

    # -- plumbing ------------------------------------------------------------------------

    async def _handle(self, request: Request, kind: str, work: Work) -> Response:
        """Run one action; on refusal show the page again with the reason and the draft."""
        day = parse_day(request.path_params["day"])
        form = await read_form(request, self.desk)  # 403 goes to the app's error page
        draft = Draft(kind, text_field(form, "story"), {k: text_field(form, k) for k in _DRAFT_FIELDS})
        try:
            url, notice = await work(day, form, actor(request))
        except DigestError as exc:
            status = status_of(exc)
            if self.desk.store.edition(day.isoformat()) is None:
                raise Refused(status, str(exc)) from exc
            keep = draft if status == 400 else NO_DRAFT
            return await run_in_threadpool(
                self.pages.page, request, day, status=status, error=str(exc), draft=keep
            )
        return redirect(request, url, notice)

    @contextmanager
    def _exclusive(self) -> Iterator[None]:
        if not self.desk.busy.acquire(blocking=False):
            raise Refused(409, "busy: another prepare or send is running; try again in a moment")
        try:
            yield
        finally:
            self.desk.busy.release()

    async def _off_loop(self, call: Callable[[], Coroutine[Any, Any, T]]) -> T:
        """Run a pipeline call (a prepare or a send) one at a time, in a worker thread on an
        event loop of its own, and wait for it.

        Condensing (an LLM over synchronous httpx), rendering and the store are synchronous:
        on the server's event loop they would stall every other request for as long as the
        call takes, the readers' unsubscribe links included. The busy lock is held until the
        thread is done, also when the editor's request is cancelled (the thread cannot be).

        Raises:
            Refused: 409 when another prepare or send of this desk is running.
        """
        with self._exclusive():
            return await anyio.to_thread.run_sync(lambda: asyncio.run(call()))

    def _review(self, day: date, revision: int) -> EditionReview:
        """The edition's review, once it is shown to be open and as the editor saw it."""
        return check_open(day.isoformat(), self.desk.store.edition_review(day.isoformat()), revision)

    def _revise(
        self, day: date, revision: int, who: str, change: Callable[[Edition], tuple[Edition, str]]
    ) -> int:
        """Apply ``change`` (which returns the new edition and the log line) and save it."""
        self._review(day, revision)
        edition = self.desk.store.edition(day.isoformat())
        if edition is None:
            raise EditionMissing(day.isoformat())
        changed, action = change(edition)
        return self.desk.store.revise_edition(changed, revision=revision, actor=who, action=action)

    @staticmethod
    def _page(day: date, story: str = "") -> str:
        return f"/editions/{day.isoformat()}" + (f"#{anchor(story)}" if story else "")

    # -- edits ---------------------------------------------------------------------------

    async def save_message(self, request: Request) -> Response:
        async def work(day: date, form: FormData, who: str) -> Outcome:
            subject, preheader = text_field(form, "subject"), text_field(form, "preheader")

            def change(ed: Edition) -> tuple[Edition, str]:
                return editing.set_message(
                    ed, subject=subject, preheader=preheader
                ), "changed the subject and preheader"

            rev = await run_in_threadpool(self._revise, day, form_revision(form), who, change)
            return self._page(day), f"Subject and preheader saved (revision {rev})."

        return await self._handle(request, "message", work)

    async def save_story(self, request: Request) -> Response:
        async def work(day: date, form: FormData, who: str) -> Outcome:
            story = text_field(form, "story")

            def change(ed: Edition) -> tuple[Edition, str]:
                changed = editing.edit_story(
                    ed,
                    story,
                    headline=text_field(form, "headline"),
                    summary=text_field(form, "summary"),
                    key_points=editing.split_lines(text_field(form, "key_points")),
                )
                headline = changed.stories[editing.find_story(changed, story)].condensed.headline
                return changed, f"edited story {_quote(headline)}"

            rev = await run_in_threadpool(self._revise, day, form_revision(form), who, change)
            return self._page(day, story), f"Story saved (revision {rev})."

        return await self._handle(request, "story", work)

    async def move_story(self, request: Request) -> Response:
        async def work(day: date, form: FormData, who: str) -> Outcome:
            story, direction = text_field(form, "story"), text_field(form, "direction")
            offsets = {"up": -1, "down": 1}
            if direction not in offsets:
                raise InputError(f"direction: must be 'up' or 'down', got {direction!r}")

            def change(ed: Edition) -> tuple[Edition, str]:
                headline = ed.stories[editing.find_story(ed, story)].condensed.headline
                return editing.move_story(
                    ed, story, offsets[direction]
                ), f"moved {_quote(headline)} {direction}"

            rev = await run_in_threadpool(self._revise, day, form_revision(form), who, change)
            return self._page(day, story), f"Story moved {direction} (revision {rev})."

        return await self._handle(request, "move", work)

    async def drop_story(self, request: Request) -> Response:
        """Two steps, without script: the first POST asks, the second (``confirm=yes``) drops."""
        form = await read_form(request, self.desk)
        if text_field(form, "confirm") != "yes":
            return await run_in_threadpool(self._confirm_drop, request, form)

        async def work(day: date, form: FormData, who: str) -> Outcome:
            story = text_field(form, "story")

            def change(ed: Edition) -> tuple[Edition, str]:
                headline = ed.stories[editing.find_story(ed, story)].condensed.headline
                return editing.drop_story(ed, story), f"dropped {_quote(headline)}"

            rev = await run_in_threadpool(self._revise, day, form_revision(form), who, change)
            return self._page(day), f"Story dropped (revision {rev})."

        return await self._handle(request, "drop", work)

    def _confirm_drop(self, request: Request, form: FormData) -> Response:
        day = parse_day(request.path_params["day"])
        story = text_field(form, "story")
        try:
            edition = self.desk.store.edition(day.isoformat())
            if edition is None:
                raise EditionMissing(day.isoformat())
            placed = edition.stories[editing.find_story(edition, story)]
        except DigestError as exc:
            raise Refused(status_of(exc), str(exc)) from exc
        return self.desk.render(
            request,
            "confirm_drop.html",
            day=day.isoformat(),
            story=story,
            headline=placed.condensed.headline,
            revision=text_field(form, "revision"),
            back=self._page(day, story),
        )

    # -- approval, tests, preparing ---------------------------------------------------------

    async def approve(self, request: Request) -> Response:
        async def work(day: date, form: FormData, who: str) -> Outcome:
            revision = form_revision(form)
            await run_in_threadpool(self._review, day, revision)
            summary = await self._off_loop(
                lambda: approve_edition(self.desk.run_context(who), day=day, revision=revision)
            )
            if summary is None:
                return self._page(day), f"Approved revision {revision}; it goes out at the scheduled time."
            return self._page(day), summary_notice(summary)

        return await self._handle(request, "approve", work)

    async def withdraw(self, request: Request) -> Response:
        async def work(day: date, form: FormData, who: str) -> Outcome:
            revision = form_revision(form)

            def withdraw() -> None:
                self._review(day, revision)
                self.desk.store.withdraw_approval(day.isoformat(), actor=who)

            await run_in_threadpool(withdraw)
            return self._page(day), "Approval withdrawn."

        return await self._handle(request, "withdraw", work)

    async def send_test(self, request: Request) -> Response:
        async def work(day: date, form: FormData, who: str) -> Outcome:
            address = text_field(form, "address").strip()
            if not address:
                raise InputError("test address: must not be empty")
            if len(address) > MAX_ADDRESS:
                raise InputError(f"test address: {len(address)} characters; at most {MAX_ADDRESS}")
            await run_in_threadpool(self._review, day, form_revision(form))
            await self._off_loop(lambda: send_test(self.desk.run_context(who), day=day, address=address))
            return self._page(day), f"Test copy sent to {address}."

        return await self._handle(request, "test", work)

    async def retry_send(self, request: Request) -> Response:
        """Send a sealed edition to the readers it has not reached (pending or failed), through
        :func:`digest.pipeline.run_edition` like every send; nobody gets it twice."""

        async def work(day: date, form: FormData, who: str) -> Outcome:
            await run_in_threadpool(self._check_retry, day, text_field(form, "confirm") == "yes")
            summary = await self._off_loop(
                lambda: run_edition(
                    self.desk.run_context(who), day=day, gather_first=False, planned_only=True
                )
            )
            return self._page(day), summary_notice(summary, retry=True)

        return await self._handle(request, "send", work)

    def _check_retry(self, day: date, confirmed: bool) -> None:
        """Refuse a retry of an edition whose sending has not started (that is approving, or
        its send time), that everyone got, or (unless ``confirmed``) that a run still sends."""
        store = self.desk.store
        review = store.edition_review(day.isoformat())
        if review is None:
            raise EditionMissing(day.isoformat())
        if review.sealed_at is None:
            raise Refused(
                409, f"edition {review.id}: sending has not started; approve it or wait for its send time"
            )
        sending = Sending.load(store, review.id)
        if not sending.waiting:
            raise Refused(409, f"edition {review.id}: every delivery is done; nothing to retry")
        if sending.running_since is not None and not confirmed:
            raise Refused(
                409,
                f"edition {review.id}: a send is recorded as running since "
                f"{sending.running_since:%Y-%m-%d %H:%M} UTC; reload, and retry only if it has stopped",
            )

    async def prepare(self, request: Request) -> Response:
        """Gather and condense the edition editors are working on (:meth:`Desk.today`: from the
        review window's start, the next send's) for review; sends nothing."""
        await read_form(request, self.desk)
        wanted = self.desk.today()
        try:
            summary = await self._off_loop(lambda: prepare_edition(self.desk.run_context("desk"), day=wanted))
        except DigestError as exc:
            raise Refused(status_of(exc), str(exc)) from exc
        day = summary.edition_id
        if summary.reused_edition:
            return redirect(
                request, f"/editions/{day}", f"Edition {day} was already on record; left as it is."
            )
        if not summary.stories:
            return redirect(request, "/", f"No stories for {day}: the feeds hold nothing new in the window.")
        failed = f"; {summary.feeds_failed} feeds failed" if summary.feeds_failed else ""
        notice = (
            f"Prepared edition {day}: {summary.stories} stories from {len(summary.feeds)} feeds "
            f"({summary.new_articles} new articles){failed}."
        )
        return redirect(request, f"/editions/{day}", notice)
