"""SMTP through aiosmtplib: a pool of reused connections, STARTTLS or implicit TLS, AUTH.

aiosmtplib does not pipeline, so concurrency means more connections: ``pool_size`` of them,
opened on demand and reused across messages. A connection that fails in any way is closed
and never reused; the next message opens a fresh one (reconnection after a drop).
"""

from __future__ import annotations

import asyncio
import socket
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from typing import Self

import aiosmtplib

from ..errors import DeliveryError
from ..models import OutgoingMessage
from ._base import TransportUnavailable

Prepare = Callable[[OutgoingMessage], bytes]

# Replies that say "this server will not take mail from us", whoever the recipient.
_AUTH_CODES = frozenset({454, 530, 534, 535, 538})


@dataclass(frozen=True, slots=True)
class SmtpTarget:
    """Where and how to connect; built once by :func:`digest.deliver.open_transport`."""

    host: str
    port: int
    implicit_tls: bool
    tls_context: ssl.SSLContext  # built once: loading CA certificates is slow
    username: str | None
    password: str | None
    timeout: float
    pool_size: int
    give_up_after: int = 20  # connection failures in a row before the server counts as down

    @property
    def destination(self) -> str:
        scheme = "smtps" if self.implicit_tls else "smtp"
        return f"{scheme}://{self.host}:{self.port}"


def _reply(exc: aiosmtplib.SMTPResponseException) -> str:
    return f"{exc.code} {' '.join(exc.message.split())}"


def _nodelay(client: aiosmtplib.SMTP) -> None:
    # Without TCP_NODELAY, Nagle + delayed ACK stall a reused STARTTLS connection
    # (about 22 messages/s); asyncio sets it for plain sockets, we make sure of it.
    sock = client.get_transport_info("socket")
    if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


