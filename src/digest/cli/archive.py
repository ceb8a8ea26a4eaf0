"""``digest archive``: the public web archive of sent editions, written as static files."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

import click

from ..errors import UsageError
from ..store import open_store
from .common import config_option, console, db_option, handle_errors, settings, store_url


@click.command()
@config_option
@db_option
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    required=True,
    help="Folder to write the archive into (created when missing; existing pages are replaced).",
)
@handle_errors
def archive(config_path: Path | None, db: str | None, out: Path) -> None:
    """Write the web archive of sent editions as static files for any web host; print their paths.

    \b
    DIR/index.html           every sent edition, newest first
    DIR/<day>/index.html     one edition's web page (the emails' "View in browser" link)
    DIR/feed.atom            an Atom feed of the editions

    Publish DIR at [archive] base_url. Pages are rendered from the email's templates for
    nobody in particular: no reader's name, address or unsubscribe link. Only editions sent
    to at least one reader appear; drafts and held editions never do. `digest serve`
    serves the same pages at the path of base_url.
    """
    from ..archive import Archive, write_archive

    s = settings(config_path)
    if not s.archive.base_url:
        raise UsageError(
            "[archive] base_url: not set; the archive's links and feed need the address it is "
            'published at (for example base_url = "https://example.org/archive/")'
        )
    with open_store(store_url(s, db)) as store:
        secret = store.signing_secret(os.environ, s.secret_env)
        archived = Archive(s, store, base_url=s.archive.base_url, secret=secret)
        try:
            paths = write_archive(archived, out, now=datetime.now(UTC))
        except OSError as exc:
            raise UsageError(f"--out {out}: cannot write: {exc.strerror or exc}") from exc
    console().print(f"Archive: {len(paths) - 2} editions in {out}", markup=False)
    for path in paths:
        click.echo(str(path))
