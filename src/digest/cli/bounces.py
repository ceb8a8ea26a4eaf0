"""``digest bounces``: read what came back (bounces, complaints) from a mailbox."""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import click
from rich.markup import escape
from rich.progress import Progress, SpinnerColumn, TextColumn

from .common import config_option, console, handle_errors, setup, store_db_option

if TYPE_CHECKING:
    from ..mailboxes import Returned
    from ..store.bounces import Processed


@click.command()
@click.option("--mbox", type=click.Path(dir_okay=False, path_type=Path), help="An mbox file.")
@click.option("--maildir", type=click.Path(file_okay=False, path_type=Path), help="A Maildir folder.")
@click.option(
    "--imap", metavar="URL", help="imaps://user@host[:port]/Folder; the password from $DIGEST_IMAP_PASSWORD."
)
@click.option("--json", "as_json", is_flag=True, help="Print what was found as JSON.")
@config_option
@store_db_option
@handle_errors
def bounces(
    mbox: Path | None,
    maildir: Path | None,
    imap: str | None,
    as_json: bool,
    config_path: Path | None,
    db: str | None,
) -> None:
    """Read bounces and complaints from a mailbox, and take those readers off the list.

    \b
    Delivery status notifications (RFC 3464, and the older formats mail servers use),
    ARF complaint reports (RFC 5965), auto-replies and anything else are told apart. A hard
    bounce marks its subscriber bounced ([bounces] hard_after, 1), soft bounces in separate
    editions too (soft_after, 3), and a complaint unsubscribes at once; each is recorded
    with its time, kind, the server's words and the edition it answered. With [bounces]
    domain set, messages go out with a VERP return path, so a bounce names its subscriber
    without its body being read. Reading a mailbox again changes nothing: each message is
    recorded once, by its Message-ID. A message digest cannot read, or that names nobody it
    knows, is counted as unrecognised. `digest subscribers reactivate` puts a reader back.
    """
    chosen = [x for x in (mbox, maildir, imap) if x is not None]
    if len(chosen) != 1:
        raise click.UsageError("name one mailbox: --mbox FILE, --maildir DIR or --imap URL")
    from ..bounces import read_report
    from ..store.bounces import Processed

    logging.getLogger("flufl.bounce").setLevel(logging.CRITICAL)  # a detector's traceback is noise here
    used = setup(config_path, db, store_only=True)
    cfg = used.settings.bounces
    limits = {"hard_after": cfg.hard_after, "soft_after": cfg.soft_after}
    done, read = Processed(), 0
    columns = (TextColumn("Reading returned mail"), SpinnerColumn(), TextColumn("{task.completed} messages"))
    with (
        used.open(announce=not as_json) as store,
        Progress(*columns, console=console(), disable=as_json, transient=True) as bars,
    ):
        task = bars.add_task("read", total=None)
        for returned in _messages(mbox, maildir, imap, cfg.imap_password_env):
            done.add(store.record_report(read_report(returned.raw), source=returned.where, **limits))
            read += 1
            bars.advance(task)
    _show(done, read, str(chosen[0]), as_json)


def _messages(
    mbox: Path | None, maildir: Path | None, imap: str | None, password_env: str
) -> Iterator[Returned]:
    from ..mailboxes import read_imap, read_maildir, read_mbox

    if mbox is not None:
        return read_mbox(mbox)
    if maildir is not None:
        return read_maildir(maildir)
    assert imap is not None
    return read_imap(imap, os.environ, password_env=password_env)


def _show(done: Processed, read: int, where: str, as_json: bool) -> None:
    if as_json:
        data = {
            "mailbox": where,
            "messages": read,
            "findings": done.counts,
            "seen_before": done.seen_before,
            "suppressed": [{"email": e, "status": s, "why": w} for e, s, w in done.suppressed],
            "unrecognised": done.unrecognised,
        }
        click.echo(json.dumps(data, indent=2))
        return
    out = console(stderr=False)
    counts = ", ".join(f"{n} {kind}" for kind, n in sorted(done.counts.items())) or "nothing new"
    again = f"; {done.seen_before} already recorded" if done.seen_before else ""
    out.print(f"{escape(where)}: {read} messages: {counts}{again}")
    for email, status, why in done.suppressed:
        out.print(f"  [yellow]{status}[/yellow] {escape(email)}: {escape(why)}")
    for what in done.unrecognised:
        out.print(f"  [dim]unrecognised[/dim] {escape(what)}")
