"""A real SMTP server (aiosmtpd) on loopback for tests: records what it accepts, and can be
told to refuse, delay or drop, per recipient and attempt. Other test modules may import it.

    with smtp_server(Recorder()) as server:
        url = server.url            # smtp://127.0.0.1:PORT
        ...
        server.handler.received     # what was accepted (250)
"""

from __future__ import annotations

import asyncio
import socket
import ssl
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import trustme
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP as SMTPServer
from aiosmtpd.smtp import AuthResult, Envelope, LoginPassword, Session

# (recipient, attempt number for that recipient, starting at 1) -> a reply line, or None for 250
Script = Callable[[str, int], str | None]


@dataclass(frozen=True)
class Received:
    sender: str
    recipients: tuple[str, ...]
    data: bytes
    tls: bool
    user: str | None


@dataclass
class Recorder:
    """The handler: ``delay`` seconds before answering DATA, ``script`` to refuse or drop.

    A scripted reply starting with 421 also closes the connection, as real servers do.
    ``rcpt_script`` answers RCPT TO the same way (e.g. 550 for an unknown mailbox).
    """

    delay: float = 0.0
    script: Script | None = None
    rcpt_script: Callable[[str], str | None] | None = None
    received: list[Received] = field(default_factory=list)
    attempts: Counter[str] = field(default_factory=Counter)
    connections: set[str] = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_RCPT(
        self, server: SMTPServer, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        reply = self.rcpt_script(address) if self.rcpt_script else None
        if reply:
            return reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTPServer, session: Session, envelope: Envelope) -> str:
        if self.delay:
            await asyncio.sleep(self.delay)
        rcpt = envelope.rcpt_tos[0]
        with self.lock:
            self.attempts[rcpt] += 1
            n = self.attempts[rcpt]
            self.connections.add(str(session.peer))
        reply = self.script(rcpt, n) if self.script else None
        if reply:
            if reply.startswith("421") and server.transport is not None:
                asyncio.get_running_loop().call_soon(server.transport.close)
            return reply
        content = envelope.original_content or b""
        user = session.auth_data.decode() if isinstance(session.auth_data, bytes) else None
        with self.lock:
            self.received.append(
                Received(
                    str(envelope.mail_from), tuple(envelope.rcpt_tos), content, session.ssl is not None, user
                )
            )
        return "250 2.0.0 OK"

    def count(self, recipient: str) -> int:
        with self.lock:
            return sum(1 for r in self.received if recipient in r.recipients)


@dataclass
class Server:
    handler: Recorder
    host: str
    port: int
    scheme: str
    ca_file: Path | None

    @property
    def url(self) -> str:
        return f"{self.scheme}://{self.host}:{self.port}"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Certificates:
    """A CA made for the test and a certificate for 127.0.0.1/localhost signed by it."""

    ca_file: Path
    server_context: ssl.SSLContext


def make_certificates(folder: Path) -> Certificates:
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1", "localhost")
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    cert.configure_cert(ctx)
    ca_file = folder / "test-ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    return Certificates(ca_file, ctx)


def password_checker(users: dict[str, str]) -> Callable[..., AuthResult]:
    def check(server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any) -> AuthResult:
        ok = isinstance(auth_data, LoginPassword) and users.get(auth_data.login.decode()) == (
            auth_data.password.decode()
        )
        # handled=False: aiosmtpd then answers 535 itself.
        return AuthResult(success=ok, handled=False, auth_data=auth_data.login if ok else None)

    return check


@contextmanager
def smtp_server(
    handler: Recorder | None = None,
    *,
    tls: str | None = None,  # None, "starttls" or "implicit"
    certs: Certificates | None = None,
    users: dict[str, str] | None = None,
    timeout: float = 30.0,
) -> Iterator[Server]:
    """Run aiosmtpd on 127.0.0.1 in a thread for the duration of the block."""
    handler = handler or Recorder()
    kwargs: dict[str, Any] = {"hostname": "127.0.0.1", "port": free_port(), "timeout": timeout}
    if tls is not None:
        assert certs is not None, "TLS needs make_certificates()"
        if tls == "implicit":
            kwargs["ssl_context"] = certs.server_context
        else:
            kwargs["tls_context"] = certs.server_context
            kwargs["require_starttls"] = True
    if users is not None:
        kwargs["authenticator"] = password_checker(users)
        # aiosmtpd cannot tell that an implicit-TLS socket is encrypted (it is), and warns
        # when AUTH is required without its own TLS: there, offer AUTH without requiring it.
        kwargs["auth_required"] = tls != "implicit"
        kwargs["auth_require_tls"] = tls != "implicit"
    controller = Controller(handler, **kwargs)
    controller.start()
    try:
        yield Server(
            handler,
            "127.0.0.1",
            kwargs["port"],
            "smtps" if tls == "implicit" else "smtp",
            certs.ca_file if certs else None,
        )
    finally:
        controller.stop()


