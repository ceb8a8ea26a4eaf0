"""``POST /hooks/bounce``: bounces and complaints posted by an email provider (Amazon SES via
SNS, Postmark), recorded as ``digest bounces`` records those read from a mailbox.

The path is outside the desk's login and has its own: the shared secret of ``[bounces]
secret_env``, as the password of HTTP Basic (any user name: the form both SNS and Postmark
take in the webhook's URL, ``https://digest:SECRET@host/hooks/bounce``) or as a Bearer token,
compared in constant time before the body is read. Without the secret set the hook answers 503
and reads nothing. Answers, as JSON: 200 with what was recorded; 401 for a missing or wrong
secret; 413 for a body over ``[bounces] max_body``; 400 for a body that is not a JSON object;
422 for JSON in neither format (recorded as unrecognised, as a mailbox's garbage is).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping

import anyio.to_thread
from starlette.middleware import Middleware
from starlette.middleware.body_limit import RequestBodyLimitMiddleware
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from ..bounces import Report
from ..config import Settings
from ..esp import Confirmation, Ignored, Unrecognised, read_hook
from ..store import Store
from ..store.bounces import Processed
from ._guard import credentials

PATH = "/hooks/bounce"
BODY_SECONDS = 10.0
_REALM = 'Basic realm="digest bounce hook"'

log = logging.getLogger(__name__)


class BounceHook:
    """The webhook over one store."""

    def __init__(self, settings: Settings, store: Store, environ: Mapping[str, str]) -> None:
        self._cfg = settings.bounces
        self._store = store
        self._secret = environ.get(self._cfg.secret_env) or None

    def routes(self) -> list[Route]:
        limit = Middleware(RequestBodyLimitMiddleware, max_body_size=self._cfg.max_body)
        return [Route(PATH, self.endpoint, methods=["POST"], name="bounce_hook", middleware=[limit])]

    async def endpoint(self, request: Request) -> JSONResponse:
        if self._secret is None:
            return _answer(503, f"the bounce hook is off: set ${self._cfg.secret_env} to turn it on")
        if credentials(request.headers.get("authorization", ""), self._secret) is None:
            return _answer(401, "the bounce hook needs its secret", {"WWW-Authenticate": _REALM})
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > self._cfg.max_body:
            return _answer(413, f"a notification is at most {self._cfg.max_body} bytes")
        try:
            async with asyncio.timeout(BODY_SECONDS):
                body = await request.body()
        except TimeoutError:
            return _answer(408, "the notification took too long to arrive")
        except ClientDisconnect:
            return _answer(400, "the client went away")
        try:
            hook = read_hook(body)
        except ValueError as exc:
            return _answer(400, str(exc))
        if isinstance(hook, Confirmation):
            # confirming means fetching a URL a request named: an operator does it, once
            log.warning("Amazon SNS asks to confirm the subscription of %s: open %s", hook.topic, hook.url)
            return _answer(200, "subscription confirmation logged: open its SubscribeURL to confirm")
        if isinstance(hook, Ignored):
            return _answer(200, f"nothing to do for {hook.what}")
        report = hook if isinstance(hook, Report) else hook.as_report()
        done = await anyio.to_thread.run_sync(self._record, report)
        if isinstance(hook, Unrecognised):
            return _answer(422, f"unrecognised: {hook.why}", done=done)
        return _answer(200, "recorded", done=done)

    def _record(self, report: Report) -> Processed:
        return self._store.record_report(
            report, source="webhook", hard_after=self._cfg.hard_after, soft_after=self._cfg.soft_after
        )


def _answer(
    status: int, message: str, headers: Mapping[str, str] | None = None, *, done: Processed | None = None
) -> JSONResponse:
    body: dict[str, object] = {"status": status, "message": message}
    if done is not None:
        body |= {
            "findings": done.counts,
            "seen_before": done.seen_before,
            "suppressed": [{"email": e, "status": s} for e, s, _ in done.suppressed],
        }
    return JSONResponse(body, status_code=status, headers=dict(headers or {}))
