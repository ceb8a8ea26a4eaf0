"""The delivery ledger on a real SQLite file: pending -> sending -> sent | failed."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from digest.models import Subscriber
from digest.store import Store, open_store
from digest.store.ledger import DeliveryState

E = "2026-01-05"


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with open_store(tmp_path / "ledger.db") as s:
        yield s


def test_plan_is_idempotent_and_keeps_what_was_sent(store: Store) -> None:
    assert store.plan_deliveries(E, ["a@x.org", "b@x.org", "a@x.org"]) == 2
    store.mark_sending(E, "a@x.org", "<m1@x.org>")
    store.mark_sent(E, "a@x.org")
    assert store.plan_deliveries(E, ["a@x.org", "b@x.org", "c@x.org"]) == 1
    assert store.delivery_states(E) == {
        "a@x.org": DeliveryState.SENT,
        "b@x.org": DeliveryState.PENDING,
        "c@x.org": DeliveryState.PENDING,
    }
    assert store.delivery_counts(E) == {"sent": 1, "pending": 2}


def test_each_attempt_is_counted_and_the_last_reply_kept(store: Store) -> None:
    store.mark_sending(E, "a@x.org", "<m@x.org>")  # unplanned: the row is made
    store.mark_failed(E, "a@x.org", reason="451 4.7.1 later", code=451, permanent=False)
    store.mark_sending(E, "a@x.org", "<m@x.org>")
    assert store.delivery_states(E) == {"a@x.org": DeliveryState.SENDING}
    store.mark_failed(E, "a@x.org", reason="550 5.1.1 unknown", code=550, permanent=True)
    [row] = store.failed_deliveries(edition_id=E)
    assert (row.attempts, row.code, row.permanent, row.reason) == (2, 550, True, "550 5.1.1 unknown")
    assert row.updated.tzinfo is not None
    store.mark_sending(E, "a@x.org", "<m@x.org>")
    store.mark_sent(E, "a@x.org")
    assert store.failed_deliveries() == []


def test_hard_failures_bounce_at_the_threshold_and_reset_on_success(store: Store) -> None:
    store.merge_subscribers([Subscriber("a@x.org", "A")])
    assert not store.record_hard_failure("a@x.org", bounce_after=2)
    store.mark_sent(E, "a@x.org")  # a success in between: the count starts again
    assert not store.record_hard_failure("a@x.org", bounce_after=2)
    assert store.record_hard_failure("a@x.org", bounce_after=2)
    assert store.subscribers()[0].status.value == "bounced"
    assert not store.record_hard_failure("unknown@x.org", bounce_after=1)


def test_whose_claims_are_alive() -> None:
    """A claim is taken over only when its run is gone: ended, its process gone, or stale."""
    import os
    import socket
    from datetime import UTC, datetime, timedelta

    from digest.store.ledger import STALE_CLAIM, Claim, claim_alive, claimant

    now = datetime.now(UTC)
    mine = Claim.parse(claimant(7))
    assert mine is not None
    assert mine.here
    assert mine.run_id == 7
    assert claim_alive(mine, updated=now, now=now, run_running=True)  # a run beside the caller
    runless = Claim.parse(claimant())  # this process, naming no run: nothing of it is still sending
    assert not claim_alive(runless, updated=now, now=now, run_running=True)
    assert not claim_alive(mine, updated=now, now=now, run_running=False)  # run ended
    assert not claim_alive(mine, updated=now - STALE_CLAIM - timedelta(1), now=now, run_running=True)
    # another container on this host (its own pid numbers): its pid cannot be checked from here
    other_ns = Claim(socket.gethostname(), "another-namespace", os.getpid(), 3)
    assert not other_ns.here
    assert claim_alive(other_ns, updated=now, now=now, run_running=True)
    # a process of this machine that is gone
    dead = Claim.parse(claimant(3).rsplit("|", 2)[0] + f"|{2**22 + 11}|3")
    assert dead is not None
    assert not claim_alive(dead, updated=now, now=now, run_running=True)
    assert Claim.parse("host:123") is None  # written before claims named their run: abandoned
    assert not claim_alive(None, updated=now, now=now, run_running=True)