class SmtpTransport:
    """Sends through an SMTP server with up to ``pool_size`` connections at once."""

    def __init__(self, target: SmtpTarget, prepare: Prepare) -> None:
        self.target = target
        self._prepare = prepare
        self._idle: list[aiosmtplib.SMTP] = []
        self._slots = asyncio.Semaphore(target.pool_size)
        self._local_hostname: str | None = None
        self._unavailable: TransportUnavailable | None = None
        self._failed_connects = 0  # in a row; reset by any successful connection
        self.connections_opened = 0  # for tests and the benchmark: reuse shows here

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        idle, self._idle = self._idle, []
        await asyncio.gather(*(self._quit(c) for c in idle))

    @staticmethod
    async def _quit(client: aiosmtplib.SMTP) -> None:
        try:
            await asyncio.wait_for(client.quit(), timeout=5)
        except (aiosmtplib.SMTPException, OSError, TimeoutError):
            client.close()

    async def send(self, message: OutgoingMessage) -> None:
        """Send one message on a pooled connection; see :class:`~digest.deliver.Transport`."""
        data = self._prepare(message)
        if self._unavailable is not None:
            raise self._unavailable
        async with self._slots:
            client = self._idle.pop() if self._idle else None
            if client is None or not client.is_connected:
                client = await self._connect(message.recipient)
            try:
                await self._sendmail(client, message, data)
            except DeliveryError as exc:
                # After a refusal (4xx/5xx, RSET done) the session is still good, except 421.
                if exc.code is None or exc.code == 421 or not client.is_connected:
                    client.close()
                else:
                    self._idle.append(client)
                raise
            except BaseException:
                client.close()
                raise
            self._idle.append(client)

    async def _connect(self, recipient: str) -> aiosmtplib.SMTP:
        t = self.target
        if self._local_hostname is None:
            self._local_hostname = await asyncio.to_thread(socket.getfqdn)
        client = aiosmtplib.SMTP(
            hostname=t.host,
            port=t.port,
            use_tls=t.implicit_tls,
            start_tls=False if t.implicit_tls else None,  # STARTTLS whenever offered
            tls_context=t.tls_context,
            timeout=t.timeout,
            local_hostname=self._local_hostname,
        )
        try:
            await client.connect()
            _nodelay(client)
            if t.username is not None:
                await self._login(client)
        except BaseException as exc:
            client.close()
            self._failed_connects += 1
            error = self._connect_error(recipient, exc)
            if self._failed_connects >= t.give_up_after and isinstance(error, DeliveryError):
                # Down for every worker through several backoffs: stop, rather than
                # spend hours retrying each of thousands of messages.
                self._unavailable = TransportUnavailable(t.destination, error.reason, code=error.code)
                error = self._unavailable
            raise error from exc
        self._failed_connects = 0
        self.connections_opened += 1
        return client

    async def _login(self, client: aiosmtplib.SMTP) -> None:
        assert self.target.username is not None
        if client.get_transport_info("sslcontext") is None:
            raise TransportUnavailable(
                self.target.destination, "server offers no STARTTLS: will not send the password in clear"
            )
        user, password = self.target.username, self.target.password or ""
        # One mechanism, the strongest offered: trying the next after a refusal (as
        # login() does) can leave the session waiting on a half-done exchange.
        if client.is_ehlo_or_helo_needed:  # STARTTLS reset the session: EHLO again
            await client.ehlo()
        methods = client.supported_auth_methods
        if not methods:
            raise TransportUnavailable(self.target.destination, "server offers no AUTH method we know")
        await getattr(client, f"auth_{methods[0].replace('-', '')}")(user, password)

    def _connect_error(self, recipient: str, exc: BaseException) -> BaseException:
        dest = self.target.destination
        if isinstance(exc, TransportUnavailable):
            self._unavailable = exc
        elif isinstance(exc, aiosmtplib.SMTPAuthenticationError) or (
            isinstance(exc, aiosmtplib.SMTPResponseException) and exc.code in _AUTH_CODES
        ):
            self._unavailable = TransportUnavailable(dest, f"AUTH refused: {_reply(exc)}", code=exc.code)
        elif isinstance(exc, ssl.SSLCertVerificationError) or isinstance(exc.__cause__, ssl.SSLError):
            self._unavailable = TransportUnavailable(dest, f"TLS failed: {exc}")
        elif isinstance(exc, aiosmtplib.SMTPNotSupported):
            self._unavailable = TransportUnavailable(dest, f"server cannot do what we need: {exc}")
        elif isinstance(exc, aiosmtplib.SMTPResponseException):
            return DeliveryError(
                recipient, f"{_reply(exc)} (on connect to {dest})", permanent=False, code=exc.code
            )
        elif isinstance(exc, aiosmtplib.SMTPException | OSError | TimeoutError):
            return DeliveryError(recipient, f"cannot connect: {dest}: {exc}", permanent=False)
        else:
            return exc
        return self._unavailable

    async def _sendmail(self, client: aiosmtplib.SMTP, message: OutgoingMessage, data: bytes) -> None:
        options = [] if (message.sender + message.recipient).isascii() else ["SMTPUTF8"]
        try:
            await client.sendmail(message.sender, [message.recipient], data, mail_options=options)
        except aiosmtplib.SMTPRecipientsRefused as exc:
            first = exc.recipients[0]
            raise DeliveryError(
                message.recipient,
                _reply(first),
                permanent=first.code >= 500,
                code=first.code,
                address_refused=first.code >= 500,
            ) from exc
        except aiosmtplib.SMTPSenderRefused as exc:
            if exc.code < 500:
                raise DeliveryError(message.recipient, _reply(exc), permanent=False, code=exc.code) from exc
            # Not about this recipient: every message would be refused the same way.
            self._unavailable = TransportUnavailable(
                self.target.destination, f"sender {message.sender} refused: {_reply(exc)}", code=exc.code
            )
            raise self._unavailable from exc
        except aiosmtplib.SMTPResponseException as exc:
            raise DeliveryError(
                message.recipient, _reply(exc), permanent=exc.code >= 500, code=exc.code
            ) from exc
        except aiosmtplib.SMTPTimeoutError as exc:
            raise DeliveryError(
                message.recipient, f"timed out after {self.target.timeout:g}s", permanent=False
            ) from exc
        except (aiosmtplib.SMTPException, OSError) as exc:
            # Dropped connection, or SMTPUTF8 not offered: retried on a fresh connection.
            raise DeliveryError(message.recipient, f"connection lost: {exc}", permanent=False) from exc
