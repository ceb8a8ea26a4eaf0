"""Who may use the desk, and the headers every response carries.

Three layers, each small enough to read at once:

- :func:`check_binding` (at start-up): a desk reachable from other machines needs a token;
- :class:`Guard` (per request): the login (HTTP Basic or Bearer, compared in constant time),
  or, with no token set, proof that the request really comes from this machine;
- :class:`SecurityHeaders`: a strict CSP and friends on every response.

The unsubscribe and preferences paths pass through :class:`Guard` untouched: readers follow
those links from their mail and must never meet the editors' login.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import ipaddress
from collections.abc import Collection, Mapping
from urllib.parse import urlsplit

from starlette.datastructures import Headers, MutableHeaders
from starlette.responses import PlainTextResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..errors import UsageError

ACTOR_KEY = "digest.actor"  # where Guard leaves the editor's name in the ASGI scope
DEFAULT_ACTOR = "desk"
REALM = 'Basic realm="digest desk"'

# The desk's pages: same-origin CSS, the same-origin preview frame, forms to itself, no script.
DESK_CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self'; frame-src 'self'; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)
# The email preview: its own inline styles and remote images as a mail client shows them,
# sandboxed (no script, an opaque origin), framed only by the desk.
PREVIEW_CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src https: data:; font-src https: data:; "
    "form-action 'none'; frame-ancestors 'self'; base-uri 'none'; sandbox"
)
BASE_HEADERS: tuple[tuple[str, str], ...] = (
    ("Content-Security-Policy", DESK_CSP),
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "no-referrer"),
    ("Cache-Control", "no-store"),
    ("X-Frame-Options", "DENY"),
    ("Cross-Origin-Opener-Policy", "same-origin"),
)
_FORWARDED = ("forwarded", "x-forwarded-for", "x-forwarded-host", "x-real-ip")


def is_loopback(host: str) -> bool:
    """True for ``localhost`` and loopback addresses (``127.0.0.1``, ``::1``, ``[::1]``)."""
    name = host.strip().strip("[]").lower()
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def desk_token(environ: Mapping[str, str], env_name: str) -> str | None:
    """The desk's token from the environment, or ``None`` when unset or blank."""
    value = environ.get(env_name, "").strip()
    return value or None


def check_binding(host: str, environ: Mapping[str, str], env_name: str) -> None:
    """Refuse to serve the desk beyond this machine without a token.

    Raises:
        UsageError: ``host`` is not a loopback address and ``env_name`` is unset (exit code 2).
    """
    if not is_loopback(host) and desk_token(environ, env_name) is None:
        raise UsageError(
            f"{env_name}: not set; the desk needs a token to listen on {host} "
            "(only a loopback address such as 127.0.0.1 needs no login)"
        )


def same_origin(headers: Headers) -> bool:
    """False when the request names an ``Origin`` other than the host it was sent to.

    ``Origin: null`` is what browsers send for a same-origin form when the page's referrer
    policy is ``no-referrer`` (ours is, everywhere); it proves nothing either way, so then the
    browser's own ``Sec-Fetch-Site`` must say ``same-origin``. A foreign page that hides its
    origin the same way is still seen as ``cross-site`` there.
    """
    origin = headers.get("origin")
    if origin is None:
        return True
    if origin.strip().lower() == "null":
        return headers.get("sec-fetch-site", "").lower() == "same-origin"
    host = headers.get("host", "").lower()
    return bool(host) and urlsplit(origin).netloc.lower() == host


def _host_name(host_header: str) -> str:
    if host_header.startswith("["):
        return host_header[1 : host_header.find("]")]
    return host_header.rsplit(":", 1)[0] if host_header.count(":") == 1 else host_header


def credentials(header: str, token: str) -> str | None:
    """The actor named by a valid ``Authorization`` header, else ``None``."""
    scheme, _, value = header.strip().partition(" ")
    value = value.strip()
    if scheme.lower() == "bearer":
        return DEFAULT_ACTOR if hmac.compare_digest(value.encode(), token.encode()) else None
    if scheme.lower() != "basic":
        return None
    try:
        user, sep, password = base64.b64decode(value, validate=True).decode("utf-8").partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return None
    if not sep or not hmac.compare_digest(password.encode(), token.encode()):
        return None
    name = " ".join(user.split())[:100]
    return name or DEFAULT_ACTOR


class Guard:
    """ASGI middleware: the desk's login; ``public`` paths (the readers' links) and everything
    under ``public_prefixes`` (the web archive) pass as they are.

    With a token, every desk request needs it (Basic: any user name, which is recorded as the
    actor; or Bearer). Without one, the desk answers only requests addressed to a loopback
    name and not relayed by a proxy: a page on another site that points a browser at
    127.0.0.1 under its own name (DNS rebinding), or a reverse proxy in front of a
    loopback-bound desk, would otherwise reach it with no login at all.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        token: str | None,
        public: Collection[str],
        public_prefixes: Collection[str] = (),
    ) -> None:
        self.app = app
        self.token = token
        self.public = {p.rstrip("/") or "/" for p in public}
        self.public |= {p.rstrip("/") for p in public_prefixes if p.rstrip("/")}
        # a folder's prefix, always with its slash: /archive/ never opens /archived-desk-page
        self.prefixes = tuple(p if p.endswith("/") else p + "/" for p in public_prefixes if p.strip("/"))

    def _is_public(self, path: str) -> bool:
        return (path.rstrip("/") or "/") in self.public or path.startswith(self.prefixes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or self._is_public(scope["path"]):
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        if self.token is not None:
            actor = credentials(headers.get("authorization", ""), self.token)
            if actor is None:
                response = PlainTextResponse(
                    "The desk needs the token: give it as the password (any user name).",
                    status_code=401,
                    headers={"WWW-Authenticate": REALM},
                )
                await response(scope, receive, send)
                return
        else:
            actor = DEFAULT_ACTOR
            if not is_loopback(_host_name(headers.get("host", ""))) or any(h in headers for h in _FORWARDED):
                response = PlainTextResponse(
                    "The desk without a token answers only at 127.0.0.1 or localhost on this machine; "
                    "set a token to reach it through a proxy or by another name.",
                    status_code=403,
                )
                await response(scope, receive, send)
                return
        scope[ACTOR_KEY] = actor
        await self.app(scope, receive, send)


class SecurityHeaders:
    """ASGI middleware: adds :data:`BASE_HEADERS` to every response that did not set its own."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in BASE_HEADERS:
                    if name not in headers:
                        headers.append(name, value)
            await send(message)

        await self.app(scope, receive, send_with_headers)
