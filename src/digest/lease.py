"""A process's lease on its claims: registered in the store, kept alive by a heartbeat thread.

While the heartbeat renews the lease, the deliveries the process claimed stay its own. If the
process dies (``kill -9``, a lost machine), its lease runs out within ``lease`` and whoever
beats next (any other run or worker) marks it dead and puts its claims back to pending. The
heartbeat is a thread, not a task: a busy event loop never starves it.
"""

from __future__ import annotations

import logging
import threading
from datetime import timedelta
from types import TracebackType

from .errors import DigestError
from .store import Store

log = logging.getLogger(__name__)


class Lease:
    """Register a worker and keep its lease alive until :meth:`end` (or the ``with`` block's end).

    Attributes:
        id: the worker's id, which its claims carry.
        lost: set when the heartbeat found the lease gone (it ran out, and another process took
            the claims): stop claiming, and expect the outcomes of old claims to be refused.
    """

    def __init__(self, store: Store, *, name: str | None, lease: timedelta) -> None:
        self.store = store
        self.duration = lease
        self.id = store.register_worker(name=name, lease=lease)
        self.lost = threading.Event()
        self._ended = threading.Event()
        self._thread = threading.Thread(target=self._beat, name=f"digest-lease-{self.id}", daemon=True)
        self._thread.start()

    @property
    def interval(self) -> float:
        return self.duration.total_seconds() / 3

    def _beat(self) -> None:
        while not self._ended.wait(self.interval):
            try:
                if not self.store.renew_lease(self.id, lease=self.duration):
                    log.error("worker %s: its lease ran out and its claims were given to others", self.id)
                    self.lost.set()
                    return
                released = self.store.release_expired()
            except DigestError as exc:  # the store is away for a moment: the lease has slack
                log.warning("worker %s: heartbeat not recorded: %s", self.id, exc)
                continue
            if released.workers or released.deliveries:
                log.warning(
                    "%d worker(s) stopped beating: %d run(s) marked dead, %d delivery claim(s) given back",
                    released.workers,
                    released.runs,
                    released.deliveries,
                )

    def end(self, status: str = "stopped") -> None:
        """Stop the heartbeat and end the lease; claims still held go back to pending."""
        if self._ended.is_set():
            return
        self._ended.set()
        self._thread.join()
        self.store.end_worker(self.id, status="dead" if self.lost.is_set() else status)

    def __enter__(self) -> Lease:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.end()
