"""The delivery loop over the in-memory transport and a real SQLite ledger: retries, bounces,
bounded look-ahead, aborts; and the file: transport, DKIM and transport URLs."""

from __future__ import annotations

import asyncio
import base64
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import dkim
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from digest.config import DeliveryConfig
from digest.deliver import (
    DeliveryReport,
    FileTransport,
    LedgerReport,
    MemoryTransport,
    RateLimiter,
    Transport,
    TransportUnavailable,
    backoff_delay,
    check_message,
    deliver,
    open_transport,
)
from digest.errors import ConfigError, DeliveryError, StorageError
from digest.models import OutgoingMessage, Subscriber
from digest.store import Store
from digest.store.ledger import DeliveryState
from smtpd_helpers import outgoing, worker_ledger

EDITION = "2026-01-05"


def config(**kw: object) -> DeliveryConfig:
    return DeliveryConfig.model_validate({"pool_size": 4, "backoff_base": 0.0, **kw})


def send_all(
    msgs: object, transport: Transport, ledger: object, cfg: DeliveryConfig, **kw: object
) -> DeliveryReport:
    """Deliver through a fresh worker's ledger of the store (or through ``ledger`` as it is)."""
    if isinstance(ledger, Store):
        ledger = worker_ledger(ledger, cfg)

    async def go() -> DeliveryReport:
        async with transport:
            return await deliver(msgs, transport=transport, ledger=ledger, config=cfg, **kw)  # type: ignore[arg-type]

    return asyncio.run(go())


def failing(rule: Callable[[OutgoingMessage, int], DeliveryError | None]) -> MemoryTransport:
    tries: dict[str, int] = {}

    def fail(m: OutgoingMessage) -> None:
        tries[m.recipient] = tries.get(m.recipient, 0) + 1
        exc = rule(m, tries[m.recipient])
        if exc is not None:
            raise exc

    return MemoryTransport(fail=fail)


def test_every_message_sent_once_and_recorded(store: Store) -> None:
    msgs = [outgoing(f"r{i}@example.org") for i in range(25)]
    store.plan_deliveries(EDITION, [m.recipient for m in msgs])
    done: list[int] = []
    t = MemoryTransport()
    report = send_all(msgs, t, store, config(), progress=lambda: done.append(1))
    assert sorted(m.recipient for m in t.outbox) == sorted(m.recipient for m in msgs)
    assert (report.sent, report.failed, report.retried, len(done)) == (25, 0, 0, 25)
    assert store.delivery_counts(EDITION) == {"sent": 25}
    assert t.opened
    assert t.closed


def test_temporary_failures_retry_with_backoff_then_succeed(store: Store) -> None:
    delays: list[float] = []

    async def sleep(s: float) -> None:
        delays.append(s)

    t = failing(
        lambda m, n: DeliveryError(m.recipient, "451 later", permanent=False, code=451) if n < 3 else None
    )
    cfg = config(backoff_base=2.0, backoff_max=3.0, max_attempts=5)
    report = send_all([outgoing("a@example.org")], t, store, cfg, sleep=sleep, rand=lambda: 1.0)
    assert (report.sent, report.retried, report.attempts) == (1, 2, 3)
    assert delays == [2.0, 3.0]  # 2·2^0, then 2·2^1 = 4 capped at 3 (rand=1: the full delay)
    rows = store.delivery_states(EDITION)
    assert rows == {"a@example.org": DeliveryState.SENT}


def test_retries_stop_at_max_attempts_and_count_by_reason(store: Store) -> None:
    t = failing(lambda m, n: DeliveryError(m.recipient, "timed out after 1s", permanent=False))
    report = send_all(
        [outgoing("a@example.org"), outgoing("b@example.org")], t, store, config(max_attempts=3)
    )
    assert (report.sent, report.failed, report.retried, report.attempts) == (0, 2, 4, 6)
    assert report.failures_by_reason == {"timed out after 1s": 2}
    [a, _b] = sorted(store.failed_deliveries(edition_id=EDITION), key=lambda r: r.email)
    assert a.attempts == 3
    assert not a.permanent
    assert report.as_dict()["failed"] == 2


