"""A small IMAP4rev1 server on loopback for tests: one user, one folder of messages, and the
commands ``digest bounces --imap`` sends (CAPABILITY, LOGIN, SELECT, UID SEARCH/FETCH/STORE,
LOGOUT), answered as RFC 3501 has them. Records what each session did.

    with imap_server("bounces", "s3cret", [raw1, raw2]) as server:
        url = f"imap://bounces@127.0.0.1:{server.port}/INBOX"
"""

from __future__ import annotations

import re
import socketserver
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field


@dataclass
class Mailbox:
    user: str
    password: str
    messages: dict[int, bytes]  # uid -> the message
    seen: set[int] = field(default_factory=set)
    logins: list[str] = field(default_factory=list)  # "ok" or "refused", per attempt


_COMMAND = re.compile(rb"^(\S+) (\S+)(?: (.*))?$")


class _Session(socketserver.StreamRequestHandler):
    server: _Server

    def _say(self, line: bytes) -> None:
        self.wfile.write(line + b"\r\n")

    def handle(self) -> None:
        box = self.server.box
        self._say(b"* OK IMAP4rev1 test server ready")
        selected = False
        while line := self.rfile.readline():
            found = _COMMAND.match(line.rstrip(b"\r\n"))
            if not found:
                self._say(b"* BAD what?")
                continue
            tag, verb, rest = found[1], found[2].upper(), found[3] or b""
            if verb == b"CAPABILITY":
                self._say(b"* CAPABILITY IMAP4rev1")
                self._say(tag + b" OK CAPABILITY done")
            elif verb == b"LOGIN":
                user, _, password = rest.decode().partition(" ")
                if user.strip('"') == box.user and password.strip('"') == box.password:
                    box.logins.append("ok")
                    self._say(tag + b" OK LOGIN done")
                else:
                    box.logins.append("refused")
                    self._say(tag + b" NO [AUTHENTICATIONFAILED] Invalid credentials")
            elif verb == b"SELECT":
                if rest.strip(b'"').upper() != b"INBOX":
                    self._say(tag + b" NO [NONEXISTENT] no such mailbox")
                    continue
                selected = True
                self._say(b"* %d EXISTS" % len(box.messages))
                self._say(tag + b" OK [READ-WRITE] SELECT done")
            elif verb == b"UID" and selected:
                self._uid(tag, rest, box)
            elif verb == b"LOGOUT":
                self._say(b"* BYE")
                self._say(tag + b" OK LOGOUT done")
                return
            else:
                self._say(tag + b" BAD not here")

    def _uid(self, tag: bytes, rest: bytes, box: Mailbox) -> None:
        sub, _, args = rest.partition(b" ")
        sub = sub.upper()
        if sub == b"SEARCH":
            self._say(b"* SEARCH " + b" ".join(b"%d" % u for u in sorted(box.messages)))
        elif sub == b"FETCH":
            uid = int(args.split()[0])
            raw = box.messages[uid]
            n = sorted(box.messages).index(uid) + 1
            self._say(b"* %d FETCH (UID %d BODY[] {%d}" % (n, uid, len(raw)))
            self.wfile.write(raw)
            self._say(b")")
        elif sub == b"STORE":
            uid = int(args.split()[0])
            box.seen.add(uid)
            n = sorted(box.messages).index(uid) + 1
            self._say(b"* %d FETCH (UID %d FLAGS (\\Seen))" % (n, uid))
        else:
            self._say(tag + b" BAD not here")
            return
        self._say(tag + b" OK UID done")


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    box: Mailbox


@dataclass
class Running:
    port: int
    box: Mailbox


@contextmanager
def imap_server(user: str, password: str, messages: list[bytes]) -> Iterator[Running]:
    box = Mailbox(user, password, dict(enumerate(messages, start=101)))
    server = _Server(("127.0.0.1", 0), _Session)
    server.box = box
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield Running(server.server_address[1], box)
    finally:
        server.shutdown()
        server.server_close()
