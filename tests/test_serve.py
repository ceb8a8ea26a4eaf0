"""`digest serve` as a real process on loopback, against slow, idle and many clients.

Each test starts the server on a free port over a SQLite store of its own, and talks to it over
real sockets: connections that never finish their headers are closed while real requests are
answered, connections over the cap are closed at once, an unknown Host is refused, and SIGTERM
stops the server under load with requests stalled in flight.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from digest import tokens
from digest.desk._server import GRACEFUL_SECONDS
from digest.models import Subscriber, SubscriberStatus
from digest.store import open_store

SECRET = "serve-test-secret"
PUBLIC = "news.example.org"
CONFIG = f"""\
title = "The Brief"
[render]
unsubscribe_url = "https://{PUBLIC}/unsubscribe"
manage_url = "https://{PUBLIC}/preferences"
[desk]
header_timeout = "{{timeout}}"
max_connections = {{cap}}
"""
ONE_CLICK = {"List-Unsubscribe": "One-Click"}


@dataclass
class Server:
    url: str
    port: int
    db: Path
    proc: subprocess.Popen[str]
    lines: list[str] = field(default_factory=list)

    def token(self, email: str) -> str:
        with open_store(self.db) as store:
            reader = store.subscriber(email)
        assert reader is not None
        return tokens.sign(reader.key, SECRET.encode())

    def connect(self) -> socket.socket:
        return socket.create_connection(("127.0.0.1", self.port), timeout=60)


@contextlib.contextmanager
def digest_serve(
    tmp_path: Path,
    *,
    timeout: str = "1s",
    cap: int = 1000,
    readers: int = 200,
    env: dict[str, str] | None = None,
) -> Iterator[Server]:
    """`digest serve --port 0` over a store of ``readers`` subscribers; stopped (SIGINT) after."""
    config = tmp_path / "digest.toml"
    config.write_text(CONFIG.format(timeout=timeout, cap=cap), encoding="utf-8")
    db = tmp_path / "serve.db"
    with open_store(db) as store:
        store.merge_subscribers(Subscriber(f"reader{i}@example.org") for i in range(readers))
    proc = subprocess.Popen(
        [sys.executable, "-m", "digest", "serve", "--config", str(config), "--db", str(db), "--port", "0"],
        env={**os.environ, "DIGEST_SECRET": SECRET, **(env or {})},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(proc.stdout or ()), daemon=True)
    reader.start()
    try:
        deadline = time.monotonic() + 30
        found = None
        while found is None and time.monotonic() < deadline:
            assert proc.poll() is None, "".join(lines)
            found = re.search(r"desk on http://127\.0\.0\.1:(\d+)/", "".join(lines))
            time.sleep(0.05)
        assert found, f"no URL printed: {''.join(lines)}"
        port = int(found.group(1))
        yield Server(f"http://127.0.0.1:{port}", port, db, proc, lines)
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        reader.join(timeout=30)
        if proc.stdout is not None:
            proc.stdout.close()
    assert "Traceback" not in "".join(lines), "".join(lines)


def closed_by_server(sock: socket.socket) -> bool:
    """True once the server closed the connection (waits up to the socket's timeout)."""
    try:
        while data := sock.recv(4096):
            del data  # a 400 or 408 before closing is fine too
        return True
    except (ConnectionResetError, BrokenPipeError):
        return True
    except TimeoutError:
        return False


def status(db: Path, email: str) -> SubscriberStatus:
    with open_store(db) as store:
        reader = store.subscriber(email)
    assert reader is not None
    return reader.status


def test_connections_that_never_finish_their_headers_are_closed_while_real_requests_answer(
    tmp_path: Path,
) -> None:
    """The issue: connections with unfinished headers never timed out (21,000 of them used up
    the process's file descriptors, and real requests failed)."""
    with digest_serve(tmp_path, timeout="1s") as server:
        silent = [server.connect() for _ in range(100)]  # connect, send nothing
        partial = [server.connect() for _ in range(100)]
        for sock in partial:  # a request line and half a header, never finished
            sock.sendall(b"GET /unsubscribe HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
        token = server.token("reader7@example.org")
        with httpx.Client(base_url=server.url, timeout=30) as http:
            answer = http.post(f"/unsubscribe?token={token}", data=ONE_CLICK)
        assert answer.status_code == 200
        assert status(server.db, "reader7@example.org") is SubscriberStatus.UNSUBSCRIBED
        # a byte every so often does not keep a connection alive: the deadline is for the whole head
        trickle = server.connect()
        trickle.sendall(b"GET / HTTP/1.1\r\n")
        for _ in range(200):
            try:
                trickle.sendall(b"X")
            except OSError:
                break
            time.sleep(0.1)
        else:
            pytest.fail("a connection trickling its headers was never closed")
        assert all(closed_by_server(sock) for sock in silent + partial)
        for sock in [*silent, *partial, trickle]:
            sock.close()
        # a keep-alive connection must send its next request's head in time too
        with socket.create_connection(("127.0.0.1", server.port), timeout=60) as kept:
            kept.sendall(b"GET /unsubscribe?token=x HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            assert kept.recv(4096).startswith(b"HTTP/1.1 400")
            kept.sendall(b"GET /unsub")
            assert closed_by_server(kept)


def test_connections_over_the_cap_are_closed_at_once(tmp_path: Path) -> None:
    with digest_serve(tmp_path, timeout="5m", cap=20) as server:
        held = [server.connect() for _ in range(20)]
        time.sleep(0.5)  # let the server accept them all before the one over the cap
        with server.connect() as over:
            assert closed_by_server(over), "a connection over the cap was kept open"
        held[0].settimeout(1)
        assert not closed_by_server(held[0])  # the ones under the cap wait for their headers
        for sock in held:
            sock.close()
        with httpx.Client(base_url=server.url, timeout=30) as http:
            deadline = time.monotonic() + 30  # the server notices the closed ones, then answers again
            while (code := _status(http, "/unsubscribe?token=x")) != 400 and time.monotonic() < deadline:
                time.sleep(0.1)
        assert code == 400


def _status(http: httpx.Client, path: str) -> int:
    try:
        return http.get(path).status_code
    except httpx.TransportError:
        return 0


def test_a_real_server_refuses_an_unknown_host_and_an_oversized_head(tmp_path: Path) -> None:
    with digest_serve(tmp_path) as server:
        with server.connect() as sock:
            sock.sendall(
                b"GET /unsubscribe//?token=x HTTP/1.1\r\nHost: evil.example\r\nConnection: close\r\n\r\n"
            )
            answer = b""
            while chunk := sock.recv(4096):
                answer += chunk
        assert answer.startswith(b"HTTP/1.1 400")
        assert b"evil.example" not in answer
        assert b"location:" not in answer.lower()
        token = server.token("reader1@example.org")
        with httpx.Client(base_url=server.url, timeout=30) as http:
            public = http.get(f"/unsubscribe?token={token}", headers={"Host": PUBLIC})
            assert public.status_code == 200  # the public name, as a reverse proxy passes it
            huge = http.get("/unsubscribe", headers={"X-Big": "x" * 40_000})
            assert huge.status_code == 400


async def _one_click_load(url: str, token: str, stop: asyncio.Event, answers: list[int]) -> None:
    """50 clients posting one-click unsubscribes, each again as soon as answered, until ``stop``."""
    limits = httpx.Limits(max_connections=50, max_keepalive_connections=50)
    async with httpx.AsyncClient(base_url=url, timeout=60, limits=limits) as http:

        async def client() -> None:
            for _ in range(2000):  # bounded: the test stops it long before
                if stop.is_set():
                    return
                try:
                    answer = await http.post(f"/unsubscribe?token={token}", data=ONE_CLICK)
                except httpx.TransportError:
                    return  # the server is going away
                answers.append(answer.status_code)

        await asyncio.gather(*(client() for _ in range(50)))


def _stalled_post(port: int) -> socket.socket:
    """A POST whose body never comes: its request stays in flight."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=60)
    sock.sendall(
        b"POST /unsubscribe?token=x HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        b"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 1000\r\n\r\nList-"
    )
    return sock


def test_sigterm_stops_the_server_under_load_with_requests_stalled_in_flight(tmp_path: Path) -> None:
    """The issue: under load SIGTERM no longer stopped the server. Requests in flight get the
    grace period (``GRACEFUL_SECONDS``), then the server exits."""
    with digest_serve(tmp_path, timeout="5m", readers=2000) as server:
        token = server.token("reader5@example.org")
        stalled = [_stalled_post(server.port) for _ in range(5)]
        answers: list[int] = []
        stop = asyncio.Event()

        async def scenario() -> int | None:
            load = asyncio.create_task(_one_click_load(server.url, token, stop, answers))
            for _ in range(600):  # until the load is well under way (at most 60 s)
                if len(answers) >= 200:
                    break
                await asyncio.sleep(0.1)
            server.proc.send_signal(signal.SIGTERM)
            code = await asyncio.to_thread(_wait, server.proc, GRACEFUL_SECONDS + 30)
            stop.set()
            await load
            return code

        code = asyncio.run(scenario())
        for sock in stalled:
            sock.close()
        assert len(answers) >= 200, f"the load never got going: {len(answers)} answers"
        assert set(answers) <= {200, 503}, set(answers)  # answered, or refused while stopping
        assert code is not None, "the server did not stop on SIGTERM"
        # uvicorn shuts down, then raises the signal again: the exit says SIGTERM, as systemd expects
        assert code in (0, -signal.SIGTERM), "".join(server.lines)
    assert status(server.db, "reader5@example.org") is SubscriberStatus.UNSUBSCRIBED


def _wait(proc: subprocess.Popen[str], seconds: float) -> int | None:
    try:
        return proc.wait(timeout=seconds)
    except subprocess.TimeoutExpired:
        return None