def test_hard_failures_bounce_a_subscriber_after_bounce_after_runs(store: Store) -> None:
    store.merge_subscribers([Subscriber("gone@example.org"), Subscriber("ok@example.org")])

    def rule(m: OutgoingMessage, n: int) -> DeliveryError | None:
        if m.recipient.startswith("gone"):
            return DeliveryError(
                m.recipient, "550 5.1.1 no such user", permanent=True, code=550, address_refused=True
            )
        return None

    for run in range(2):
        report = send_all(
            [outgoing("gone@example.org", edition=f"e{run}"), outgoing("ok@example.org", edition=f"e{run}")],
            failing(rule),
            store,
            config(bounce_after=2),
        )
        assert (report.sent, report.failed, report.retried) == (1, 1, 0)
    assert report.bounced == 1
    status = {s.email: s.status.value for s in store.subscribers()}
    assert status == {"gone@example.org": "bounced", "ok@example.org": "active"}


def test_a_refused_message_or_a_rerun_of_one_edition_bounces_nobody(store: Store) -> None:
    store.merge_subscribers([Subscriber("a@example.org"), Subscriber("b@example.org")])
    spam = failing(
        lambda m, n: DeliveryError(m.recipient, "554 5.7.1 rejected as spam", permanent=True, code=554)
    )
    for _ in range(3):  # the message's content is refused: about the message, not the readers
        report = send_all(
            [outgoing("a@example.org"), outgoing("b@example.org")], spam, store, config(bounce_after=1)
        )
        assert (report.failed, report.bounced) == (2, 0)
    gone = failing(
        lambda m, n: DeliveryError(
            m.recipient, "550 no such user", permanent=True, code=550, address_refused=True
        )
    )
    for _ in range(3):  # one edition retried three times: one refusal, counted once
        send_all([outgoing("b@example.org")], gone, store, config(bounce_after=2))
    assert {s.email: s.status.value for s in store.subscribers()} == {
        "a@example.org": "active",
        "b@example.org": "active",
    }


def test_a_delivery_claimed_by_another_run_is_skipped(store: Store) -> None:
    store.plan_deliveries(EDITION, ["a@example.org", "b@example.org"])
    other = store.register_worker(name="other", lease=timedelta(milliseconds=300))
    assert store.mark_sending(EDITION, "a@example.org", "<m1@x>", claimed_by=other) is True
    t = MemoryTransport()
    report = send_all([outgoing("a@example.org"), outgoing("b@example.org")], t, store, config())
    assert [m.recipient for m in t.outbox] == ["b@example.org"]
    assert (report.sent, report.skipped) == (1, 1)
    time.sleep(0.4)  # the other worker's lease runs out (it died): its claim is given back
    assert store.release_expired().deliveries == 1
    assert store.delivery_states(EDITION)["a@example.org"] is DeliveryState.PENDING


def test_a_success_clears_the_run_of_hard_failures(store: Store) -> None:
    store.merge_subscribers([Subscriber("flaky@example.org")])
    store.record_hard_failure("flaky@example.org", bounce_after=2)
    send_all([outgoing("flaky@example.org")], MemoryTransport(), store, config())
    assert not store.record_hard_failure("flaky@example.org", bounce_after=2)  # back to 1, not 2


def test_look_ahead_is_bounded_whatever_the_length_of_the_stream(store: Store) -> None:
    taken = 0
    finished = 0
    most_ahead = 0

    def stream() -> Iterator[OutgoingMessage]:
        nonlocal taken, most_ahead
        for i in range(400):
            taken += 1
            most_ahead = max(most_ahead, taken - finished)
            yield outgoing(f"r{i}@example.org")

    class Slow(MemoryTransport):
        async def send(self, message: OutgoingMessage) -> None:
            nonlocal finished
            await asyncio.sleep(0)
            await super().send(message)
            finished += 1

    cfg = config(pool_size=3)
    report = send_all(stream(), Slow(), store, cfg)
    assert report.sent == 400
    assert most_ahead <= 3 * 4 + 1  # LOOKAHEAD_PER_WORKER per worker, plus the one being made