def outgoing(
    recipient: str,
    *,
    name: str = "Reader",
    subject: str = "Today's digest",
    edition: str = "2026-01-05",
    body: str = "Hello.\n",
    sender: str = "digest@example.org",
) -> Any:
    """A ready-made OutgoingMessage serialized like the renderer does (email.policy.SMTP)."""
    from datetime import UTC, datetime
    from email.headerregistry import Address
    from email.message import EmailMessage
    from email.policy import SMTP
    from email.utils import format_datetime, make_msgid

    from digest.models import OutgoingMessage

    msg = EmailMessage(policy=SMTP)
    msg["From"] = Address("Digest", addr_spec=sender)
    msg["To"] = Address(name, addr_spec=recipient)
    msg["Subject"] = subject
    msg["Date"] = format_datetime(datetime(2026, 1, 5, 7, 0, tzinfo=UTC))
    msg["Message-ID"] = make_msgid(idstring=f"{edition}.{recipient.split('@')[0]}", domain="example.org")
    msg.set_content(body)
    return OutgoingMessage(edition, sender, recipient, str(msg["Message-ID"]), msg.as_bytes())


def worker_ledger(store: Any, cfg: Any) -> Any:
    """The ledger a worker of ``store`` sends with (a fresh lease, long enough for any test)."""
    from datetime import timedelta

    from digest.sending import WorkerLedger

    return WorkerLedger(store, store.register_worker(lease=timedelta(hours=1)), bounce_after=cfg.bounce_after)


_SENTENCES = [
    "The harbour authority said on {day} that the new container terminal would open in spring.",
    "Officials expect the expansion to double the port's capacity within three years.",
    "Local fishing crews have asked for a separate quay so that their boats are not crowded out.",
    "The council will publish the final plans next month after a public consultation.",
    "Engineers began dredging the northern channel last week to allow larger ships to dock.",
    "Residents raised concerns about noise from night-time operations at a meeting on Tuesday.",
]


def write_run_project(
    folder: Path, *, subscribers: int, pool_size: int = 4, stories: int = 4, lease: str | None = None
) -> Path:
    """A small ``digest run`` set-up: a local feed, a config and a subscribers CSV. Returns the config.

    Written for these tests; the feed's items are dated an hour ago so the edition has stories.
    """
    from datetime import UTC, datetime, timedelta
    from email.utils import format_datetime

    folder.mkdir(parents=True, exist_ok=True)
    when = datetime.now(UTC) - timedelta(hours=1)
    items = []
    for i in range(stories):
        text = " ".join(s.format(day=when.strftime("%A")) for s in _SENTENCES[i % 3 :] + _SENTENCES[: i % 3])
        items.append(
            f"<item><title>Port story {i}: terminal plans move ahead</title>"
            f"<link>https://news.example.org/port/{i}</link><guid>port-{i}</guid>"
            f"<pubDate>{format_datetime(when - timedelta(minutes=i))}</pubDate>"
            f"<description>{text}</description></item>"
        )
    (folder / "feed.xml").write_text(
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Harbour News</title>'
        "<link>https://news.example.org/</link><description>Test feed</description>"
        + "".join(items)
        + "</channel></rss>",
        encoding="utf-8",
    )
    rows = ["email,name"] + [f"reader{i:05d}@example.org,Reader {i}" for i in range(subscribers)]
    (folder / "subscribers.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    config = folder / "digest.toml"
    config.write_text(
        'title = "Harbour Brief"\nsender = "Harbour Brief <brief@example.org>"\n'
        'store = "digest.db"\nsubscribers = "subscribers.csv"\nwindow_hours = 48\n'
        '[[feeds]]\nurl = "feed.xml"\nname = "Harbour News"\n'
        "[gather]\nfull_text = false\n"
        f"[delivery]\npool_size = {pool_size}\nbackoff_base = 0.0\ntimeout = 20.0\n"
        + (f'lease = "{lease}"\n' if lease else ""),
        encoding="utf-8",
    )
    return config
