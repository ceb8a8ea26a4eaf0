"""Send pacing and retry backoff. The arithmetic contains no I/O: callers pass the clock."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from ..config import DeliveryConfig


class Pacer(Protocol):
    """Books the next send slot. In one process, :class:`LocalPacer`; for every worker of a
    store together, one kept in the store (:class:`digest.sending.SharedPacer`)."""

    async def reserve(self) -> float:
        """Book a slot; return the seconds to wait for it (0: send now)."""
        ...


class RateLimiter:
    """Paces sends evenly under a per-second and a per-hour limit (GCRA, burst of one).

    Each call to :meth:`reserve` books the next free slot and says how long to wait for it,
    so concurrent workers queue up in order and the pace never stalls: with 3,600 an hour
    a message leaves every second, rather than 3,600 at once and then an hour of silence.
    """

    def __init__(self, per_second: float | None = None, per_hour: float | None = None) -> None:
        self._intervals = [1.0 / r for r in (per_second, per_hour and per_hour / 3600.0) if r]
        self._next = [float("-inf")] * len(self._intervals)

    def reserve(self, now: float) -> float:
        """Book a send slot; return the seconds to wait (0 when it may go at once)."""
        if not self._intervals:
            return 0.0
        at = max(now, *self._next)
        self._next = [at + interval for interval in self._intervals]
        return at - now


def backoff_delay(attempt: int, *, base: float, cap: float, rand: Callable[[], float]) -> float:
    """Seconds to wait before attempt ``attempt + 1`` after ``attempt`` failed (1-based).

    Exponential (base, 2·base, 4·base, ... up to ``cap``) with "equal jitter": half fixed,
    half random, so that messages refused together do not come back together.
    ``base = 0`` turns backoff off (tests).
    """
    if base <= 0 or attempt < 1:
        return 0.0
    delay = min(cap, base * 2.0 ** (attempt - 1))
    return delay / 2 + rand() * delay / 2


class LocalPacer:
    """:class:`RateLimiter` on the event loop's clock: the pace of this process alone."""

    def __init__(self, limiter: RateLimiter) -> None:
        self._limiter = limiter

    @classmethod
    def of(cls, config: DeliveryConfig) -> LocalPacer:
        return cls(RateLimiter(config.rate, config.rate_per_hour))

    async def reserve(self) -> float:
        return self._limiter.reserve(asyncio.get_running_loop().time())
