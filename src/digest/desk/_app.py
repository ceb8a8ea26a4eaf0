"""The one Starlette app of ``digest serve``: the editors' desk, the readers' links, the archive
and the bounce hook."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from importlib.resources import files

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.body_limit import RequestBodyLimitMiddleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import BaseRoute, Route

from ..config import Settings
from ..errors import ConfigError, DigestError
from ..store import Store
from ..web import ReaderLinks, allowed_hosts
from ._actions import Actions
from ._archive import ArchiveRoutes
from ._context import Desk, status_of
from ._guard import BASE_HEADERS, Guard, SecurityHeaders, desk_token
from ._hooks import PATH as HOOK_PATH
from ._hooks import BounceHook
from ._pages import Pages

MAX_BODY = 256 * 1024  # the longest honest form (a story) is a few KiB
_DESK_PREFIXES = ("/editions", "/static", "/prepare", "/hooks")


def _now() -> datetime:
    return datetime.now(UTC)


def _check_paths(paths: list[str], archive: str) -> None:
    """The readers' link paths and the archive's must not hide a desk page or each other (they
    are served first, in public)."""
    if archive == "/" or any(archive.startswith(p + "/") for p in _DESK_PREFIXES):
        raise ConfigError(
            f"archive.base_url: the path {archive} is the desk's; use another, such as /archive/"
        )
    for path in paths:
        if path == "/" or any(path == p or path.startswith(p + "/") for p in _DESK_PREFIXES):
            raise ConfigError(
                f"render.unsubscribe_url / manage_url: the path {path} is the desk's; "
                "use another, such as /unsubscribe"
            )
        if path.startswith(archive) or path == archive.rstrip("/"):
            raise ConfigError(f"render.unsubscribe_url / manage_url: the path {path} is the archive's")


def desk_routes(desk: Desk) -> list[BaseRoute]:
    """The desk's routes; see ``docs/desk.md`` for what each does."""
    pages = Pages(desk)
    actions = Actions(desk, pages)
    css = (files("digest.desk") / "static" / "desk.css").read_text(encoding="utf-8")

    def stylesheet(request: Request) -> Response:
        return Response(css, media_type="text/css")

    day = "/editions/{day}"
    return [
        Route("/", pages.home, methods=["GET"], name="home"),
        Route("/editions", pages.editions, methods=["GET"], name="editions"),
        Route("/prepare", actions.prepare, methods=["POST"], name="prepare"),
        Route(day, pages.edition, methods=["GET"], name="edition"),
        Route(f"{day}/email.html", pages.email_html, methods=["GET"], name="email_html"),
        Route(f"{day}/email.txt", pages.email_text, methods=["GET"], name="email_text"),
        Route(f"{day}/message", actions.save_message, methods=["POST"], name="save_message"),
        Route(f"{day}/stories/save", actions.save_story, methods=["POST"], name="save_story"),
        Route(f"{day}/stories/move", actions.move_story, methods=["POST"], name="move_story"),
        Route(f"{day}/stories/drop", actions.drop_story, methods=["POST"], name="drop_story"),
        Route(f"{day}/approve", actions.approve, methods=["POST"], name="approve"),
        Route(f"{day}/withdraw", actions.withdraw, methods=["POST"], name="withdraw"),
        Route(f"{day}/test", actions.send_test, methods=["POST"], name="send_test"),
        Route(f"{day}/send", actions.retry_send, methods=["POST"], name="retry_send"),
        Route("/static/desk.css", stylesheet, methods=["GET"], name="css"),
    ]


def create_app(
    settings: Settings,
    store: Store,
    *,
    environ: Mapping[str, str],
    transport_url: str | None = None,
    clock: Callable[[], datetime] = _now,
    hosts: Iterable[str] = (),
) -> Starlette:
    """The desk, the unsubscribe/preferences endpoints, the web archive and the bounce hook
    (``POST /hooks/bounce``), as one ASGI app.

    Args:
        settings: the configuration (title, approval, render links, desk token variable).
        store: the open store; the app does not close it.
        environ: where the signing secret, the desk token and the bounce hook's secret come from.
        transport_url: overrides ``[delivery] transport`` for the desk's own sends: approving a
            held edition, retrying a send, test copies (not the scheduler's).
        clock: the current instant (timezone-aware); tests pass a fixed one.
        hosts: more host names to answer to, beside the configured URLs' and loopback's
            (``digest serve`` adds the address it listens on); any other ``Host`` gets 400.

    Raises:
        ConfigError: an unsubscribe, manage or archive path would hide a desk page.
    """
    secret = store.signing_secret(environ, settings.secret_env)
    desk = Desk(settings, store, environ, transport_url, clock, secret)
    readers = ReaderLinks.from_settings(settings, store, secret)
    archive = ArchiveRoutes(settings, store, secret, clock)
    hook = BounceHook(settings, store, environ)
    _check_paths(readers.paths, archive.path)

    def error_page(request: Request, exc: Exception) -> Response:
        if isinstance(exc, HTTPException):
            status, message = exc.status_code, "Nothing here." if exc.status_code == 404 else str(exc.detail)
        elif isinstance(exc, DigestError):
            status, message = status_of(exc), str(exc)
        else:
            status, message = 500, "Something went wrong on the desk; the server log has the details."
        try:
            response: Response = desk.render(
                request, "error.html", status=status, message=message, status_code=status
            )
        except Exception:  # the page itself failed: still answer, plainly
            response = HTMLResponse(message, status_code=status)
        # a 500 is answered outside the middleware: give it the same headers here
        for name, value in BASE_HEADERS:
            response.headers.setdefault(name, value)
        return response

    app = Starlette(
        routes=[*readers.routes(), *archive.routes(), *hook.routes(), *desk_routes(desk)],
        middleware=[
            Middleware(SecurityHeaders),
            # absolute URLs come from the configured ones; a Host of the client's choosing is refused
            Middleware(
                TrustedHostMiddleware, allowed_hosts=allowed_hosts(settings, hosts), www_redirect=False
            ),
            Middleware(RequestBodyLimitMiddleware, max_body_size=MAX_BODY),
            Middleware(
                Guard,
                token=desk_token(environ, settings.desk.token_env),
                public=[*readers.paths, HOOK_PATH],  # the hook checks its own secret
                public_prefixes=(archive.path,),
            ),
        ],
        exception_handlers={HTTPException: error_page, DigestError: error_page, Exception: error_page},
    )
    # no redirect to the path with or without its slash: its URL would name the request's Host
    app.router.redirect_slashes = False
    return app
