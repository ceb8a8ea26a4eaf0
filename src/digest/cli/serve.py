"""``digest serve``: the editors' desk and the readers' unsubscribe links, in one small server."""

from __future__ import annotations

import contextlib
import os
import socket
from pathlib import Path

import click

from ..errors import UsageError
from ..web import link_paths
from .common import (
    config_option,
    console,
    db_option,
    handle_errors,
    setup,
    transport_option,
    transport_url,
)


def _listen(host: str, port: int) -> socket.socket:
    """A socket listening before the server starts, so the URL printed names the real port and
    answers as soon as it is printed."""
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
    except OSError as exc:
        raise UsageError(f"--host {host}: not an address this machine has: {exc.strerror or exc}") from exc
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(2048)  # connections made once the address is printed wait for the server
    except OSError as exc:
        sock.close()
        raise UsageError(f"--host {host} --port {port}: cannot listen: {exc.strerror or exc}") from exc
    return sock


@click.command()
@config_option
@db_option
@transport_option
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="Address to listen on. Any but a loopback address needs the desk token.",
)
@click.option(
    "--port", type=click.IntRange(0, 65535), default=8025, show_default=True, help="Port (0: any free one)."
)
@handle_errors
def serve(config_path: Path | None, db: str | None, transport: str | None, host: str, port: int) -> None:
    """Run the editors' desk, and answer the unsubscribe links of the emails.

    \b
    The desk (GET /) shows the day's draft edition exactly as subscribers will see it
    (desktop or phone width, dark mode, plain text), and lets editors correct the subject,
    preheader, headlines, summaries and key points, drop and reorder stories, send a test
    copy, and approve. With approval = "required" a send waits for that approval; approving
    a held edition sends it at once. Changes are kept in the store.

    \b
    The same server answers the paths of render.unsubscribe_url and manage_url: POST with
    List-Unsubscribe=One-Click unsubscribes (RFC 8058), GET shows a confirmation page; a
    forged or altered token is refused. These pages never ask for a login. Put the server
    behind an HTTPS reverse proxy: the links in the emails must be https.

    \b
    Approving a held edition, retrying a send and test copies go out through --transport, or
    else the config's [delivery] transport: give it the same --transport as `digest schedule`.

    \b
    Login: on 127.0.0.1 or localhost the desk needs none. To listen on any other address,
    set the environment variable named by [desk] token_env (default DIGEST_DESK_TOKEN) to a
    long random token; editors give it as the password of the browser's login prompt (any
    user name, which the log records) or as "Authorization: Bearer <token>". When that
    variable is set the desk asks for it on loopback too.
    """
    import uvicorn

    from ..desk import check_binding, create_app
    from ..desk._server import server_config

    used = setup(config_path, db)
    s = used.settings
    check_binding(host, os.environ, s.desk.token_env)
    with used.open() as store:
        app = create_app(s, store, environ=os.environ, transport_url=transport_url(transport), hosts=[host])
        sock = _listen(host, port)
        shown = f"[{host}]" if ":" in host else host
        base = f"http://{shown}:{sock.getsockname()[1]}"
        links = ", ".join(link_paths(s.render.unsubscribe_url, s.render.manage_url))
        console().print(
            f"digest: desk on {base}/ (unsubscribe links at {links}); Ctrl-C stops it", markup=False
        )
        config = server_config(app, s)  # timeouts and limits: see digest.desk._server
        # uvicorn shuts down cleanly on Ctrl-C or SIGTERM, then re-raises the interrupt: done
        with sock, contextlib.suppress(KeyboardInterrupt):
            uvicorn.Server(config).run(sockets=[sock])