def test_an_unusable_transport_stops_the_run_and_leaves_the_rest_pending(store: Store) -> None:
    msgs = [outgoing(f"r{i}@example.org") for i in range(50)]
    store.plan_deliveries(EDITION, [m.recipient for m in msgs])
    t = failing(lambda m, n: TransportUnavailable("smtp://x:25", "AUTH refused: 535 no"))
    report = send_all(iter(msgs), t, store, config(pool_size=2))
    assert report.aborted == "smtp://x:25: AUTH refused: 535 no"
    assert report.sent == 0
    assert 1 <= report.failed <= 2
    counts = store.delivery_counts(EDITION)
    assert counts["failed"] == report.failed
    assert counts["pending"] == 50 - report.failed
    assert all(r.code is None for r in store.failed_deliveries())  # no bounce for anyone


def test_a_broken_ledger_stops_the_run_with_its_error(store: Store) -> None:
    class Broken:
        def claim(self, *a: object) -> bool:
            raise StorageError("store x: disk I/O error")

        async def flush(self) -> LedgerReport:
            return LedgerReport()

    with pytest.raises(StorageError, match="disk I/O"):
        send_all([outgoing(f"r{i}@example.org") for i in range(10)], MemoryTransport(), Broken(), config())


def test_an_error_in_the_stream_settles_in_flight_messages_then_propagates(store: Store) -> None:
    def stream() -> Iterator[OutgoingMessage]:
        yield outgoing("a@example.org")
        raise ValueError("template exploded")

    t = MemoryTransport()
    with pytest.raises(ValueError, match="template exploded"):
        send_all(stream(), t, store, config())
    assert store.delivery_states(EDITION) == {"a@example.org": DeliveryState.SENT}


def test_rate_limiter_paces_evenly_under_both_limits() -> None:
    limiter = RateLimiter(per_second=10, per_hour=7200)  # 0.1 s and 0.5 s apart: the stricter wins
    waits = [limiter.reserve(0.0) for _ in range(4)]
    assert waits == pytest.approx([0.0, 0.5, 1.0, 1.5])
    # Time moving on does not let a burst through later: the pace is kept, never stalled.
    assert limiter.reserve(10.0) == 0.0
    assert limiter.reserve(10.0) == pytest.approx(0.5)
    assert RateLimiter().reserve(5.0) == 0.0


def test_backoff_grows_is_capped_and_can_be_turned_off() -> None:
    assert [backoff_delay(n, base=1, cap=5, rand=lambda: 1.0) for n in (1, 2, 3, 4)] == [1, 2, 4, 5]
    assert backoff_delay(3, base=1, cap=60, rand=lambda: 0.0) == 2.0  # half fixed, half jitter
    assert backoff_delay(3, base=0, cap=60, rand=lambda: 1.0) == 0.0


# --- the header guard --------------------------------------------------------------------


def _with_headers(raw: bytes) -> OutgoingMessage:
    return OutgoingMessage(
        EDITION, "d@example.org", "r@example.org", "<x@example.org>", raw + b"\r\n\r\nbody\r\n"
    )


BASE = b"From: d@example.org\r\nTo: r@example.org\r\nMessage-ID: <x@example.org>\r\nSubject: hi"


@pytest.mark.parametrize(
    ("raw", "why"),
    [
        (BASE + b"\nBcc: v@example.net", "bare CR or LF"),
        (BASE + b"\rX: y", "bare CR or LF"),
        (BASE + b"\r\nBcc: v@example.net", "unexpected Bcc"),
        (BASE + b"\r\nTo: second@example.net", "unexpected To"),
        (BASE + b"\r\nnot a header", "not a header field"),
        (BASE + b"\r\nX-Long: " + b"a" * 1000, "longer than 998"),
        (b"From: d@example.org\r\nSubject: no recipient header", "no to header"),
    ],
)
def test_header_guard_refuses(raw: bytes, why: str) -> None:
    with pytest.raises(DeliveryError, match=why) as info:
        check_message(_with_headers(raw))
    assert info.value.permanent
    assert info.value.code is None


def test_header_guard_passes_folded_encoded_headers() -> None:
    m = outgoing("r@example.org", name="Zoë " * 60, subject="Ça va? " * 30)
    check_message(m)
    assert b"=?utf-8?" in m.data


def test_envelope_with_crlf_is_refused() -> None:
    m = outgoing("r@example.org")
    bad = OutgoingMessage(m.edition_id, m.sender, "r@example.org\r\nRCPT TO:<v@x.net>", m.message_id, m.data)
    with pytest.raises(DeliveryError, match="invalid envelope"):
        check_message(bad)


# --- file: transport, DKIM, URLs ----------------------------------------------------------


