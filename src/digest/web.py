"""The small web endpoint behind the unsubscribe and manage links of every email.

A WSGI application (standard library only): mount it behind your web server, or run it with
``digest serve``. It answers at the paths of ``[render] unsubscribe_url`` and ``manage_url``:

- ``POST …?token=T`` with a valid unsubscribe token unsubscribes at once. This is RFC 8058
  one-click: mail clients send ``List-Unsubscribe=One-Click`` and expect no further step.
- ``GET …?token=T`` shows a page with one button (a GET must change nothing: link scanners
  follow every link in a message).
- A manage token shows the subscriber's sections to choose from, and a way to leave.

Tokens are HMAC-signed by digest (:mod:`digest.tokens`); a forged or altered one gets 400.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

from . import tokens
from .models import Subscriber, SubscriberStatus
from .store import Store

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


@dataclass(frozen=True, slots=True)
class Response:
    status: str
    body: str


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
        self._paths = {p.rstrip("/") or "/" for p in paths}
        self._topics = sorted(set(topics))

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> list[bytes]:
        response = self.handle(
            environ.get("REQUEST_METHOD", "GET"),
            environ.get("PATH_INFO", "/"),
            environ.get("QUERY_STRING", ""),
            _read_body(environ),
        )
        data = _PAGE.format(title=html.escape(self._name), body=response.body).encode("utf-8")
        start_response(
            response.status,
            [
                ("Content-Type", "text/html; charset=utf-8"),
                ("Content-Length", str(len(data))),
                ("Cache-Control", "no-store"),
                ("X-Content-Type-Options", "nosniff"),
                (
                    "Content-Security-Policy",
                    "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'",
                ),
                ("Referrer-Policy", "no-referrer"),
            ],
        )
        return [data]

    def handle(self, method: str, path: str, query: str, body: str) -> Response:
        """Route one request. Contains no I/O but the store's."""
        if (path.rstrip("/") or "/") not in self._paths:
            return Response("404 Not Found", "<p>Nothing here.</p>")
        if method not in ("GET", "POST"):
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
        return next((s for s in self._store.subscribers() if s.email == email), None)

    def _unsubscribe(self, email: str, token: str, *, confirmed: bool) -> Response:
        who = html.escape(email)
        if confirmed:
            self._store.set_subscriber_status(email, SubscriberStatus.UNSUBSCRIBED)
            return Response("200 OK", f"<p><strong>{who}</strong> will get no more emails from us.</p>")
        form = _form(token, "<button type=submit>Unsubscribe</button>")
        return Response("200 OK", f"<p>Stop sending this newsletter to <strong>{who}</strong>?</p>{form}")

    def _manage(self, email: str, token: str, fields: dict[str, list[str]] | None) -> Response:
        sub = self._find(email)
        if sub is None:
            return Response("404 Not Found", "<p>This address is not on the list any more.</p>")
        note = ""
        if fields is not None:
            if "leave" in fields:
                self._store.set_subscriber_status(email, SubscriberStatus.UNSUBSCRIBED)
                return Response("200 OK", f"<p><strong>{html.escape(email)}</strong> is unsubscribed.</p>")
            chosen = frozenset(t for t in fields.get("topic", []) if t in self._topics)
            self._store.set_subscriber_topics(email, chosen)
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
            f"{note}<p>Settings for <strong>{html.escape(email)}</strong></p>"
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
    return [urlsplit(u).path or "/" for u in urls if u]
