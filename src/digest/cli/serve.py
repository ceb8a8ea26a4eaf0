"""``digest serve``: the unsubscribe and preferences endpoint, for small deployments."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from wsgiref.simple_server import WSGIRequestHandler, make_server

import click

from ..store import open_store
from ..web import SubscriptionApp, link_paths
from .common import config_option, console, db_option, handle_errors, settings, store_url


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # no addresses in the logs
        pass


@click.command()
@config_option
@db_option
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", type=click.IntRange(0, 65535), default=8025, show_default=True, help="Port.")
@handle_errors
def serve(config_path: Path | None, db: str | None, host: str, port: int) -> None:
    """Answer the unsubscribe and preferences links of the emails.

    Listens at the paths of `unsubscribe_url` and `manage_url` from the config. Put it behind
    your HTTPS web server (the links must be https), or mount `digest.web.SubscriptionApp` in
    your own WSGI server. One-click unsubscribe (RFC 8058) works without a confirmation page.
    """
    s = settings(config_path)
    with open_store(store_url(s, db)) as store:
        app = SubscriptionApp(
            store,
            store.signing_secret(os.environ, s.secret_env),
            newsletter=s.title,
            paths=link_paths(s.render.unsubscribe_url, s.render.manage_url),
            topics=[f.topic for f in s.feeds if f.topic],
        )
        with make_server(host, port, app, handler_class=_QuietHandler) as server:
            console().print(f"digest: serving unsubscribe links on http://{host}:{server.server_port}")
            with contextlib.suppress(KeyboardInterrupt):
                server.serve_forever()
