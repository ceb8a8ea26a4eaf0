"""What every entry point of a run is given: one :class:`RunContext`, in place of ten keywords."""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .config import Settings
    from .gather import FeedOutcome
    from .store import Store


@dataclass(frozen=True, slots=True)
class Progress:
    """Callbacks a front end (the CLI's progress bars) may hook; all optional."""

    feed_done: Callable[[FeedOutcome], None] | None = None
    stage: Callable[[str, int], None] | None = None  # (stage name, total items) when a stage starts
    advance: Callable[[], None] | None = None  # one item of the current stage done


@dataclass(frozen=True, slots=True)
class RunContext:
    """Who runs, with what, and when: passed to :func:`digest.pipeline.run_edition` and the
    other entry points, and to :func:`digest.sending.work`.

    Attributes:
        settings: the validated configuration.
        store: the open store.
        now: the current instant (timezone-aware); passed in, never read by a stage.
        environ: where secrets come from.
        transport_url: overrides ``[delivery] transport``.
        progress: optional callbacks for progress display.
        trigger: who asked ("cli", "schedule", "desk", an editor's name, "worker").
        stop: when set (SIGTERM), sending stops after the messages in flight, each recorded in
            the ledger; the rest stay pending for another worker or the next run.
        worker_name: how this process appears among the store's workers (default: host:pid).
    """

    settings: Settings
    store: Store
    now: datetime
    environ: Mapping[str, str]
    transport_url: str | None = None
    progress: Progress = field(default_factory=Progress)
    trigger: str = "cli"
    stop: threading.Event | None = None
    worker_name: str | None = None

    @property
    def transport(self) -> str:
        """The delivery URL: the override, else the config's."""
        return self.transport_url or self.settings.transport_url()

    @property
    def due_by(self) -> datetime | None:
        """What is due to go out: with local-time sending, the waves that left by ``now``;
        otherwise everything planned (``None``)."""
        return self.now if self.settings.local_time else None

    @property
    def stopping(self) -> bool:
        return self.stop is not None and self.stop.is_set()

    def but(self, **changes: object) -> RunContext:
        """A copy with some fields changed (``ctx.but(trigger="ann")``)."""
        return replace(self, **changes)  # type: ignore[arg-type]
