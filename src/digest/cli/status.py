"""``digest status``: recent runs, delivery counts, failed addresses, feed health."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click
from rich.table import Table

from ..store import open_store
from .common import config_option, console, db_option, handle_errors, settings, store_url


@click.command()
@config_option
@db_option
@click.option(
    "--runs", "limit", type=click.IntRange(1, 1000), default=10, show_default=True, help="How many runs."
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of tables.")
@handle_errors
def status(config_path: Path | None, db: str | None, limit: int, as_json: bool) -> None:
    """Show recent runs, what each edition delivered, failed addresses with the server's reply,
    and the health of every feed."""
    s = settings(config_path)
    with open_store(store_url(s, db)) as store:
        runs = store.recent_runs(limit)
        editions = list(dict.fromkeys(r.edition_id for r in runs))
        counts = {e: store.delivery_counts(e) for e in editions}
        failed = store.failed_deliveries(limit=100)
        feeds = store.feed_states()
    data: dict[str, Any] = {
        "runs": [
            {
                "id": r.id,
                "edition": r.edition_id,
                "started": r.started.isoformat(),
                "finished": r.finished.isoformat() if r.finished else None,
                "status": r.status,
            }
            for r in runs
        ],
        "editions": counts,
        "failed": [
            {
                "edition": f.edition_id,
                "email": f.email,
                "code": f.code,
                "reason": f.reason,
                "permanent": f.permanent,
            }
            for f in failed
        ],
        "feeds": [
            {
                "url": f.url,
                "last_success": f.last_success.isoformat() if f.last_success else None,
                "last_error": f.last_error,
                "failures": f.failures,
            }
            for f in feeds.values()
        ],
    }
    if as_json:
        click.echo(json.dumps(data, indent=2))
        return
    out = console(stderr=False)
    if not runs:
        out.print("No runs recorded yet.")
    t = Table(title="Recent runs", title_justify="left")
    for col in ("run", "edition", "started", "status", "delivered"):
        t.add_column(col)
    for r in runs:
        c = counts.get(r.edition_id, {})
        t.add_row(
            str(r.id),
            r.edition_id,
            r.started.strftime("%Y-%m-%d %H:%M:%S %Z"),
            r.status,
            ", ".join(f"{k} {v}" for k, v in sorted(c.items())) or "-",
        )
    if runs:
        out.print(t)
    if failed:
        ft = Table(title="Failed addresses", title_justify="left")
        for col in ("edition", "address", "code", "reply"):
            ft.add_column(col)
        for rec in failed:
            reply = (rec.reason or "") + (" (permanent)" if rec.permanent else "")
            ft.add_row(rec.edition_id, rec.email, str(rec.code or ""), reply)
        out.print(ft)
    if feeds:
        ht = Table(title="Feeds", title_justify="left")
        for col in ("feed", "last success", "consecutive failures", "last error"):
            ht.add_column(col)
        for f in feeds.values():
            ht.add_row(
                f.url,
                f.last_success.strftime("%Y-%m-%d %H:%M") if f.last_success else "never",
                str(f.failures),
                f.last_error or "",
            )
        out.print(ht)
