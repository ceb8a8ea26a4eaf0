"""What every desk endpoint shares: the settings, the store, the clock, templates and forms."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from urllib.parse import quote, unquote

import jinja2
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from ..config import Settings
from ..context import RunContext
from ..deliver import shown_transport
from ..errors import DeliveryError, DigestError, InputError
from ..pipeline import edition_waves, reader_zones
from ..schedule.cron import EditionTrigger, review_day
from ..store import Store
from ..store.review import EditionConflict, EditionMissing, EditionSealed
from ..waves import send_time
from ._guard import ACTOR_KEY, DEFAULT_ACTOR, desk_token, same_origin
from ._session import SESSION_COOKIE, Sessions

NOTICE_COOKIE = "digest_desk_notice"
SESSION_KEY = "digest.session"  # where a request's session (id, cookie to set) is kept in the scope
MAX_FIELDS = 50


class Refused(DigestError):
    """A desk request refused before anything changed; carries its HTTP status."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def status_of(exc: DigestError) -> int:
    """The HTTP status the desk answers an error with."""
    if isinstance(exc, Refused):
        return exc.status
    if isinstance(exc, EditionConflict | EditionSealed):
        return 409
    if isinstance(exc, EditionMissing):
        return 404
    if isinstance(exc, InputError):
        return 400
    return 502 if isinstance(exc, DeliveryError) else 500


