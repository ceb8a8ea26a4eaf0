"""The delivery loop: N connections over a lazy stream of messages, paced, retried, recorded.

Every message is claimed in the ledger before it is handed over (a worker claims whole
batches ahead), and its outcome is recorded only after the server answered: ``sent`` after
a 250. A process killed at any moment therefore leaves its claimed, unrecorded messages in
``sending`` under its lease; when the lease runs out another worker sends them, so those
may arrive twice (at most the ones in flight or not yet recorded), and no subscriber is
skipped.
"""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from collections.abc import AsyncIterable, Awaitable, Callable, Iterable
from contextlib import aclosing
from dataclasses import dataclass, field
from typing import Any

from ..config import DeliveryConfig
from ..errors import DeliveryError
from ..models import OutgoingMessage
from ._base import Ledger, LedgerReport, Settled, Transport, TransportUnavailable
from ._rate import LocalPacer, Pacer, backoff_delay

# Messages taken from the stream ahead of the workers, per worker. Bounds memory (and the
# work a crash can waste) whatever the length of the list.
LOOKAHEAD_PER_WORKER = 4
STOP_POLL = 0.2  # seconds between looks at the stop flag


class Stopped(TransportUnavailable):
    """A stop was asked for (SIGTERM): the messages in flight finish, the rest wait."""

    def __init__(self) -> None:
        super().__init__("delivery", "stopped on request")


@dataclass(frozen=True, slots=True)
class DeliveryReport:
    """What :func:`deliver` did. ``failed`` counts messages given up on in this run."""

    sent: int
    retried: int  # retry attempts made (a message retried twice counts 2)
    failed: int
    failures_by_reason: dict[str, int] = field(default_factory=dict)
    bounced: int = 0  # subscribers marked bounced by this run
    attempts: int = 0
    aborted: str | None = None  # why sending stopped early (the rest stay pending)
    skipped: int = 0  # already in another run's hands, or sent by it
    lost: int = 0  # outcomes not recorded: this worker's lease ran out and another took them

    def as_dict(self) -> dict[str, Any]:
        return {
            "sent": self.sent,
            "retried": self.retried,
            "failed": self.failed,
            "failures_by_reason": dict(self.failures_by_reason),
            "bounced": self.bounced,
            "attempts": self.attempts,
            "aborted": self.aborted,
            "skipped": self.skipped,
            "lost": self.lost,
        }


def reason_key(exc: DeliveryError) -> str:
    """How failures are grouped in the summary: the SMTP code, else the kind of failure."""
    if exc.code is not None:
        return str(exc.code)
    return exc.reason.split(":", 1)[0].strip() or "error"


@dataclass(slots=True)
class _Job:
    message: OutgoingMessage
    attempts: int = 0
    error: DeliveryError | None = None  # the last transient failure, while it waits to retry


