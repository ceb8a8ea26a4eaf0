"""The delivery ledger: pending -> sending -> sent | failed | skipped, claims under leases."""

from __future__ import annotations

import time
from datetime import date, timedelta

from digest.models import Subscriber, SubscriberStatus
from digest.store import Store
from digest.store.ledger import DeliveryState, Outcome
from store_helpers import LONG, settle

E = "2026-01-05"


def test_plan_is_idempotent_and_keeps_what_was_sent(store: Store) -> None:
    assert store.plan_deliveries(E, ["a@x.org", "b@x.org", "a@x.org"]) == 2
    settle(store, E, "a@x.org")
    assert store.plan_deliveries(E, ["a@x.org", "b@x.org", "c@x.org"]) == 1
    assert store.delivery_states(E) == {
        "a@x.org": DeliveryState.SENT,
        "b@x.org": DeliveryState.PENDING,
        "c@x.org": DeliveryState.PENDING,
    }
    assert store.delivery_counts(E) == {"sent": 1, "pending": 2}


def test_plan_edition_adds_every_active_reader_once_and_retries_failures(store: Store) -> None:
    gone = Subscriber("c@x.org", status=SubscriberStatus.UNSUBSCRIBED)
    store.merge_subscribers([Subscriber("a@x.org"), Subscriber("b@x.org"), gone])
    assert store.plan_edition(E) == 2
    assert store.plan_edition(E) == 0  # a second process planning the same edition adds nobody
    settle(store, E, "a@x.org", "failed", reason="451 later", code=451)
    store.merge_subscribers([Subscriber("d@x.org")])
    assert store.plan_edition(E, new_readers=False) == 0  # a retry: only those already planned
    assert store.delivery_states(E) == {"a@x.org": "pending", "b@x.org": "pending"}
    assert store.plan_edition(E) == 1
    assert set(store.delivery_states(E)) == {"a@x.org", "b@x.org", "d@x.org"}


def test_each_attempt_is_counted_and_the_last_reply_kept(store: Store) -> None:
    settle(store, E, "a@x.org", "failed", reason="451 4.7.1 later", code=451, attempts=2)
    [row] = store.failed_deliveries(edition_id=E)
    assert (row.attempts, row.code, row.permanent, row.reason) == (2, 451, False, "451 4.7.1 later")
    assert row.updated.tzinfo is not None
    settle(store, E, "a@x.org", "failed", reason="550 5.1.1 unknown", code=550, permanent=True)
    [row] = store.failed_deliveries(edition_id=E)
    assert (row.attempts, row.code, row.permanent) == (3, 550, True)
    settle(store, E, "a@x.org")
    assert store.failed_deliveries() == []


def test_claims_in_batches_are_disjoint_and_exclusive(store: Store) -> None:
    store.plan_deliveries(E, [f"r{i:02d}@x.org" for i in range(25)])
    one = store.register_worker(name="one", lease=LONG)
    two = store.register_worker(name="two", lease=LONG)
    first = store.claim_batch(one, E, limit=10)
    second = store.claim_batch(two, E, limit=10)
    assert [c.email for c in first] == [f"r{i:02d}@x.org" for i in range(10)]  # in address order
    assert not {c.email for c in first} & {c.email for c in second}
    assert len(store.claim_batch(one, E, limit=10)) == 5
    assert store.claim_batch(two, E, limit=10) == []
    # a claimed delivery is nobody else's, not even through the one-message path
    assert not store.mark_sending(E, "r00@x.org", "<m>", claimed_by=two)
    assert store.delivery_counts(E) == {"sending": 25}
    assert store.in_flight(E, besides=one)
    assert store.release_claims(two, E) == 10
    assert not store.in_flight(E, besides=one)


