"""How ``digest serve`` runs the app under uvicorn: limits that keep slow or idle clients from
holding the server.

uvicorn closes a keep-alive connection that stays silent after a response, but a connection
that never finishes its request's headers (slowloris: a byte now and then, or nothing at all)
is never timed out, and each one holds a file descriptor. :class:`HeadTimeout` (uvicorn's h11
protocol, with a deadline) closes a connection whose request head has not arrived within
``[desk] header_timeout`` of its opening, or of the previous response; and closes at once a
connection beyond ``[desk] max_connections``. A reverse proxy in front does the same and more
(see ``docs/security.md``).
"""

from __future__ import annotations

import asyncio
import resource
from typing import Any, ClassVar

import h11
import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

from ..config import Settings

KEEP_ALIVE_SECONDS = 5  # an idle keep-alive connection is closed after this
GRACEFUL_SECONDS = 10  # on SIGTERM, requests in flight get this long before they are cancelled
MAX_HEAD_BYTES = 16 * 1024  # the request line and headers; a larger head gets 400
_AWAITING_HEAD = h11.IDLE  # the client's state while its next request head is due


class HeadTimeout(H11Protocol):
    """uvicorn's HTTP/1.1 protocol, which also closes a connection that does not send a request
    head in time, and connections beyond a cap."""

    header_timeout: ClassVar[float] = 10.0
    max_connections: ClassVar[int] = 1000

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._head_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        if len(self.connections) > self.max_connections:
            transport.close()  # over the cap: answered by nothing, and the descriptor is freed
            return
        self._arm()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if self.conn.their_state is _AWAITING_HEAD:
            if self._head_timer is None:  # a new request began after the last one ended
                self._arm()
        else:  # the head is in: the application has the request now
            self._disarm()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing() and self.conn.their_state is _AWAITING_HEAD:
            self._disarm()
            self._arm()  # the next request's head is due within the timeout too

    def _arm(self) -> None:
        if self._head_timer is None:
            self._head_timer = self.loop.call_later(self.header_timeout, self._head_overdue)

    def _disarm(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _head_overdue(self) -> None:
        self._head_timer = None
        if self.conn.their_state is _AWAITING_HEAD and not self.transport.is_closing():
            self.transport.close()


def connection_cap(settings: Settings) -> int:
    """``[desk] max_connections``, less than the process may open files (the store, the log and
    the listening socket need some too): past the limit, accepting fails for everyone."""
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    room = soft - 64 if soft != resource.RLIM_INFINITY else settings.desk.max_connections
    return max(10, min(settings.desk.max_connections, room))


def protocol(settings: Settings) -> type[HeadTimeout]:
    """:class:`HeadTimeout` with the configured deadline and cap."""
    attributes = {
        "header_timeout": settings.desk.header_timeout.total_seconds(),
        "max_connections": connection_cap(settings),
    }
    return type("ConfiguredHeadTimeout", (HeadTimeout,), attributes)


def server_config(app: Any, settings: Settings) -> uvicorn.Config:
    """uvicorn's configuration for the desk's app, with its limits.

    No access log: a reader's link carries their token. ``limit_concurrency`` counts open
    connections and requests in flight alike: past it, a request gets 503 at once.
    """
    cap = connection_cap(settings)
    return uvicorn.Config(
        app,
        http=protocol(settings),
        log_level="warning",
        access_log=False,
        lifespan="off",
        server_header=False,
        timeout_keep_alive=KEEP_ALIVE_SECONDS,
        timeout_graceful_shutdown=GRACEFUL_SECONDS,
        limit_concurrency=cap,
        h11_max_incomplete_event_size=MAX_HEAD_BYTES,
    )
