"""Helpers for tests that drive the ledger directly, as a worker does."""

from __future__ import annotations

from datetime import timedelta

from digest.store import Store
from digest.store.ledger import DeliveryState, Outcome, Recorded

LONG = timedelta(hours=1)  # a lease no test outlives


def settle(
    store: Store,
    edition: str,
    email: str,
    state: str = "sent",
    *,
    reason: str | None = None,
    code: int | None = None,
    permanent: bool = False,
    refused: bool = False,
    attempts: int = 1,
    worker: str | None = None,
    bounce_after: int = 3,
) -> Recorded:
    """Claim one delivery for a worker (a new one unless given) and record how it ended."""
    worker = worker or store.register_worker(name="test", lease=LONG)
    assert store.mark_sending(edition, email, f"<{email}>", claimed_by=worker)
    outcome = Outcome(
        edition,
        email,
        DeliveryState(state),
        attempts=attempts,
        message_id=f"<{email}>",
        reason=reason,
        code=code,
        permanent=permanent,
        counts_as_bounce=refused,
    )
    return store.record_outcomes(worker, [outcome], bounce_after=bounce_after)
