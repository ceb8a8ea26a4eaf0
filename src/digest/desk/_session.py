"""The desk's form tokens: one browser session each, and an expiry. Contains no I/O.

Every desk page sets (or keeps) a session cookie: a random id, signed together with when it
was issued, the editor it was issued to and the desk's token, so that another login (another
user name, a changed desk token) starts a new session and the old one's forms stop working.
Each form carries ``<expires>.<mac>``, an HMAC over the session id and that expiry: a form
token taken from another session, or older than :data:`FORM_TTL`, is refused. Nothing is kept
on the server.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

SESSION_COOKIE = "digest_desk_session"
FORM_TTL = timedelta(hours=12)  # a page's forms work this long after it was served
SESSION_TTL = timedelta(hours=24)  # then the browser gets a new session (and reloads its forms)


@dataclass(frozen=True, slots=True)
class Sessions:
    """Issues and checks sessions and form tokens.

    Args:
        secret: the store's signing secret.
        login: the desk's token ("" without one): a new token ends every session.
    """

    secret: bytes
    login: str = ""

    def _mac(self, *parts: str) -> str:
        msg = "\0".join(("digest desk", self.login, *parts)).encode("utf-8")
        return hmac.new(self.secret, msg, hashlib.sha256).hexdigest()[:32]

    def new(self, actor: str, now: datetime) -> tuple[str, str]:
        """A new session for ``actor``: its id and the cookie's value."""
        session = secrets.token_urlsafe(24)
        issued = str(int(now.timestamp()))
        return session, f"{session}.{issued}.{self._mac('session', session, issued, actor)}"

    def current(self, cookie: str | None, actor: str, now: datetime) -> str | None:
        """The session id a cookie names, or ``None`` when it is absent, forged, expired or was
        issued to another login."""
        session, _, rest = (cookie or "").partition(".")
        issued, _, mac = rest.partition(".")
        if not session or not issued.isdigit() or not mac:
            return None
        if not hmac.compare_digest(mac, self._mac("session", session, issued, actor)):
            return None
        age = now.timestamp() - int(issued)
        return session if 0 <= age < SESSION_TTL.total_seconds() else None

    def form_token(self, session: str, now: datetime) -> str:
        """The hidden field of the forms on a page served now in ``session``."""
        expires = str(int((now + FORM_TTL).timestamp()))
        return f"{expires}.{self._mac('form', session, expires)}"

    def check(self, session: str | None, token: str, now: datetime) -> bool:
        """True for a form token made in ``session`` that has not expired."""
        expires, _, mac = token.partition(".")
        if session is None or not expires.isdigit() or not mac:
            return False
        if not hmac.compare_digest(mac, self._mac("form", session, expires)):
            return False
        return now.timestamp() < int(expires)
