"""A run's account (:class:`RunSummary`) and its record in the store (:func:`recorded_run`)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from .context import RunContext
from .deliver import DeliveryReport
from .gather import FeedOutcome
from .lease import Lease


@dataclass(slots=True)
class RunSummary:
    """What a run did, for the CLI's summary, ``digest status`` and the exit code."""

    edition_id: str
    feeds: list[FeedOutcome] = field(default_factory=list)
    feed_failures: dict[str, int] = field(default_factory=dict)  # consecutive failures, by URL
    new_articles: int = 0
    full_text_abandoned: int = 0  # at the gather deadline; those entries keep their snippets
    stories: int = 0
    reused_edition: bool = False
    condense: dict[str, Any] = field(default_factory=dict)
    subscriber_errors: list[str] = field(default_factory=list)
    subscribers_csv: str = ""  # "unchanged" (not merged again), or what merging it did
    subscribers_active: int = 0
    already_sent: int = 0
    skipped_empty: int = 0
    render_failed: list[str] = field(default_factory=list)
    delivery: DeliveryReport | None = None
    warnings: list[str] = field(default_factory=list)
    destination: str = ""
    trigger: str = "cli"  # who started the run: "cli", "schedule", "desk"
    kind: str = "send"  # "send" (run_edition) or "prepare" (prepare_edition: nothing is sent)
    held: bool = False  # approval is required and missing: nothing was sent
    stopped: bool = False  # a stop was requested (SIGTERM): the rest waits for the next run
    waiting: dict[str, int] = field(default_factory=dict)  # deliveries left pending or sending
    missed: int = 0  # local-time sending: readers whose wave passed beyond the grace
    worker: str = ""  # the worker (lease) that sent

    @property
    def feeds_failed(self) -> int:
        return sum(1 for f in self.feeds if f.status == "error")

    @property
    def exit_code(self) -> int:
        """0 all delivered (or held for approval), 1 some feeds or deliveries failed, or stopped."""
        d = self.delivery
        failed = (d.failed if d else 0) + len(self.render_failed)
        unsettled = self.waiting or (d and (d.aborted or d.lost))
        return 1 if (self.feeds_failed or failed or unsettled or self.stopped) else 0

    @property
    def status(self) -> str:
        """The run's status as ``digest status`` shows it."""
        if self.stopped:
            return "stopped"
        if self.held:
            return "held"
        if self.waiting and not (self.delivery and self.delivery.failed):
            return "incomplete"  # deliveries are left: never "ok" while readers wait
        if self.exit_code != 0:
            return "partial"
        return "prepared" if self.kind == "prepare" else "ok"

    def as_dict(self) -> dict[str, Any]:
        return {
            "edition": self.edition_id,
            "feeds": {
                "total": len(self.feeds),
                "failed": self.feeds_failed,
                "errors": {f.url: f.error for f in self.feeds if f.status == "error"},
                "consecutive_failures": self.feed_failures,
            },
            "new_articles": self.new_articles,
            "full_text_abandoned": self.full_text_abandoned,
            "stories": self.stories,
            "reused_edition": self.reused_edition,
            "condense": self.condense,
            "subscriber_errors": self.subscriber_errors,
            "subscribers_csv": self.subscribers_csv,
            "subscribers_active": self.subscribers_active,
            "already_sent": self.already_sent,
            "skipped_empty": self.skipped_empty,
            "render_failed": self.render_failed,
            "delivery": self.delivery.as_dict() if self.delivery else None,
            "warnings": self.warnings,
            "destination": self.destination,
            "trigger": self.trigger,
            "kind": self.kind,
            "held": self.held,
            "stopped": self.stopped,
            "waiting": self.waiting,
            "missed": self.missed,
            "worker": self.worker,
        }


@contextmanager
def recorded_run(
    ctx: RunContext, summary: RunSummary, lease: Lease | None = None
) -> Iterator[tuple[int, Lease]]:
    """Record the run in the store: "running" now, then its status, or "failed" if it raised
    (a crashed send must not look finished: the scheduler resumes unfinished ones). The run
    holds a lease (its own, unless ``lease`` is given) whose heartbeat tells others it is
    alive: if the process dies, the run is marked dead and its claims go to other workers.
    Yields the run's id and its lease."""
    own = lease is None
    lease = lease or Lease(ctx.store, name=ctx.worker_name, lease=ctx.settings.delivery.lease)
    summary.worker = lease.id
    try:
        run_id = ctx.store.start_run(summary.edition_id, worker_id=lease.id)
        try:
            yield run_id, lease
        except BaseException:
            ctx.store.finish_run(run_id, "failed", summary.as_dict())
            raise
        ctx.store.finish_run(run_id, summary.status, summary.as_dict())
    finally:
        if own:
            lease.end()