class _Run:
    """One call of :func:`deliver`: shared counters and the queue the workers drain."""

    def __init__(
        self,
        transport: Transport,
        ledger: Ledger,
        config: DeliveryConfig,
        progress: Callable[[], None] | None,
        sleep: Callable[[float], Awaitable[None]],
        rand: Callable[[], float],
        pacer: Pacer,
    ) -> None:
        self.transport, self.ledger, self.config = transport, ledger, config
        self.progress, self.sleep, self.rand = progress, sleep, rand
        self.pacer = pacer
        self.queue: asyncio.Queue[_Job] = asyncio.Queue()
        self.window = asyncio.Semaphore(config.pool_size * LOOKAHEAD_PER_WORKER)
        self.retries: dict[asyncio.Task[None], _Job] = {}
        self.outstanding = 0
        self.produced_all = False
        self.done = asyncio.Event()
        self.error: BaseException | None = None  # the ledger failed: stop at once
        self.stream_error: BaseException | None = None
        self.sent = self.retried = self.failed = self.attempts = self.skipped = 0
        self.reasons: Counter[str] = Counter()
        self.aborted: TransportUnavailable | None = None
        self.halted = asyncio.Event()  # set with aborted or error: rate-limit waits end at once

    async def produce(self, messages: Iterable[OutgoingMessage] | AsyncIterable[OutgoingMessage]) -> None:
        try:
            if isinstance(messages, AsyncIterable):
                async with aclosing(messages):  # type: ignore[type-var]
                    async for message in messages:
                        if not await self._enqueue(message):
                            break
            else:
                for message in messages:
                    if not await self._enqueue(message):
                        break
        except Exception as exc:  # the stream failed (a render error): send what was made, then stop
            self.stream_error = exc
        finally:
            self.produced_all = True
            self._check_done()

    async def _enqueue(self, message: OutgoingMessage) -> bool:
        """Queue a message once a worker has room for it; False once sending stops."""
        await self.window.acquire()
        if self._stopping():
            return False
        self.outstanding += 1
        self.queue.put_nowait(_Job(message))
        return True

    def _stopping(self) -> bool:
        return self.aborted is not None or self.error is not None

    def _abort(self, why: TransportUnavailable) -> None:
        """Stop claiming messages (a stop was asked for, or the transport is unusable); workers
        waiting for a rate-limit slot give up the wait."""
        self.aborted = self.aborted or why
        self.halted.set()

    async def _pause(self, seconds: float) -> None:
        """Wait for a rate-limit slot, or less when a stop comes first."""
        sleeper = asyncio.ensure_future(self.sleep(seconds))
        waker = asyncio.ensure_future(self.halted.wait())
        try:
            await asyncio.wait({sleeper, waker}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (sleeper, waker):
                task.cancel()
            await asyncio.gather(sleeper, waker, return_exceptions=True)

    async def watch(self, stop: Callable[[], bool]) -> None:
        while not stop():
            await asyncio.sleep(STOP_POLL)
        self._abort(Stopped())
        # wake the producer if it waits for room, and settle whatever is queued or waiting to retry
        self.window.release()
        self._check_done()

    async def work(self) -> None:
        while True:
            job = await self.queue.get()
            try:
                await self.attempt(job)
            except Exception as exc:  # the ledger failed: stop the run, keep the cause
                self.error = self.error or exc
                self.halted.set()
                self._finish(job)

    async def attempt(self, job: _Job) -> None:
        m = job.message
        if self._stopping():
            self._drop(job)
            return
        wait = await self.pacer.reserve()
        if wait > 0:
            await self._pause(wait)
            if self._stopping():
                self._drop(job)  # stopped while waiting for its slot
                return
        if job.attempts == 0 and not self.ledger.claim(m):
            self.skipped += 1  # another run has it in hand, or has sent it
            self._finish(job)
            return
        job.attempts += 1
        self.attempts += 1
        try:
            await self.transport.send(m)
        except TransportUnavailable as exc:
            self._abort(exc)
            self._fail(job, exc, permanent=False)
        except DeliveryError as exc:
            if not exc.permanent and job.attempts < self.config.max_attempts:
                self._retry(job, exc)
            else:
                self._fail(job, exc, permanent=exc.permanent)
        else:
            self.ledger.settle(Settled(m, job.attempts))
            self.sent += 1
            self._finish(job)

    def _drop(self, job: _Job) -> None:
        """Sending stopped before this message's next attempt: one never tried stays pending
        (a claim taken ahead is given back when the ledger flushes); one that failed before is
        recorded as failed with its last reply, for a later run to retry."""
        if job.error is not None:
            self._fail(job, job.error, permanent=False)
        else:
            self._finish(job)

    def _retry(self, job: _Job, exc: DeliveryError) -> None:
        # the claim stays this run's while it waits: nothing to record until the last attempt
        job.error = exc
        self.retried += 1
        delay = backoff_delay(
            job.attempts, base=self.config.backoff_base, cap=self.config.backoff_max, rand=self.rand
        )

        async def later() -> None:
            await self.sleep(delay)
            # Leave the set before joining the queue, so _check_done never counts it twice.
            self.retries.pop(task, None)
            self.queue.put_nowait(job)

        task = asyncio.create_task(later())
        self.retries[task] = job
        task.add_done_callback(lambda t: self.retries.pop(t, None))

    def _fail(self, job: _Job, exc: DeliveryError, *, permanent: bool) -> None:
        # The ledger counts a refused address towards a bounce, once per edition: a 5xx for the
        # message's content ("554 spam") or a rerun of the same edition bounces nobody.
        if exc.permanent != permanent:
            exc = DeliveryError(
                exc.recipient, exc.reason, permanent=permanent, code=exc.code, address_refused=False
            )
        self.ledger.settle(Settled(job.message, job.attempts, exc))
        self.failed += 1
        self.reasons[reason_key(exc)] += 1
        self._finish(job)

    def _finish(self, job: _Job) -> None:
        self.outstanding -= 1
        self.window.release()
        if self.progress is not None:
            self.progress()
        self._check_done()

    def _check_done(self) -> None:
        idle = self.outstanding == 0 or (
            (self.aborted or self.error) and self.outstanding == len(self.retries) + self.queue.qsize()
        )
        if self.produced_all and idle:
            self.done.set()

    def settle_rest(self) -> None:
        """Sending stopped early: messages waiting to retry, or queued after a failed attempt,
        are recorded as failed with their last reply; the others were never claimed here."""
        left = list(self.retries.values())
        while not self.queue.empty():
            left.append(self.queue.get_nowait())
        for job in left:
            if job.error is not None and self.error is None:
                self._fail(job, job.error, permanent=False)

    def report(self, bounced: int, lost: int) -> DeliveryReport:
        return DeliveryReport(
            sent=self.sent,
            retried=self.retried,
            failed=self.failed,
            failures_by_reason=dict(self.reasons.most_common()),
            bounced=bounced,
            attempts=self.attempts,
            aborted=str(self.aborted) if self.aborted else None,
            skipped=self.skipped,
            lost=lost,
        )


async def deliver(
    messages: Iterable[OutgoingMessage] | AsyncIterable[OutgoingMessage],
    *,
    transport: Transport,
    ledger: Ledger,
    config: DeliveryConfig,
    progress: Callable[[], None] | None = None,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    rand: Callable[[], float] = random.random,
    stop: Callable[[], bool] | None = None,
    pacer: Pacer | None = None,
) -> DeliveryReport:
    """Send every message through ``transport``, recording each in ``ledger``.

    Args:
        messages: consumed lazily (an iterable, or an async one that claims and renders
            batches), at most ``LOOKAHEAD_PER_WORKER * pool_size`` ahead of the connections:
            memory does not grow with the list.
        transport: an open transport (``async with open_transport(...)``).
        ledger: where each message is claimed and its outcome recorded (:class:`Ledger`).
        config: ``pool_size`` connections; ``max_attempts`` with exponential backoff
            (``backoff_base`` .. ``backoff_max``) for 4xx replies, timeouts and dropped
            connections.
        pacer: books each attempt's send slot; default: ``config``'s rates, in this process.
        progress: called once per message done (sent or given up).
        sleep, rand: the clock's sleep and the jitter source (tests may replace them).
        stop: polled a few times a second (it may be set from another thread, as a signal
            handler does); once true, no further message is claimed, those in flight finish
            and are recorded, and the rest stay pending for the next run.

    Returns:
        The counts; ``aborted`` says why sending stopped early when the transport became
        unusable (the messages not attempted stay pending in the ledger for a rerun).

    Raises:
        Whatever the message stream or the ledger raised, after the in-flight messages
        were settled.
    """
    run = _Run(transport, ledger, config, progress, sleep, rand, pacer or LocalPacer.of(config))
    workers = [asyncio.create_task(run.work()) for _ in range(config.pool_size)]
    producer = asyncio.create_task(run.produce(messages))
    watcher = asyncio.create_task(run.watch(stop)) if stop is not None else None
    try:
        await run.done.wait()
        run.settle_rest()
    finally:
        if watcher is not None:
            watcher.cancel()
            await asyncio.gather(watcher, return_exceptions=True)
        for task in (producer, *workers, *run.retries):
            task.cancel()
        await asyncio.gather(producer, *workers, *run.retries, return_exceptions=True)
    try:  # every outcome settled, also when sending stopped early
        written = await ledger.flush()
    except Exception as exc:
        run.error = run.error or exc
        written = LedgerReport()
    if run.error is not None or run.stream_error is not None:
        raise run.error or run.stream_error  # type: ignore[misc]
    return run.report(written.bounced, written.lost)
