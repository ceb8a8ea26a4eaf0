"""The readers' links: the unsubscribe and preferences pages behind every email's links.

One implementation, as Starlette routes (:class:`ReaderLinks`): ``digest serve`` mounts them in
the desk's app (:func:`digest.desk.create_app`), always without the desk's login, and
:func:`reader_app` serves them alone as a small ASGI app for your own server. Both answer at
the paths of ``[render] unsubscribe_url`` and ``manage_url``:

- ``POST …?token=T`` with a valid unsubscribe token unsubscribes at once. This is RFC 8058
  one-click: mail clients send ``List-Unsubscribe=One-Click`` and expect no further step.
- ``GET …?token=T`` shows a page with one button (a GET must change nothing: link scanners
  follow every link in a message).
- A manage token shows the subscriber's sections to choose from, and a way to leave.

Tokens are HMAC-signed by digest and name the subscriber by key (:mod:`digest.tokens`); a
forged or altered one gets 400, a genuine one for nobody on the list 404, and neither changes
anything. The work per request is bounded: a body of at most :data:`MAX_BODY` bytes read within
:data:`BODY_SECONDS`, one indexed lookup and at most one row written, in a worker thread.
"""

from __future__ import annotations

import asyncio
import dataclasses
import html
import threading
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

import anyio
import anyio.to_thread
from starlette.applications import Starlette
from starlette.datastructures import MutableHeaders
from starlette.middleware import Middleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from . import tokens
from .config import Settings
from .models import Subscriber
from .store import Store

__all__ = ["HEADERS", "MAX_BODY", "ReaderLinks", "allowed_hosts", "link_paths", "reader_app"]

MAX_BODY = 16 * 1024  # a one-click body is 26 bytes; the preferences form a few hundred
MAX_FIELDS = 100
BODY_SECONDS = 10.0  # a client that takes longer to send its body is answered 408
READER_THREADS = 4  # store calls of the readers' links at once (each is short)
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "[::1]")  # as a Host header names them

_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<title>{title}</title>
<style>body{{font:16px/1.5 system-ui,sans-serif;max-width:34rem;margin:3rem auto;padding:0 1rem}}
button{{font:inherit;min-height:44px;padding:.5rem 1.2rem;margin-top:1rem;cursor:pointer}}
label{{display:block;min-height:44px;line-height:44px}}</style></head>
<body><h1>{title}</h1>{body}</body></html>
"""
_INVALID = "<p>This link is not valid. Use the link in your latest email.</p>"

# The pages carry no script and no third-party anything; they are never framed or cached
# (a shared cache must not keep one reader's address).
HEADERS: Mapping[str, str] = {
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'"
    ),
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}

Fields = dict[str, list[str]]


@dataclass(frozen=True, slots=True)
class Page:
    """What a request is answered with: a status and the HTML inside the page's body."""

    status: int
    body: str


def link_paths(*urls: str | None) -> list[str]:
    """The paths of the configured unsubscribe/manage URLs, which the app answers at."""
    return sorted({urlsplit(u).path.rstrip("/") or "/" for u in urls if u})


def allowed_hosts(settings: Settings, extra: Iterable[str] = ()) -> list[str]:
    """The host names the server answers to: those of the configured public URLs (the readers'
    links, the archive, ``[desk] public_url``), the loopback names and ``extra`` (the address
    ``digest serve`` listens on). A request naming any other ``Host`` is refused with 400."""
    urls = (
        settings.render.unsubscribe_url,
        settings.render.manage_url,
        settings.archive.base_url,
        settings.desk.public_url,
    )
    names = {urlsplit(u).hostname or "" for u in urls if u}
    names |= {h.strip("[]").lower() for h in extra if h.strip("[]") not in ("0.0.0.0", "::", "")}
    # an IPv6 address is written in brackets in a Host header
    shown = {f"[{n}]" if ":" in n else n for n in names if n}
    return sorted(shown | set(LOOPBACK_HOSTS))


