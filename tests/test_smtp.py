"""The SMTP transport against a real aiosmtpd server on loopback: TLS, AUTH, faults, pool."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Iterable

import pytest

from digest.config import DeliveryConfig
from digest.deliver import DeliveryReport, SmtpTransport, deliver, open_transport
from digest.models import OutgoingMessage, Subscriber
from digest.store import Store
from digest.store.ledger import DeliveryState
from smtpd_helpers import Certificates, Recorder, make_certificates, outgoing, smtp_server, worker_ledger

EDITION = "2026-01-05"
CREDS = {"DIGEST_SMTP_USER": "editor", "DIGEST_SMTP_PASSWORD": "s3cret"}


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> Certificates:
    return make_certificates(tmp_path_factory.mktemp("tls"))


def config(**kw: object) -> DeliveryConfig:
    base: dict[str, object] = {"pool_size": 3, "backoff_base": 0.0, "timeout": 5.0}
    return DeliveryConfig.model_validate({**base, **kw})


def messages(n: int) -> list[OutgoingMessage]:
    return [outgoing(f"reader{i}@example.org") for i in range(n)]


def run(
    url: str,
    msgs: Iterable[OutgoingMessage],
    store: Store,
    cfg: DeliveryConfig,
    environ: dict[str, str] | None = None,
) -> DeliveryReport:
    async def go() -> DeliveryReport:
        async with open_transport(url, cfg, environ=environ or {}) as transport:
            return await deliver(msgs, transport=transport, ledger=worker_ledger(store, cfg), config=cfg)

    return asyncio.run(go())


def test_plain_pool_reuses_connections_and_records_each_message(store: Store) -> None:
    cfg = config()
    opened: list[int] = []
    batch = messages(30)

    async def go(url: str) -> DeliveryReport:
        async with open_transport(url, cfg, environ={}) as transport:
            assert isinstance(transport, SmtpTransport)
            report = await deliver(batch, transport=transport, ledger=worker_ledger(store, cfg), config=cfg)
            opened.append(transport.connections_opened)
            sock = transport._idle[0].get_transport_info("socket")
            assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
            return report

    with smtp_server() as server:
        report = asyncio.run(go(server.url))
    assert (report.sent, report.failed, report.retried) == (30, 0, 0)
    assert opened == [3]  # a pool of 3, each connection reused for 10 messages
    assert sorted(r.recipients[0] for r in server.handler.received) == sorted(
        f"reader{i}@example.org" for i in range(30)
    )
    assert store.delivery_counts(EDITION) == {"sent": 30}
    # The bytes arrive as made, CRLF and all (aiosmtpd strips nothing but the final dot line).
    received = {r.recipients[0]: r.data for r in server.handler.received}
    assert received["reader7@example.org"] == batch[7].data


@pytest.mark.parametrize("tls", ["starttls", "implicit"])
def test_tls_with_a_trusted_test_ca_and_auth_from_the_environment(
    tls: str, certs: Certificates, store: Store
) -> None:
    with smtp_server(tls=tls, certs=certs, users={"editor": "s3cret"}) as server:
        report = run(server.url, messages(5), store, config(ca_file=certs.ca_file), CREDS)
    assert report.sent == 5
    assert {r.user for r in server.handler.received} == {"editor"}
    if tls == "starttls":
        assert all(r.tls for r in server.handler.received)


@pytest.mark.parametrize("tls", ["starttls", "implicit"])
def test_an_untrusted_certificate_stops_the_run_and_sends_nothing(
    tls: str, certs: Certificates, store: Store
) -> None:
    with smtp_server(tls=tls, certs=certs) as server:
        report = run(server.url, messages(20), store, config())  # system CAs only
    assert server.handler.received == []
    assert report.sent == 0
    assert report.aborted is not None
    assert "TLS" in report.aborted
    assert report.failed <= 3  # only those in flight; the rest stay pending for a rerun
    assert "sent" not in store.delivery_counts(EDITION)


def test_a_wrong_password_stops_the_run(certs: Certificates, store: Store) -> None:
    env = {**CREDS, "DIGEST_SMTP_PASSWORD": "wrong"}
    with smtp_server(tls="starttls", certs=certs, users={"editor": "s3cret"}) as server:
        report = run(server.url, messages(10), store, config(ca_file=certs.ca_file), env)
    assert report.sent == 0
    assert server.handler.received == []
    assert report.aborted is not None
    assert "535" in report.aborted


def test_credentials_are_never_sent_without_tls(store: Store) -> None:
    with smtp_server() as server:
        report = run(server.url, messages(3), store, config(), CREDS)
    assert report.sent == 0
    assert report.aborted is not None
    assert "STARTTLS" in report.aborted


def test_451_on_the_first_attempt_is_retried_and_delivered_once(store: Store) -> None:
    handler = Recorder(script=lambda rcpt, n: "451 4.7.1 Greylisted, try later" if n == 1 else None)
    with smtp_server(handler) as server:
        report = run(server.url, messages(12), store, config())
    assert (report.sent, report.retried, report.failed) == (12, 12, 0)
    assert all(handler.count(f"reader{i}@example.org") == 1 for i in range(12))
    assert store.delivery_counts(EDITION) == {"sent": 12}


def test_421_mid_session_closes_the_connection_and_the_rest_still_go(store: Store) -> None:
    def script(rcpt: str, n: int) -> str | None:
        return "421 4.3.2 Service shutting down" if rcpt == "reader4@example.org" and n == 1 else None

    handler = Recorder(script=script)
    with smtp_server(handler) as server:
        report = run(server.url, messages(15), store, config(pool_size=1))
    assert (report.sent, report.failed) == (15, 0)
    assert report.retried == 1
    assert all(handler.count(f"reader{i}@example.org") == 1 for i in range(15))


def test_550_is_permanent_recorded_with_the_reply_and_bounces(store: Store) -> None:
    store.merge_subscribers([Subscriber("reader2@example.org", "Two")])
    handler = Recorder(
        rcpt_script=lambda a: (
            "550 5.1.1 <reader2@example.org>: mailbox unknown" if a.startswith("reader2@") else None
        )
    )
    with smtp_server(handler) as server:
        report = run(server.url, messages(6), store, config(bounce_after=1))
    assert (report.sent, report.failed, report.retried, report.bounced) == (5, 1, 0, 1)
    assert report.failures_by_reason == {"550": 1}
    [failed] = store.failed_deliveries(edition_id=EDITION)
    assert failed.email == "reader2@example.org"
    assert failed.permanent
    assert failed.code == 550
    assert "mailbox unknown" in (failed.reason or "")
    assert failed.attempts == 1
    assert store.subscribers()[0].status.value == "bounced"


def test_a_server_slower_than_the_timeout_is_retried_then_given_up(store: Store) -> None:
    handler = Recorder(delay=1.5)
    with smtp_server(handler) as server:
        report = run(server.url, messages(2), store, config(timeout=0.3, max_attempts=2, pool_size=2))
    assert (report.sent, report.failed, report.retried) == (0, 2, 2)
    assert report.failures_by_reason == {"timed out after 0.3s": 2}
    states = store.delivery_states(EDITION)
    assert set(states.values()) == {DeliveryState.FAILED}


def test_a_message_with_an_injected_header_is_refused_at_the_boundary(store: Store) -> None:
    good = outgoing("reader1@example.org", name="Zoë Ünïcode", subject="Ça va: 東京")
    long_name = outgoing("reader2@example.org", name="Very Long Name " * 40)
    evil = outgoing("reader3@example.org")
    evil = OutgoingMessage(
        evil.edition_id,
        evil.sender,
        evil.recipient,
        evil.message_id,
        evil.data.replace(b"Subject: Today's digest", b"Subject: hi\nBcc: victim@example.net"),
    )
    with smtp_server() as server:
        report = run(server.url, [good, long_name, evil], store, config())
    assert report.sent == 2
    assert report.failed == 1
    assert [r.recipients[0] for r in server.handler.received if b"victim" in r.data] == []
    [failed] = store.failed_deliveries(edition_id=EDITION)
    assert failed.email == "reader3@example.org"
    assert "bare CR or LF" in (failed.reason or "")
    assert failed.code is None  # our refusal, not the server's: no bounce counted


def test_reconnects_when_the_server_drops_idle_connections(store: Store) -> None:
    handler = Recorder()
    with smtp_server(handler, timeout=0.2) as server:  # the server hangs up after 0.2 s idle

        async def go() -> tuple[DeliveryReport, DeliveryReport]:
            cfg = config(pool_size=2)
            async with open_transport(server.url, cfg, environ={}) as transport:
                first = await deliver(
                    messages(4), transport=transport, ledger=worker_ledger(store, cfg), config=cfg
                )
                await asyncio.sleep(0.6)  # idle past the server's timeout: the pool is stale now
                more = [outgoing(f"later{i}@example.org") for i in range(4)]
                second = await deliver(
                    more, transport=transport, ledger=worker_ledger(store, cfg), config=cfg
                )
                assert isinstance(transport, SmtpTransport)
                assert transport.connections_opened > 2  # the stale ones were replaced
                return first, second

        first, second = asyncio.run(go())
    seen = {r.recipients[0] for r in handler.received}
    assert first.sent == 4
    assert second.sent == 4
    assert len(seen) == 8
    assert len(handler.received) == 8


def test_a_server_that_is_down_stops_the_run_after_every_worker_retried(store: Store) -> None:
    from smtpd_helpers import free_port

    msgs = messages(40)
    store.plan_deliveries(EDITION, [m.recipient for m in msgs])
    report = run(f"smtp://127.0.0.1:{free_port()}", msgs, store, config(max_attempts=2))
    assert report.sent == 0
    assert report.aborted is not None
    assert "cannot connect" in report.aborted
    assert report.attempts <= 3 * 2 + 3  # pool_size x max_attempts tries (+ those then in hand)
    counts = store.delivery_counts(EDITION)
    assert counts["failed"] <= 3 * 2 + 3  # those tried; the rest were never attempted
    assert counts["pending"] == 40 - counts["failed"]
