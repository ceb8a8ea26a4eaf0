"""Sending: a worker's loop over the store's ledger and :func:`digest.deliver.deliver`.

A sealed edition's deliveries are planned once (``Store.plan_edition``). Any number of
workers, on any number of machines, then claim them in batches (``Store.claim_batch``),
render only what they claimed, hand the messages to the transport, and record the outcomes
in batches off the event loop (:class:`WorkerLedger`). Each worker holds a lease
(:class:`~digest.lease.Lease`); when one dies, its claims go to the others once its lease
runs out. Pacing is shared through the store (:class:`SharedPacer`). Nothing here gathers,
condenses or decides what an edition holds: that is :mod:`digest.pipeline`'s.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from .context import RunContext
from .deliver import DeliveryReport, LedgerReport, Settled, deliver, open_transport
from .errors import HeaderError, TemplateError
from .lease import Lease
from .models import Edition, OutgoingMessage, Subscriber
from .render import EditionRenderer
from .runs import RunSummary, recorded_run
from .store import Store
from .store.ledger import Claimed, DeliveryState, Outcome

log = logging.getLogger(__name__)

POLL = 0.5  # seconds between looks for work, or at others' claims, when there is none to take
FLUSH_SIZE = 500  # outcomes written in one transaction at most


class WorkerLedger:
    """The ledger of one worker (:class:`digest.deliver.Ledger`): claims come in batches,
    outcomes are written in batches in a thread, each only while the worker holds its claim."""

    def __init__(self, store: Store, worker_id: str, *, bounce_after: int) -> None:
        self._store, self._worker, self._bounce_after = store, worker_id, bounce_after
        self._held: set[tuple[str, str]] = set()
        self._buffer: list[Outcome] = []
        self._writing: asyncio.Task[None] | None = None
        self._error: BaseException | None = None
        self.report = LedgerReport()

    def hold(self, claims: list[Claimed]) -> None:
        """Deliveries this worker claimed in a batch: :meth:`claim` grants them at once."""
        self._held.update((c.edition_id, c.email) for c in claims)

    def claim(self, message: OutgoingMessage) -> bool:
        self._raise_if_failed()
        key = (message.edition_id, message.ledger_key)
        if key in self._held:
            return True
        taken = self._store.mark_sending(*key, message.message_id, claimed_by=self._worker)
        if taken:
            self._held.add(key)
        return taken

    def settle(self, outcome: Settled) -> None:
        m, e = outcome.message, outcome.error
        self.record(
            Outcome(
                m.edition_id,
                m.ledger_key,
                DeliveryState.SENT if e is None else DeliveryState.FAILED,
                attempts=outcome.attempts,
                message_id=m.message_id,
                reason=None if e is None else e.reason,
                code=None if e is None else e.code,
                permanent=bool(e and e.permanent),
                counts_as_bounce=bool(e and e.permanent and e.address_refused),
            )
        )

    def record(self, outcome: Outcome) -> None:
        """Queue an outcome and have it written at once, with whatever else is queued when the
        write starts (group commit: under load one write carries many outcomes, so that a
        crash loses the record of at most one write's worth of sent messages)."""
        self._raise_if_failed()
        self._held.discard((outcome.edition_id, outcome.email))
        self._buffer.append(outcome)
        if self._writing is None or self._writing.done():
            self._writing = asyncio.create_task(self._write())

    async def _write(self) -> None:
        while self._buffer and self._error is None:
            batch, self._buffer = self._buffer[:FLUSH_SIZE], self._buffer[FLUSH_SIZE:]
            try:
                done = await asyncio.to_thread(
                    self._store.record_outcomes, self._worker, batch, bounce_after=self._bounce_after
                )
            except Exception as exc:  # the store failed: the loop stops with this error
                self._error = exc
                return
            if done.lost:
                log.error("worker %s: %d outcomes came after its lease ran out", self._worker, done.lost)
            self.report = LedgerReport(self.report.bounced + done.bounced, self.report.lost + done.lost)

    async def flush(self) -> LedgerReport:
        """Write what is settled; then give back the claims held but not settled (taken in a
        batch, never attempted because sending stopped): pending again, for any worker."""
        if self._writing is not None:
            await self._writing
        await self._write()
        self._raise_if_failed()
        for edition_id in sorted({e for e, _ in self._held}):
            await asyncio.to_thread(self._store.release_claims, self._worker, edition_id)
        self._held.clear()
        return self.report

    def _raise_if_failed(self) -> None:
        if self._error is not None:
            raise self._error


class SharedPacer:
    """The send pace of every worker of the store together (:class:`digest.deliver.Pacer`):
    ``rate`` per second, ``rate_per_hour``, and ``rate_cap`` over its window."""

    KEY = "send"

    def __init__(
        self, store: Store, *, rate: float | None, per_hour: int | None, cap: tuple[int, timedelta] | None
    ):
        intervals = [1.0 / rate if rate else 0.0, 3600.0 / per_hour if per_hour else 0.0]
        self._store, self._interval, self._cap = store, max(intervals), cap

    @property
    def limited(self) -> bool:
        return bool(self._interval or self._cap)

    async def reserve(self) -> float:
        if not self.limited:
            return 0.0
        return await asyncio.to_thread(
            self._store.reserve_send_slot, self.KEY, interval=self._interval, cap=self._cap
        )


@dataclass(slots=True)
class EditionSend:
    """What sending an edition did in this run, for its :class:`~digest.runs.RunSummary`."""

    delivery: DeliveryReport
    skipped_empty: int = 0
    skipped_gone: int = 0  # no longer subscribed when their turn came
    render_failed: list[str] = field(default_factory=list)


async def send_edition(ctx: RunContext, edition: Edition, lease: Lease) -> EditionSend:
    """Claim, render and send the edition's pending deliveries, batch by batch, until none is
    left and no other worker holds any (should one die, its claims come back here).

    Raises:
        ConfigError: the transport URL is malformed.
        Whatever the store raised, after the messages in flight were recorded.
    """
    s, store = ctx.settings, ctx.store
    renderer = EditionRenderer(
        edition, s, secret=store.signing_secret(ctx.environ, s.secret_env), now=ctx.now
    )
    ledger = WorkerLedger(store, lease.id, bounce_after=s.delivery.bounce_after)
    result = EditionSend(DeliveryReport(0, 0, 0))
    d = s.delivery
    pacer = SharedPacer(store, rate=d.rate, per_hour=d.rate_per_hour, cap=d.rate_cap)

    def stopped() -> bool:
        return ctx.stopping or lease.lost.is_set()

    async with open_transport(ctx.transport, d, environ=ctx.environ) as transport:
        result.delivery = await deliver(
            _messages(ctx, edition, lease, ledger, renderer, result, stopped),
            transport=transport,
            ledger=ledger,
            config=d,
            progress=ctx.progress.advance,
            stop=stopped,
            pacer=pacer,
        )
    return result


async def _messages(
    ctx: RunContext,
    edition: Edition,
    lease: Lease,
    ledger: WorkerLedger,
    renderer: EditionRenderer,
    result: EditionSend,
    stopped: Callable[[], bool],
) -> AsyncIterator[OutgoingMessage]:
    """The messages of this worker's claims, rendered as they are claimed."""
    store, batch = ctx.store, ctx.settings.delivery.batch
    while not stopped():
        claims = await asyncio.to_thread(
            store.claim_batch, lease.id, edition.id, limit=batch, due_by=ctx.due_by
        )
        if not claims:
            if not await asyncio.to_thread(store.in_flight, edition.id, besides=lease.id):
                return
            # others are sending: wait for them, or for their leases to run out (then take theirs)
            await asyncio.sleep(POLL)
            await asyncio.to_thread(store.release_expired)
            continue
        ledger.hold(claims)
        readers = await asyncio.to_thread(store.subscribers_by_email, [c.email for c in claims])
        for c in claims:
            message = _render(renderer, readers.get(c.email), c, ledger, result)
            if message is not None:
                yield message


def _render(
    renderer: EditionRenderer,
    reader: Subscriber | None,
    claim: Claimed,
    ledger: WorkerLedger,
    result: EditionSend,
) -> OutgoingMessage | None:
    """The claimed reader's message; ``None`` (the outcome recorded) when there is none to send."""

    def settle(state: DeliveryState, reason: str) -> None:
        permanent = state is DeliveryState.FAILED
        outcome = Outcome(
            claim.edition_id, claim.email, state, attempts=0, reason=reason, permanent=permanent
        )
        ledger.record(outcome)

    if reader is None or not reader.active:
        result.skipped_gone += 1
        settle(DeliveryState.SKIPPED, "no longer subscribed")
        return None
    try:
        message = renderer.message(reader)
    except (HeaderError, TemplateError) as exc:
        settle(DeliveryState.FAILED, str(exc))
        result.render_failed.append(f"{claim.email}: {exc}")
        return None
    if message is None:
        result.skipped_empty += 1
        settle(DeliveryState.SKIPPED, "no story in their topics")
    return message


@dataclass(slots=True)
class WorkReport:
    """What ``digest worker`` did: one summary per edition it sent."""

    runs: list[RunSummary] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        return max((r.exit_code for r in self.runs), default=0)


def _utcnow() -> datetime:
    return datetime.now(UTC)


async def work(
    ctx: RunContext, *, once: bool, clock: Callable[[], datetime] = _utcnow, lease: Lease | None = None
) -> WorkReport:
    """``digest worker``: send the pending deliveries of sealed editions, one edition at a time,
    each recorded as a run. With ``once``, return when none is left (others' claims settled);
    else wait for more until ``ctx.stop`` is set. Never gathers or condenses.

    Args:
        clock: the time now, read for each look for work (a worker runs for days).
    """
    report = WorkReport()
    own = lease is None
    lease = lease or Lease(ctx.store, name=ctx.worker_name, lease=ctx.settings.delivery.lease)
    try:
        while not (ctx.stopping or lease.lost.is_set()):
            now = clock()
            since = now - ctx.settings.delivery.send_within
            due_by = now if ctx.settings.local_time else None
            editions = await asyncio.to_thread(ctx.store.editions_to_send, sealed_since=since, due_by=due_by)
            for edition_id in editions:
                report.runs.append(await _work_on(ctx.but(now=now), edition_id, lease))
            if not editions:
                if once:
                    break
                await _sleep(ctx, POLL * 4)
    finally:
        if own:
            lease.end()
    return report


async def _work_on(ctx: RunContext, edition_id: str, lease: Lease) -> RunSummary:
    summary = RunSummary(edition_id=edition_id, trigger=ctx.trigger, kind="worker")
    with recorded_run(ctx, summary, lease):
        edition = ctx.store.edition(edition_id)
        if edition is None:  # planned, then removed by hand: nothing to render
            return summary
        summary.stories = len(edition.stories)
        sent = await send_edition(ctx, edition, lease)
        apply_send(summary, sent)
        summary.waiting = ctx.store.waiting(edition_id, due_by=ctx.due_by)
        summary.stopped = ctx.stopping
    d = summary.delivery
    log.info(
        "edition %s: %d sent, %d failed, %d skipped by worker %s%s",
        edition_id,
        d.sent if d else 0,
        (d.failed if d else 0) + len(summary.render_failed),
        summary.skipped_empty,
        lease.id,
        f"; waiting: {summary.waiting}" if summary.waiting else "",
    )
    return summary


def apply_send(summary: RunSummary, sent: EditionSend) -> None:
    """Fill a run's summary from what sending did."""
    summary.delivery = sent.delivery
    summary.skipped_empty += sent.skipped_empty
    summary.render_failed.extend(sent.render_failed)


async def _sleep(ctx: RunContext, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while not ctx.stopping and time.monotonic() < deadline:
        await asyncio.sleep(min(POLL, deadline - time.monotonic()))


__all__ = ["EditionSend", "SharedPacer", "WorkReport", "WorkerLedger", "apply_send", "send_edition", "work"]