class ReaderLinks:
    """The unsubscribe and preferences endpoints over one store.

    Args:
        store: the open store; only indexed lookups and single-row writes are made.
        secret: the key the tokens were signed with.
        newsletter: the name shown on the pages.
        paths: where to answer (:func:`link_paths` of the configured URLs).
        topics: the sections a reader may choose from.
    """

    def __init__(
        self,
        store: Store,
        secret: bytes,
        *,
        newsletter: str,
        paths: Iterable[str],
        topics: Iterable[str] = (),
    ) -> None:
        self._store = store
        self._secret = secret
        self._name = newsletter
        self.paths = sorted({p.rstrip("/") or "/" for p in paths})
        self._topics = sorted(set(topics))
        # SQLite lets one writer in at a time and makes the others sleep and retry: take turns
        # here instead, without sleeping
        self._writing = threading.Lock()
        self._pool = ThreadPoolExecutor(READER_THREADS, thread_name_prefix="digest-readers")

    @classmethod
    def from_settings(cls, settings: Settings, store: Store, secret: bytes) -> ReaderLinks:
        return cls(
            store,
            secret,
            newsletter=settings.title,
            paths=link_paths(settings.render.unsubscribe_url, settings.render.manage_url),
            topics=[f.topic for f in settings.feeds if f.topic],
        )

    def routes(self) -> list[Route]:
        """The routes answering at :attr:`paths`, with and without a trailing slash."""
        methods = ["GET", "HEAD", "POST"]
        routes = [Route(p, self.endpoint, methods=methods, name=f"readers:{p}") for p in self.paths]
        return routes + [Route(f"{p}/", self.endpoint, methods=methods) for p in self.paths if p != "/"]

    async def endpoint(self, request: Request) -> HTMLResponse:
        try:
            fields = await read_fields(request)
        except _TooLarge:
            page = Page(413, "<p>That request is too large.</p>")
        except TimeoutError:
            page = Page(408, "<p>That request took too long to arrive.</p>")
        except ValueError:
            page = Page(400, _INVALID)
        else:
            page = await self._off_loop(self.handle, request.method, fields)
        body = _PAGE.format(title=html.escape(self._name), body=page.body)
        return HTMLResponse(body, status_code=page.status, headers=dict(HEADERS))

    async def _off_loop(self, call: Callable[..., Page], *args: Any) -> Page:
        """Run a store call in one of the readers' own few threads.

        A small pool of its own, rather than the shared pool of 40: a burst of requests is served
        one after another at full speed instead of by 40 threads taking turns at the GIL (twice
        the throughput at 50 concurrent requests), and the desk's threads stay free.
        """
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # not asyncio (trio): anyio's threads
            return await anyio.to_thread.run_sync(call, *args)
        return await loop.run_in_executor(self._pool, call, *args)

    def handle(self, method: str, fields: Fields) -> Page:
        """Answer one request: the token names what to do. Contains no I/O but the store's."""
        token = (fields.get("token") or [""])[0]
        if claim := tokens.verify(token, self._secret, purpose=tokens.UNSUBSCRIBE):
            return self._unsubscribe(claim, token, confirmed=method == "POST")
        if claim := tokens.verify(token, self._secret, purpose=tokens.MANAGE):
            return self._manage(claim, token, fields if method == "POST" else None)
        return Page(400, _INVALID)

    def _find(self, claim: tokens.Claim) -> Subscriber | None:
        """The subscriber a token names, by one indexed lookup: the key's, or (a token from
        before keys) the address's, which is the table's primary key."""
        if claim.key is not None:
            return None if claim.key == tokens.NOBODY else self._store.subscriber_by_key(claim.key)
        return self._store.subscriber(claim.email.strip().lower()) if claim.email else None

    def _leave(self, sub: Subscriber) -> None:
        with self._writing:
            self._store.unsubscribe(email=sub.email)

    @staticmethod
    def _gone() -> Page:
        return Page(404, "<p>This address is not on the list any more.</p>")

    def _unsubscribe(self, claim: tokens.Claim, token: str, *, confirmed: bool) -> Page:
        if confirmed:  # one statement: find and mark at once
            with self._writing:
                if claim.key is not None:
                    email = None if claim.key == tokens.NOBODY else self._store.unsubscribe(key=claim.key)
                else:
                    email = self._store.unsubscribe(email=(claim.email or "").strip().lower())
            if email is None:  # a genuine token of a reader since removed, or of nobody
                return self._gone()
            return Page(200, f"<p><strong>{html.escape(email)}</strong> will get no more emails from us.</p>")
        sub = self._find(claim)
        if sub is None:
            return self._gone()
        form = _form(token, "<button type=submit>Unsubscribe</button>")
        return Page(
            200, f"<p>Stop sending this newsletter to <strong>{html.escape(sub.email)}</strong>?</p>{form}"
        )

    def _manage(self, claim: tokens.Claim, token: str, fields: Fields | None) -> Page:
        sub = self._find(claim)
        if sub is None:
            return self._gone()
        note = ""
        if fields is not None:
            if "leave" in fields:
                self._leave(sub)
                return Page(200, f"<p><strong>{html.escape(sub.email)}</strong> is unsubscribed.</p>")
            chosen = frozenset(t for t in fields.get("topic", []) if t in self._topics)
            with self._writing:
                self._store.set_subscriber_topics(sub.email, chosen)
            sub = dataclasses.replace(sub, topics=chosen)
            note = "<p><em>Saved.</em></p>"
        boxes = "".join(
            f'<label><input type=checkbox name=topic value="{html.escape(t)}"'
            f"{' checked' if not sub.topics or t in sub.topics else ''}> {html.escape(t)}</label>"
            for t in self._topics
        )
        choose = f"<p>Sections you get (none ticked means all):</p>{boxes}" if boxes else ""
        buttons = (
            "<button type=submit>Save</button> <button type=submit name=leave value=1>Unsubscribe</button>"
        )
        return Page(
            200,
            f"{note}<p>Settings for <strong>{html.escape(sub.email)}</strong></p>"
            + _form(token, choose + buttons),
        )