def templates() -> jinja2.Environment:
    """The desk's page templates, autoescaped; an undefined name is an error, not a blank."""
    return jinja2.Environment(
        loader=jinja2.PackageLoader("digest.desk", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


@dataclass(frozen=True)
class Desk:
    """The desk's state: everything an endpoint needs, passed in by :func:`create_app`."""

    settings: Settings
    store: Store
    environ: Mapping[str, str]
    transport_url: str | None
    clock: Callable[[], datetime]
    secret: bytes
    pages: jinja2.Environment = field(default_factory=templates)
    # one prepare or send at a time: a second click while one runs gets a clear "busy"
    busy: threading.Lock = field(default_factory=threading.Lock)

    @property
    def sessions(self) -> Sessions:
        """The editors' sessions; a new desk token ends them all."""
        return Sessions(self.secret, desk_token(self.environ, self.settings.desk.token_env) or "")

    def session(self, request: Request) -> str:
        """The editor's session: the cookie's when it is valid for this login, else a new one
        (which :meth:`render` sets)."""
        known = request.scope.get(SESSION_KEY)
        if isinstance(known, tuple):
            return str(known[0])
        now, who = self.clock(), actor(request)
        session, cookie = self.sessions.current(request.cookies.get(SESSION_COOKIE), who, now), None
        if session is None:
            session, cookie = self.sessions.new(who, now)
        request.scope[SESSION_KEY] = (session, cookie)
        return session

    def csrf(self, request: Request) -> str:
        """The form token of a page served now, for an editor (past the login); none for a
        reader's page, which has no desk form."""
        if ACTOR_KEY not in request.scope:
            return ""
        return self.sessions.form_token(self.session(request), self.clock())

    def today(self) -> date:
        """The edition editors are working on now: the next send's day once its review window
        has opened (a 00:30 send with ``review = "2h"`` is prepared from 22:30 the day before,
        as ``digest schedule`` does), else today in the configured timezone. With local-time
        sending the send is the edition's first wave."""
        zones = list(reader_zones(self.settings, self.store).values()) if self.settings.local_time else []
        return review_day(self.settings, self.clock(), zones)

    def goes_out(self, day: date) -> str:
        """When the edition of ``day`` goes out, in words: its send time, or with local-time
        sending its first and last waves (approval is needed before the first)."""
        s = self.settings
        if not s.local_time:
            send = EditionTrigger(s.schedule, s.timezone).get_next_fire_time(
                None, datetime.combine(day, time(0), s.zone)
            )
            return f"Goes out {send:%Y-%m-%d %H:%M %Z}." if send is not None else ""
        waves = edition_waves(s, self.store, day)
        if not waves:
            return ""
        first, last = waves[0], waves[-1]
        return (
            f"Goes out in {len(waves)} waves, each reader at {send_time(s.schedule):%H:%M} their own time: "
            f"the first leaves {first.at:%Y-%m-%d %H:%M UTC} ({', '.join(first.zones)}), "
            f"the last {last.at:%Y-%m-%d %H:%M UTC} ({', '.join(last.zones)})."
        )

    def day_word(self, day: date) -> str:
        """``day`` as the prepare button says it: "today" or "tomorrow" (in the review window)."""
        calendar = self.clock().astimezone(self.settings.zone).date()
        return "tomorrow" if day == calendar + timedelta(days=1) else "today"

    def run_context(self, trigger: str) -> RunContext:
        """What the pipeline is given for a desk action on behalf of ``trigger`` (an editor)."""
        return RunContext(
            settings=self.settings,
            store=self.store,
            now=self.clock(),
            environ=self.environ,
            transport_url=self.transport_url,
            trigger=trigger,
        )

    @property
    def sends_via(self) -> str:
        """Where the desk's own sends go (approve-and-send, retry, test copies), as shown."""
        return shown_transport(self.transport_url or self.settings.transport_url())

    def render(self, request: Request, name: str, *, status: int = 200, **context: Any) -> HTMLResponse:
        """A page from ``templates/``; the notice left by the last POST is shown once."""
        notice = unquote(request.cookies.get(NOTICE_COOKIE, ""))[:400]
        today = self.today()
        base = {
            "title": self.settings.title,
            "actor": actor(request),
            "csrf": self.csrf(request),
            "notice": notice,
            "error": "",
            "approval": self.settings.approval,
            "today": today.isoformat(),
            "day_word": self.day_word(today),
            "sends_via": self.sends_via,
            "goes_out": self.goes_out(today),
        }
        html = self.pages.get_template(name).render({**base, **context})
        response = HTMLResponse(html, status_code=status)
        if notice:
            response.delete_cookie(NOTICE_COOKIE, path="/", httponly=True, samesite="strict")
        known = request.scope.get(SESSION_KEY)
        if isinstance(known, tuple) and known[1]:
            response.set_cookie(
                SESSION_COOKIE,
                known[1],
                path="/",
                httponly=True,
                samesite="strict",
                secure=request.url.scheme == "https",
            )
        return response


def actor(request: Request) -> str:
    """Who is editing: the Basic-auth user name when one was given, else "desk"."""
    value = request.scope.get(ACTOR_KEY)
    return value if isinstance(value, str) and value else DEFAULT_ACTOR


async def read_form(request: Request, desk: Desk) -> FormData:
    """The POSTed form, once it is shown to come from one of the desk's own pages.

    Raises:
        Refused: 403 for a foreign ``Origin`` or a missing or wrong form token.
    """
    if not same_origin(request.headers):
        raise Refused(403, "refused: this form was sent from another site")
    form = await request.form(max_files=0, max_fields=MAX_FIELDS, max_part_size=64 * 1024)
    given = form.get("csrf")
    now = desk.clock()
    session = desk.sessions.current(request.cookies.get(SESSION_COOKIE), actor(request), now)
    if not isinstance(given, str) or not desk.sessions.check(session, given, now):
        raise Refused(
            403,
            "refused: the form is missing its token, has expired or was loaded in another session "
            "(another login); reload the page and try again",
        )
    return form


def text_field(form: FormData, name: str) -> str:
    value = form.get(name, "")
    return value if isinstance(value, str) else ""


def form_revision(form: FormData) -> int:
    """The edition revision the editor's form was made from.

    Raises:
        InputError: missing or not a number.
    """
    raw = text_field(form, "revision").strip()
    if not raw.isdigit():
        raise InputError("revision: missing or not a number; reload the page")
    return int(raw)


def anchor(story_id: str) -> str:
    """A story's HTML id: stable across reorders, and safe whatever characters its id holds."""
    return "story-" + hashlib.sha256(story_id.encode("utf-8")).hexdigest()[:12]


def parse_day(raw: str) -> date:
    """A day from the URL (``2026-11-26``).

    Raises:
        Refused: 404 when it is not a date.
    """
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise Refused(404, f"edition {raw!r}: not a day (write it as YYYY-MM-DD)") from None


def redirect(request: Request, url: str, notice: str) -> Response:
    """303 back to a page, which shows ``notice`` once."""
    response = RedirectResponse(url, status_code=303)
    response.set_cookie(
        NOTICE_COOKIE,
        quote(notice[:400]),
        path="/",
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )
    return response
