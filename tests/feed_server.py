"""A loopback HTTP server for the gather tests (no tests here; imported by test_gather*.py).

It serves files, hand-written feeds and faults, and records what clients sent, so tests can
check conditional GET, redirects, limits and the User-Agent against a real HTTP exchange.
"""

from __future__ import annotations

import gzip
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

Handler = Callable[["Request"], "Reply"]


@dataclass
class Reply:
    status: int = 200
    body: bytes | Iterator[bytes] = b""
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # seconds before the status line: slower than a client's timeout


def drip(data: bytes, interval: float) -> Iterator[bytes]:
    """A body sent one byte every ``interval`` seconds: never slow enough for a read timeout,
    always too slow to finish (stops early once the client hangs up)."""
    for byte in data:
        time.sleep(interval)
        yield bytes([byte])


@dataclass(frozen=True)
class Request:
    path: str
    headers: dict[str, str]  # lower-case names


class FeedServer:
    """Routes (exact paths) to handlers; counts hits and the peak of concurrent requests."""

    def __init__(self) -> None:
        self.routes: dict[str, Handler] = {}
        self.hits: Counter[str] = Counter()
        self.requests: list[Request] = []
        self.active = 0
        self.peak = 0
        self._lock = threading.Lock()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, args=(0.05,), daemon=True)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self._httpd.server_address[1]}"

    def url(self, path: str) -> str:
        return self.base + path

    def route(self, path: str, handler: Handler | Reply) -> str:
        """Serve ``path``; a :class:`Reply` is served as is on every request. Returns its URL."""
        self.routes[path] = handler if callable(handler) else (lambda _r, reply=handler: reply)
        return self.url(path)

    def feed(self, path: str, body: bytes, content_type: str = "application/rss+xml", **headers: str) -> str:
        """Serve a feed with ETag support (answers 304 to a matching If-None-Match)."""
        etag = f'"{abs(hash(body))}"'

        def handle(req: Request) -> Reply:
            if req.headers.get("if-none-match") == etag:
                return Reply(304, headers={"ETag": etag})
            return Reply(200, body, {"Content-Type": content_type, "ETag": etag, **headers})

        return self.route(path, handle)

    def reset_counts(self) -> None:
        with self._lock:
            self.hits.clear()
            self.requests.clear()
            self.peak = 0

    def start(self) -> FeedServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class _H(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:  # quiet
                pass

            def do_GET(self) -> None:
                req = Request(self.path, {k.lower(): v for k, v in self.headers.items()})
                with server._lock:
                    server.hits[self.path] += 1
                    server.requests.append(req)
                    server.active += 1
                    server.peak = max(server.peak, server.active)
                try:
                    handler = server.routes.get(self.path)
                    reply = handler(req) if handler else Reply(404, b"not found")
                    self._send(req, reply)
                except (BrokenPipeError, ConnectionResetError):
                    pass
                finally:
                    with server._lock:
                        server.active -= 1

            def _send(self, req: Request, reply: Reply) -> None:
                if reply.delay:
                    time.sleep(reply.delay)
                body = reply.body
                headers = dict(reply.headers)
                gzipped = "gzip" in req.headers.get("accept-encoding", "")
                if headers.pop("X-Gzip", None) and gzipped and isinstance(body, bytes):
                    body = gzip.compress(body)
                    headers["Content-Encoding"] = "gzip"
                self.send_response(reply.status)
                for k, v in headers.items():
                    self.send_header(k, v)
                if isinstance(body, bytes):
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    if reply.status != 304:
                        self.wfile.write(body)
                else:  # a stream without a length: the connection closes at its end
                    self.send_header("Connection", "close")
                    self.end_headers()
                    self.close_connection = True
                    for chunk in body:
                        self.wfile.write(chunk)

        return _H
