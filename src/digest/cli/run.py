"""``digest run`` and ``digest preview``."""

from __future__ import annotations

import asyncio
from datetime import datetime
from pathlib import Path

import click

from ..pipeline import preview_edition, run_edition
from .common import (
    config_option,
    console,
    db_option,
    handle_errors,
    run_context,
    setup,
    stop_signals,
    subscribers_option,
    transport_option,
)
from .display import print_summary, progress_bars

day_option = click.option(
    "--date",
    "day",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    default=None,
    help="Edition day (YYYY-MM-DD). Default: today in the configured timezone.",
)


@click.command()
@config_option
@transport_option
@subscribers_option
@db_option
@day_option
@click.option("--quiet", "-q", is_flag=True, help="No progress bars or summary; errors only.")
@handle_errors
def run(
    config_path: Path | None,
    transport: str | None,
    subscribers: Path | None,
    db: str | None,
    day: datetime | None,
    quiet: bool,
) -> None:
    """Gather, condense, render and deliver today's edition.

    Sends only to active subscribers who have not yet received this edition: running it
    again for the same day sends nothing more. Exit codes: 0 all delivered, 1 some feeds or
    deliveries failed, 2 bad usage or configuration.
    """
    used = setup(config_path, db)
    out = console()
    with (
        used.open(announce=not quiet) as store,
        progress_bars(out, enabled=not quiet) as progress,
        stop_signals() as stop,
    ):
        ctx = run_context(used, store, transport=transport, progress=progress, stop=stop)
        summary = asyncio.run(run_edition(ctx, day=day.date() if day else None, subscribers_csv=subscribers))
    if not quiet:
        print_summary(out, summary)
    raise SystemExit(summary.exit_code)


@click.command()
@config_option
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("preview"),
    show_default=True,
    help="Folder for the preview files.",
)
@click.option("--email", "email", help="Preview as this subscriber (default: the first active one).")
@db_option
@day_option
@handle_errors
def preview(
    config_path: Path | None, out: Path, email: str | None, db: str | None, day: datetime | None
) -> None:
    """Write the current edition as HTML, plain text and .eml for one subscriber; print their paths.

    Nothing is sent. The edition is recorded, so what you preview is what `digest run` sends.
    """
    used = setup(config_path, db)
    err = console()
    with used.open() as store, progress_bars(err) as progress:
        subscriber = None
        if email:
            subscriber = next((x for x in store.subscribers() if x.email == email.strip().lower()), None)
            if subscriber is None:
                raise click.UsageError(f"--email {email}: no such subscriber in the store")
        ctx = run_context(used, store, progress=progress)
        edition, sub, rendered = asyncio.run(
            preview_edition(ctx, day=day.date() if day else None, subscriber=subscriber)
        )
    if rendered is None:
        err.print(f"Edition {edition.id} has no stories in the window: nothing to preview.")
        raise SystemExit(1)
    out.mkdir(parents=True, exist_ok=True)
    stem = f"edition-{edition.id}"
    paths = {
        "html": out / f"{stem}.html",
        "text": out / f"{stem}.txt",
        "eml": out / f"{stem}.eml",
    }
    paths["html"].write_text(rendered.html, encoding="utf-8")
    paths["text"].write_text(rendered.text, encoding="utf-8")
    paths["eml"].write_bytes(rendered.message.data)
    err.print(
        f"Edition {edition.id}: {len(edition.stories)} stories, as {sub.email}; subject: {rendered.subject}",
        markup=False,
    )
    for p in paths.values():
        click.echo(str(p))