def test_outcomes_are_written_only_while_the_worker_holds_the_claim(store: Store) -> None:
    store.plan_deliveries(E, ["a@x.org", "b@x.org"])
    late = store.register_worker(name="late", lease=timedelta(milliseconds=200))
    other = store.register_worker(name="other", lease=LONG)
    store.claim_batch(late, E, limit=2)
    time.sleep(0.3)  # the lease runs out; another worker notices and takes the claims
    released = store.release_expired()
    assert (released.workers, released.deliveries) == (1, 2)
    assert not store.renew_lease(late, lease=LONG)  # too late: the worker learns it is dead
    assert [c.email for c in store.claim_batch(other, E, limit=1)] == ["a@x.org"]
    outcomes = [Outcome(E, e, DeliveryState.SENT) for e in ("a@x.org", "b@x.org")]
    recorded = store.record_outcomes(late, outcomes, bounce_after=3)
    assert (recorded.recorded, recorded.lost) == (0, 2)  # neither row is its own any more
    assert store.delivery_states(E) == {"a@x.org": "sending", "b@x.org": "pending"}
    assert store.record_outcomes(other, outcomes[:1], bounce_after=3).recorded == 1
    [dead, alive] = sorted(store.workers(), key=lambda w: w.name)
    assert (dead.name, dead.status, alive.status, alive.sent) == ("late", "dead", "running", 1)


def test_a_dead_workers_runs_are_marked_dead(store: Store) -> None:
    worker = store.register_worker(name="w", lease=timedelta(milliseconds=100))
    run = store.start_run(E, worker_id=worker)
    time.sleep(0.2)
    [shown] = store.recent_runs(1)
    assert shown.status == "dead"  # seen as dead before anyone marked it
    assert store.release_expired().runs == 1
    [marked] = store.recent_runs(1)
    assert (marked.id, marked.status) == (run, "dead")


def test_ending_a_worker_gives_its_claims_back(store: Store) -> None:
    store.plan_deliveries(E, ["a@x.org"])
    worker = store.register_worker(name="w", lease=LONG)
    assert len(store.claim_batch(worker, E, limit=5)) == 1
    store.end_worker(worker)
    assert store.delivery_states(E) == {"a@x.org": "pending"}
    assert store.workers()[0].status == "stopped"


def test_hard_failures_bounce_at_the_threshold_and_reset_on_success(store: Store) -> None:
    store.merge_subscribers([Subscriber("a@x.org", "A")])
    assert not store.record_hard_failure("a@x.org", bounce_after=2)
    settle(store, E, "a@x.org")  # a success in between: the count starts again
    assert not store.record_hard_failure("a@x.org", bounce_after=2)
    assert store.record_hard_failure("a@x.org", bounce_after=2)
    assert store.subscribers()[0].status.value == "bounced"
    assert not store.record_hard_failure("unknown@x.org", bounce_after=1)


def test_a_refused_address_counts_once_per_edition(store: Store) -> None:
    store.merge_subscribers([Subscriber("a@x.org")])
    for _ in range(3):  # three attempts at one edition, each refused: one count
        settle(store, E, "a@x.org", "failed", code=550, permanent=True, refused=True, bounce_after=2)
    assert store.subscribers()[0].status.value == "active"
    bounced = settle(
        store, "2026-01-06", "a@x.org", "failed", code=550, permanent=True, refused=True, bounce_after=2
    )
    assert bounced.bounced == 1
    assert store.subscribers()[0].status.value == "bounced"


def test_workers_leave_an_edition_whose_sending_began_too_long_ago(store: Store) -> None:
    from datetime import UTC, datetime

    from digest.testing import sample_edition

    for day in (5, 6):
        edition = store.save_edition(sample_edition(day=date(2026, 1, day)))
        assert store.seal_or_hold(edition.id, require_approval=False, actor="test")
        store.plan_deliveries(edition.id, ["a@x.org"])
    assert store.editions_to_send(sealed_since=datetime(2020, 1, 1, tzinfo=UTC)) == [
        "2026-01-05",
        "2026-01-06",
    ]
    assert store.editions_to_send(sealed_since=datetime.now(UTC) + timedelta(hours=1)) == []
    settle(store, "2026-01-05", "a@x.org")
    assert store.editions_to_send(sealed_since=datetime(2020, 1, 1, tzinfo=UTC)) == ["2026-01-06"]
