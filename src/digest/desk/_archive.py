"""The public web archive in ``digest serve``: the index, each edition's page, the Atom feed.

Served at the path of ``[archive] base_url`` (default ``/archive/``), never behind the desk's
login: the pages hold nothing but sent editions, rendered for nobody in particular
(:mod:`digest.archive`). They may be cached, and carry no script.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from ..archive import FEED, Archive, archive_path
from ..config import Settings
from ..store import Store

# the email's own inline styles and https images, nothing else; never framed
ARCHIVE_CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src https: data:; form-action 'none'; "
    "frame-ancestors 'none'; base-uri 'none'"
)
CACHED = {"Content-Security-Policy": ARCHIVE_CSP, "Cache-Control": "public, max-age=300"}
# links built from the request's Host header must not be kept by a shared cache for others
UNCACHED = {"Content-Security-Policy": ARCHIVE_CSP, "Cache-Control": "no-store"}


class ArchiveRoutes:
    """The archive's endpoints over one store.

    With ``[archive] base_url`` one :class:`Archive` serves every request and keeps its compiled
    pages, which may be cached anywhere. Without it the links name the address the request came
    to: a fresh archive per request (a client chooses its ``Host``) and ``no-store``.
    """

    def __init__(self, settings: Settings, store: Store, secret: bytes, clock: Callable[[], datetime]):
        self.settings = settings
        self.store = store
        self.secret = secret
        self.clock = clock
        self.path = archive_path(settings)
        base = settings.archive.base_url
        self._fixed = Archive(settings, store, base_url=base, secret=secret) if base else None
        self.headers = CACHED if base else UNCACHED

    def archive(self, request: Request) -> Archive:
        if self._fixed is not None:
            return self._fixed
        base = f"{str(request.base_url).rstrip('/')}{self.path}"
        return Archive(self.settings, self.store, base_url=base, secret=self.secret)

    def index(self, request: Request) -> Response:
        archive = self.archive(request)
        return HTMLResponse(archive.index(archive.editions()), headers=self.headers)

    def feed(self, request: Request) -> Response:
        archive = self.archive(request)
        data = archive.feed(archive.editions(), now=self.clock())
        return Response(data, media_type="application/atom+xml", headers=self.headers)

    def page(self, request: Request) -> Response:
        archive = self.archive(request)
        day = request.path_params["day"]
        entry = next((e for e in archive.editions() if e.slug == day), None)
        if entry is None:
            return PlainTextResponse("No such edition in the archive.", status_code=404, headers=self.headers)
        return HTMLResponse(archive.page(entry), headers=self.headers)

    def to_index(self, request: Request) -> Response:
        # a path, not a URL: the Location names no host (the request's Host is the client's)
        return RedirectResponse(self.path, status_code=308, headers=self.headers)

    def routes(self) -> list[BaseRoute]:
        """The index (also as ``index.html``, and its path without the slash redirecting to it),
        the feed, and each edition as ``<day>/``."""
        p = self.path
        return [
            Route(p.rstrip("/"), self.to_index, methods=["GET"]),
            Route(p, self.index, methods=["GET"], name="archive"),
            Route(f"{p}index.html", self.index, methods=["GET"]),
            Route(f"{p}{FEED}", self.feed, methods=["GET"], name="archive_feed"),
            Route(f"{p}{{day}}/", self.page, methods=["GET"], name="archive_edition"),
            Route(f"{p}{{day}}/index.html", self.page, methods=["GET"]),
        ]