class _TooLarge(Exception):
    pass


async def read_fields(request: Request) -> Fields:
    """The query's fields, and a POST body's (form-encoded; another body adds none).

    Raises:
        _TooLarge: the body is over :data:`MAX_BODY`.
        TimeoutError: the body did not arrive within :data:`BODY_SECONDS`.
        ValueError: more than :data:`MAX_FIELDS` fields.
    """
    fields = parse_qs(request.scope["query_string"].decode("latin-1"), max_num_fields=MAX_FIELDS)
    if request.method != "POST":
        return fields
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY:
        raise _TooLarge
    try:
        asyncio.get_running_loop()
    except RuntimeError:  # not asyncio (trio)
        with anyio.fail_after(BODY_SECONDS):
            body = await _body(request)
    else:  # asyncio's own timeout costs less than anyio's cancel scope, on every request
        async with asyncio.timeout(BODY_SECONDS):
            body = await _body(request)
    return fields | parse_qs(body.decode("utf-8", "replace"), max_num_fields=MAX_FIELDS)


async def _body(request: Request) -> bytes:
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY:
            raise _TooLarge
    return bytes(body)


def _form(token: str, inner: str) -> str:
    return f'<form method=post><input type=hidden name=token value="{html.escape(token)}">{inner}</form>'


class _Headers:
    """ASGI middleware: :data:`HEADERS` on every response, the refusals and 404s included."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in HEADERS.items():
                    headers.setdefault(name, value)
            await send(message)

        await self.app(scope, receive, with_headers if scope["type"] == "http" else send)


def reader_app(settings: Settings, store: Store, *, environ: Mapping[str, str]) -> Starlette:
    """The readers' links alone, as an ASGI app for your own server (``digest serve`` mounts
    the same routes in the desk's app): the same pages, host check and body limit.

    Args:
        settings: the render links (paths and hosts), the title, the feeds' topics.
        store: the open store; the app does not close it.
        environ: where the signing secret comes from (``secret_env``).
    """
    links = ReaderLinks.from_settings(settings, store, store.signing_secret(environ, settings.secret_env))
    app = Starlette(
        routes=links.routes(),
        middleware=[
            Middleware(_Headers),
            Middleware(TrustedHostMiddleware, allowed_hosts=allowed_hosts(settings), www_redirect=False),
        ],
    )
    app.router.redirect_slashes = False  # a redirect would name the Host the client chose
    return app
