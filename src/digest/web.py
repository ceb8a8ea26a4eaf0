"""The small web endpoint behind the unsubscribe and manage links of every email.

``digest serve`` answers these links in the same Starlette app as the editors' desk
(:func:`subscription_routes`), always without the desk's login; or mount the WSGI
:class:`SubscriptionApp` in your own server. Both answer at the paths of
``[render] unsubscribe_url`` and ``manage_url``:

- ``POST …?token=T`` with a valid unsubscribe token unsubscribes at once. This is RFC 8058
  one-click: mail clients send ``List-Unsubscribe=One-Click`` and expect no further step.
- ``GET …?token=T`` shows a page with one button (a GET must change nothing: link scanners
  follow every link in a message).
- A manage token shows the subscriber's sections to choose from, and a way to leave.

Tokens are HMAC-signed by digest (:mod:`digest.tokens`); a forged or altered one gets 400, a
genuine one for an address no longer on the list 404, and neither changes anything.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import Route

from . import tokens
from .models import Subscriber, SubscriberStatus
from .store import Store

__all__ = ["HEADERS", "Response", "SubscriptionApp", "link_paths", "subscription_routes"]

StartResponse = Callable[[str, list[tuple[str, str]]], Any]
_MAX_BODY = 64 * 1024

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

# The pages carry no script and no third-party anything; they are never framed or cached
# (a shared cache must not keep one reader's address).
HEADERS: tuple[tuple[str, str], ...] = (
    ("Cache-Control", "no-store"),
    ("X-Content-Type-Options", "nosniff"),
    (
        "Content-Security-Policy",
        "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'",
    ),
    ("Referrer-Policy", "no-referrer"),
    ("X-Frame-Options", "DENY"),
)


@dataclass(frozen=True, slots=True)
class Response:
    status: str
    body: str

    @property
    def code(self) -> int:
        return int(self.status.split(" ", 1)[0])


class SubscriptionApp:
    """WSGI app: ``SubscriptionApp(store, secret, newsletter="…", topics=[…])``."""

    def __init__(
        self,
        store: Store,
        secret: bytes,
        *,
        newsletter: str,
        paths: Iterable[str] = ("/unsubscribe",),
        topics: Iterable[str] = (),
    ) -> None:
        self._store = store
        self._secret = secret
        self._name = newsletter
        self.paths = sorted({p.rstrip("/") or "/" for p in paths})
        self._topics = sorted(set(topics))

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> list[bytes]:
        response = self.handle(
            environ.get("REQUEST_METHOD", "GET"),
            environ.get("PATH_INFO", "/"),
            environ.get("QUERY_STRING", ""),
            _read_body(environ),
        )
        data = self.page(response).encode("utf-8")
        headers = [
            ("Content-Type", "text/html; charset=utf-8"),
            ("Content-Length", str(len(data))),
            *HEADERS,
        ]
        start_response(response.status, headers)
        return [data]

    def page(self, response: Response) -> str:
        """The whole HTML page around a response's body."""
        return _PAGE.format(title=html.escape(self._name), body=response.body)

    def handle(self, method: str, path: str, query: str, body: str) -> Response:
        """Route one request. Contains no I/O but the store's."""
        if (path.rstrip("/") or "/") not in self.paths:
            return Response("404 Not Found", "<p>Nothing here.</p>")
        if method not in ("GET", "HEAD", "POST"):
            return Response("405 Method Not Allowed", "<p>Use the link in your email.</p>")
        fields = parse_qs(query) | (parse_qs(body) if method == "POST" else {})
        token = (fields.get("token") or [""])[0]
        if email := tokens.verify(token, self._secret, purpose=tokens.UNSUBSCRIBE):
            return self._unsubscribe(email, token, confirmed=method == "POST")
        if email := tokens.verify(token, self._secret, purpose=tokens.MANAGE):
            return self._manage(email, token, fields if method == "POST" else None)
        return Response(
            "400 Bad Request", "<p>This link is not valid. Use the link in your latest email.</p>"
        )

    def _find(self, email: str) -> Subscriber | None:
        return next((s for s in self._store.subscribers() if s.email.lower() == email.lower()), None)

    @staticmethod
    def _gone() -> Response:
        return Response("404 Not Found", "<p>This address is not on the list any more.</p>")

    def _unsubscribe(self, email: str, token: str, *, confirmed: bool) -> Response:
        sub = self._find(email)
        if sub is None:  # a genuine token of an address since removed: nothing to change
            return self._gone()
        who = html.escape(sub.email)
        if confirmed:
            self._store.set_subscriber_status(sub.email, SubscriberStatus.UNSUBSCRIBED)
            return Response("200 OK", f"<p><strong>{who}</strong> will get no more emails from us.</p>")
        form = _form(token, "<button type=submit>Unsubscribe</button>")
        return Response("200 OK", f"<p>Stop sending this newsletter to <strong>{who}</strong>?</p>{form}")

    def _manage(self, email: str, token: str, fields: dict[str, list[str]] | None) -> Response:
        sub = self._find(email)
        if sub is None:
            return self._gone()
        note = ""
        if fields is not None:
            if "leave" in fields:
                self._store.set_subscriber_status(sub.email, SubscriberStatus.UNSUBSCRIBED)
                return Response(
                    "200 OK", f"<p><strong>{html.escape(sub.email)}</strong> is unsubscribed.</p>"
                )
            chosen = frozenset(t for t in fields.get("topic", []) if t in self._topics)
            self._store.set_subscriber_topics(sub.email, chosen)
            sub = self._find(email) or sub
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
        return Response(
            "200 OK",
            f"{note}<p>Settings for <strong>{html.escape(sub.email)}</strong></p>"
            + _form(token, choose + buttons),
        )


def _form(token: str, inner: str) -> str:
    return f'<form method=post><input type=hidden name=token value="{html.escape(token)}">{inner}</form>'


def _read_body(environ: dict[str, Any]) -> str:
    try:
        length = min(int(environ.get("CONTENT_LENGTH") or 0), _MAX_BODY)
    except ValueError:
        length = 0
    stream = environ.get("wsgi.input")
    return stream.read(length).decode("utf-8", "replace") if stream and length > 0 else ""


def link_paths(*urls: str | None) -> list[str]:
    """The paths of the configured unsubscribe/manage URLs, which the app answers at."""
    return sorted({urlsplit(u).path.rstrip("/") or "/" for u in urls if u})


def subscription_routes(app: SubscriptionApp) -> list[Route]:
    """Starlette routes answering ``app``'s paths, with the same pages as the WSGI app.

    The request body is read here (at most 64 KiB, the rest ignored as in WSGI); the
    handling, which touches the store, runs in a worker thread.
    """

    async def endpoint(request: Request) -> HTMLResponse:
        body = b""
        if request.method == "POST":
            async for chunk in request.stream():
                body += chunk
                if len(body) >= _MAX_BODY:
                    break
        response = await run_in_threadpool(
            app.handle,
            request.method,
            request.url.path,
            request.url.query,
            body[:_MAX_BODY].decode("utf-8", "replace"),
        )
        return HTMLResponse(app.page(response), status_code=response.code, headers=dict(HEADERS))

    methods = ["GET", "HEAD", "POST"]
    routes = [Route(path, endpoint, methods=methods, name=f"subscription:{path}") for path in app.paths]
    routes += [Route(f"{p}/", endpoint, methods=methods) for p in app.paths if p != "/"]
    return routes
