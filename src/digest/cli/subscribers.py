"""``digest subscribers import|list|unsubscribe``: the store is the list's source of truth."""

from __future__ import annotations

import json
from pathlib import Path

import click
from rich.markup import escape

from ..errors import InputError
from ..models import SubscriberStatus
from ..subscribers import CsvReading, iter_subscribers_csv, merge, normalize_email
from .common import config_option, console, handle_errors, setup, store_db_option


@click.group()
def subscribers() -> None:
    """Import, list and unsubscribe subscribers (kept in the store)."""


@subscribers.command("import")
@click.argument("csv_path", metavar="CSV", type=click.Path(dir_okay=False, exists=True, path_type=Path))
@click.option(
    "--skip-invalid",
    is_flag=True,
    help="Import the valid rows and report the invalid ones. Default: all or nothing (exit 2).",
)
@config_option
@store_db_option
@handle_errors
def import_(csv_path: Path, skip_invalid: bool, config_path: Path | None, db: str | None) -> None:
    """Merge a CSV (email,name[,status,timezone,topics]) into the store.

    Every address is checked (syntax only, no DNS); invalid rows are listed with their line
    number. A known address keeps its place; an import never resubscribes someone who
    unsubscribed or bounced.
    """
    used = setup(config_path, db, store_only=True)
    reading = CsvReading(csv_path)
    with used.open() as store:
        rows = iter_subscribers_csv(csv_path, reading, strict=not skip_invalid)
        added, updated = store.merge_subscribers(rows, combine=merge, atomic=not skip_invalid)
    for error in reading.errors:
        click.echo(f"digest: skipped: {error}", err=True)
    if reading.error_count > len(reading.errors):
        click.echo(f"digest: skipped: … and {reading.error_count - len(reading.errors)} more", err=True)
    duplicates = reading.valid - added - updated
    dup = f", {duplicates} duplicate row(s) merged" if duplicates else ""
    skipped = f", {reading.error_count} invalid row(s) skipped" if reading.error_count else ""
    console().print(f"{csv_path.name}: {added} added, {updated} updated{dup}{skipped}")


@subscribers.command("list")
@click.option(
    "--status",
    type=click.Choice([s.value for s in SubscriberStatus]),
    default=None,
    help="Only subscribers with this status.",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON array on stdout.")
@config_option
@store_db_option
@handle_errors
def list_(status: str | None, as_json: bool, config_path: Path | None, db: str | None) -> None:
    """List subscribers (all, or those with one status), sorted by address; for those who left
    or were taken off the list, why (a bounce's reply, a complaint, an unsubscribe link)."""
    used = setup(config_path, db, store_only=True)
    with used.open(announce=not as_json, read_only=True) as store:
        subs = [x for x in store.subscribers() if status is None or x.status.value == status]
        why = store.suppression_reasons(x.email for x in subs if not x.active)
    if as_json:
        rows = [
            {
                "email": x.email,
                "name": x.name,
                "status": x.status.value,
                "timezone": x.timezone,
                "topics": sorted(x.topics),
                "why": why.get(x.email),
            }
            for x in subs
        ]
        click.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    for x in subs:
        topics = ",".join(sorted(x.topics)) or "-"
        reason = f"\t{why[x.email]}" if x.email in why else ""
        click.echo(f"{x.email}\t{x.status.value}\t{x.name or '-'}\t{x.timezone or '-'}\t{topics}{reason}")
    console().print(f"{len(subs)} subscriber(s)")


@subscribers.command("unsubscribe")
@click.argument("email")
@config_option
@store_db_option
@handle_errors
def unsubscribe(email: str, config_path: Path | None, db: str | None) -> None:
    """Mark EMAIL unsubscribed: it gets nothing more, and no import brings it back."""
    address = _address(email)
    used = setup(config_path, db, store_only=True)
    with used.open() as store:
        why = "unsubscribed by an editor (digest subscribers unsubscribe)"
        if not store.set_subscriber_status(address, SubscriberStatus.UNSUBSCRIBED, why=why):
            raise InputError(f"{address}: not a subscriber")
    console().print(f"{escape(address)}: unsubscribed")


@subscribers.command("reactivate")
@click.argument("email")
@click.option("--by", "actor", default="cli", show_default=True, help="Who decided (kept with the change).")
@config_option
@store_db_option
@handle_errors
def reactivate(email: str, actor: str, config_path: Path | None, db: str | None) -> None:
    """Put EMAIL back on the list after a bounce or a complaint (an editor's decision: the
    mailbox works again, the complaint was a mistake). Its count of bounces starts again.
    Someone who unsubscribed by their own hand is not put back: only they may subscribe again."""
    address = _address(email)
    used = setup(config_path, db, store_only=True)
    with used.open() as store:
        was = store.reactivate(address, actor=actor)
        if was is None:
            found = store.subscriber(address)
            if found is None:
                raise InputError(f"{address}: not a subscriber")
            raise InputError(
                f"{address}: {found.status.value}, not taken off the list by a bounce or a complaint"
            )
    console().print(f"{escape(address)}: active again (was: {escape(was)})")


def _address(email: str) -> str:
    """EMAIL as the store keeps it; a one-line error when it is no address."""
    try:
        return normalize_email(email)
    except ValueError as exc:
        raise InputError(f"{email!r}: {exc}") from exc