def test_file_transport_writes_one_eml_per_message_atomically(tmp_path: Path, store: Store) -> None:
    out = tmp_path / "outbox"
    t = open_transport(f"file:{out}", config(), environ={})
    assert isinstance(t, FileTransport)
    msgs = [outgoing("a@example.org"), outgoing("B.Two+x@example.org")]
    send_all(msgs, t, store, config())
    send_all(msgs, open_transport(f"file://{out}", config(), environ={}), store, config())  # rerun replaces
    names = sorted(p.name for p in out.iterdir())
    assert names == ["2026-01-05--a@example.org.eml", "2026-01-05--b.two+x@example.org.eml"]
    # as a mailbox keeps it: the envelope sender's Return-Path line, then the message as sent
    assert (out / names[0]).read_bytes() == f"Return-Path: <{msgs[0].sender}>\r\n".encode() + msgs[0].data


def _dkim_key(tmp_path: Path) -> tuple[Path, bytes]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    )
    der = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    path = tmp_path / "dkim.pem"
    path.write_bytes(pem)
    return path, b"v=DKIM1; k=rsa; p=" + base64.b64encode(der)


def test_dkim_signature_verifies_against_the_public_key(tmp_path: Path, store: Store) -> None:
    key, record = _dkim_key(tmp_path)
    cfg = config(dkim_key=key, dkim_selector="news", dkim_domain="example.org")
    t = open_transport("memory:", cfg, environ={})
    assert isinstance(t, MemoryTransport)
    send_all([outgoing("a@example.org", name="Zoë")], t, store, cfg)
    [sent] = t.outbox
    assert sent.data.startswith(b"DKIM-Signature: ")

    def dns(name: bytes, timeout: int = 5) -> bytes:
        assert name == b"news._domainkey.example.org."
        return record

    assert dkim.verify(sent.data, dnsfunc=dns)
    assert not dkim.verify(sent.data.replace(b"Hello.", b"Hellp."), dnsfunc=dns)


@pytest.mark.parametrize(
    ("url", "environ", "error"),
    [
        ("gopher://x", {}, "unknown scheme"),
        ("outbox", {}, "unknown scheme"),
        ("smtp://user:pw@host:25", {}, "no password in the URL"),
        ("smtp://user@host:25", {}, "AUTH needs \\$DIGEST_SMTP_PASSWORD"),
        ("smtp://host:25", {"DIGEST_SMTP_PASSWORD": "p"}, "AUTH needs a user"),
        ("smtp://host:99999", {}, "out of range"),
        ("smtp:///path", {}, "expected smtp://"),
        ("file:", {}, "expected file:DIR"),
        ("memory:x", {}, "expected memory:"),
    ],
)
def test_bad_transport_urls_are_config_errors(url: str, environ: dict[str, str], error: str) -> None:
    with pytest.raises(ConfigError, match=error):
        open_transport(url, config(), environ=environ)


def test_bad_ca_file_and_dkim_key_are_config_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="ca_file"):
        open_transport("smtp://h:25", config(ca_file=tmp_path / "none.pem"), environ={})
    bad = tmp_path / "bad.pem"
    bad.write_text("not a key")
    with pytest.raises(ConfigError, match="DKIM key"):
        open_transport("file:x", config(dkim_key=bad, dkim_selector="s", dkim_domain="d.org"), environ={})
    with pytest.raises(ConfigError, match="dkim_selector"):
        open_transport("file:x", config(dkim_key=bad), environ={})


def test_a_stop_under_a_rate_limit_claims_nothing_more_and_does_not_wait_for_slots(store: Store) -> None:
    """Workers waiting for their rate-limit slot when a stop comes give up the wait, and claim no
    message: with 100 an hour, a slot is 36 s away; the stop must not sit through those."""
    msgs = [outgoing(f"r{i}@example.org") for i in range(12)]
    t = MemoryTransport()

    def stop() -> bool:
        return bool(t.outbox)  # stop as soon as one message went out

    report = send_all(msgs, t, store, config(rate_per_hour=100), stop=stop)
    assert report.aborted is not None
    assert "stopped" in report.aborted
    assert len(t.outbox) == report.sent == 1
    states = store.delivery_states("2026-01-05")
    assert DeliveryState.SENDING not in states.values()
    assert list(states.values()).count(DeliveryState.SENT) == 1
