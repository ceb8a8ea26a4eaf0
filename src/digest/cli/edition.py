"""``digest edition``: let an editor see and correct an edition before it goes out."""

from __future__ import annotations

import asyncio
import json
import sys
from datetime import UTC, datetime
from pathlib import Path

import click
from rich.markup import escape

from ..errors import InputError
from ..models import Edition
from ..pipeline import approve_edition, prepare_edition
from ..schedule.cron import review_day
from ..serialize import edition_from_dict, edition_to_dict
from ..store import Store
from .common import (
    config_option,
    console,
    db_option,
    handle_errors,
    run_context,
    setup,
    store_db_option,
    subscribers_option,
    transport_option,
)
from .display import counts_in_words, print_summary, progress_bars, review_line
from .run import day_option


@click.group()
def edition() -> None:
    """Show, export and correct the edition of a day before it is sent.

    \b
    The editor's loop:
      digest edition prepare               build today's edition as a draft (sends nothing)
      digest preview                       build today's edition and look at it
      digest edition export -o today.json  write it as JSON; edit headlines, summaries, key points,
                                           reorder or delete stories
      digest edition import today.json     record the corrected edition (refused once any copy is sent)
      digest preview                       look again, then `digest run` sends exactly that
      digest edition approve               with approval = "required": let it go out

    `digest serve` offers the same in a browser (the desk).
    """


def _recorded(store: Store, day_id: str) -> Edition:
    found = store.edition(day_id)
    if found is None:
        raise InputError(f"no edition on record for {day_id}: run `digest preview` or `digest run` first")
    return found


@edition.command()
@config_option
@store_db_option
@day_option
@click.option("--json", "as_json", is_flag=True, help="Print the edition as JSON.")
@handle_errors
def show(config_path: Path | None, db: str | None, day: datetime | None, as_json: bool) -> None:
    """Print the edition on record for a day (default: today)."""
    used = setup(config_path, db, store_only=True)
    day_id = (day.date() if day else review_day(used.settings, datetime.now(UTC))).isoformat()
    with used.open(announce=not as_json, read_only=True) as store:
        ed = _recorded(store, day_id)
        counts = store.delivery_counts(day_id)
        review = store.edition_review(day_id)
    if as_json:
        click.echo(json.dumps(edition_to_dict(ed), indent=2, ensure_ascii=False))
        return
    out = console(stderr=False)
    out.print(
        f"[bold]{escape(ed.title)}[/bold], edition {ed.id}: {len(ed.stories)} stories;"
        f" deliveries: {counts_in_words(counts)}"
    )
    if review is not None:
        out.print(review_line(review))
    for i, st in enumerate(ed.stories, 1):
        c = st.condensed
        sources = ", ".join(a.feed_name for a in st.story.articles)
        topic = escape(st.topic or "no topic")
        out.print(f"\n[bold]{i}. {escape(c.headline)}[/bold]  [dim]({topic}; {escape(sources)})[/dim]")
        out.print(f"   {escape(c.summary)}")
        for k in c.key_points:
            out.print(f"   • {escape(k.text)}")


@edition.command()
@config_option
@subscribers_option
@db_option
@day_option
@handle_errors
def prepare(config_path: Path | None, subscribers: Path | None, db: str | None, day: datetime | None) -> None:
    """Gather and condense the edition of a day (default: the one editors work on now) and
    record it as a draft for review; send nothing.

    What `digest schedule` does `review` before the send time, and the desk's Prepare
    button. An edition already on record is left as it is (editors may have corrected it).
    Exit code 1 when a feed failed.
    """
    used = setup(config_path, db)
    now = datetime.now(UTC)
    the_day = day.date() if day else review_day(used.settings, now)
    out = console()
    with used.open() as store, progress_bars(out) as progress:
        ctx = run_context(used, store, progress=progress)
        summary = asyncio.run(prepare_edition(ctx, day=the_day, subscribers_csv=subscribers))
    if summary.reused_edition:
        out.print(f"Edition {summary.edition_id} was already on record; left as it is.")
    elif not summary.stories:
        out.print(f"Edition {summary.edition_id}: no stories in the window; nothing prepared.")
    else:
        out.print(
            f"Edition {summary.edition_id} prepared for review: {summary.stories} stories from"
            f" {len(summary.feeds)} feeds ({summary.new_articles} new articles). Nothing was sent."
        )
    for f in summary.feeds:
        if f.status == "error":
            out.print(f"  feed failed {f.url}: {f.error or ''}", markup=False)
    sys.exit(summary.exit_code)


@edition.command("export")
@config_option
@store_db_option
@day_option
@click.option("--out", "-o", type=click.Path(dir_okay=False, path_type=Path), help="File (default: stdout).")
@handle_errors
def export_(config_path: Path | None, db: str | None, day: datetime | None, out: Path | None) -> None:
    """Write the edition on record as editable JSON."""
    used = setup(config_path, db, store_only=True)
    day_id = (day.date() if day else review_day(used.settings, datetime.now(UTC))).isoformat()
    with used.open(announce=out is not None, read_only=True) as store:
        data = json.dumps(edition_to_dict(_recorded(store, day_id)), indent=2, ensure_ascii=False) + "\n"
    if out:
        out.write_text(data, encoding="utf-8")
        click.echo(str(out))
    else:
        click.echo(data, nl=False)


@edition.command("import")
@click.argument("file", type=click.Path(dir_okay=False, exists=True, path_type=Path))
@config_option
@store_db_option
@handle_errors
def import_(file: Path, config_path: Path | None, db: str | None) -> None:
    """Record a corrected edition from JSON (as written by `export`).

    Refused once sending has started, so that every reader gets the same edition. A change
    withdraws an approval.
    """
    used = setup(config_path, db, store_only=True)
    ed = _parse(file)
    with used.open() as store:
        if store.edition(ed.id) is None:
            store.save_edition(ed)
            store.log_edition_event(ed.id, actor="cli", action=f"imported from {file.name}")
        else:
            store.revise_edition(ed, revision=None, actor="cli", action=f"replaced from {file.name}")
    console().print(f"Edition {ed.id} recorded: {len(ed.stories)} stories.")


@edition.command()
@config_option
@transport_option
@db_option
@day_option
@click.option("--by", "actor", default="cli", show_default=True, help="Who approves (kept in the log).")
@handle_errors
def approve(
    config_path: Path | None, transport: str | None, db: str | None, day: datetime | None, actor: str
) -> None:
    """Approve the edition of a day (default: today) as it stands now.

    With `approval = "required"` a scheduled send, or `digest run`, holds an unapproved edition.
    Approving one that is already held sends it at once; otherwise it goes out at its send
    time. Any later change withdraws the approval.
    """
    used = setup(config_path, db)
    the_day = day.date() if day else review_day(used.settings, datetime.now(UTC))
    out = console()
    with used.open() as store:
        _recorded(store, the_day.isoformat())
        ctx = run_context(used, store, transport=transport, trigger=actor)
        summary = asyncio.run(approve_edition(ctx, day=the_day, revision=None))
    if summary is None:
        out.print(f"Edition {the_day.isoformat()} approved; it goes out at its send time.")
        return
    out.print(f"Edition {the_day.isoformat()} approved; it was held, so it is sent now.")
    print_summary(out, summary)
    sys.exit(summary.exit_code)


@edition.command()
@config_option
@store_db_option
@day_option
@click.option("--by", "actor", default="cli", show_default=True, help="Who withdraws it (kept in the log).")
@handle_errors
def withdraw(config_path: Path | None, db: str | None, day: datetime | None, actor: str) -> None:
    """Withdraw the approval of a day's edition (default: today), before it is sent."""
    used = setup(config_path, db, store_only=True)
    day_id = (day.date() if day else review_day(used.settings, datetime.now(UTC))).isoformat()
    with used.open() as store:
        _recorded(store, day_id)
        store.withdraw_approval(day_id, actor=actor)
    console().print(f"Edition {day_id}: not approved.")


def _parse(file: Path) -> Edition:
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{file}: cannot read: {exc}") from exc
    except json.JSONDecodeError as exc:
        raise InputError(f"{file}:{exc.lineno}: invalid JSON: {exc.msg}") from exc
    try:
        ed = edition_from_dict(data)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise InputError(f"{file}: not an edition (missing or invalid {exc})") from exc
    if ed.id != ed.day.isoformat():
        raise InputError(f"{file}: id {ed.id!r} must be the edition's day, {ed.day.isoformat()!r}")
    for i, st in enumerate(ed.stories):
        c = st.condensed
        if not c.headline.strip() or not c.summary.strip():
            raise InputError(f"{file}: stories[{i}]: headline and summary must not be empty")
        if any(not 0 <= k.source < len(st.story.articles) for k in c.key_points):
            raise InputError(f"{file}: stories[{i}]: a key point's source is not one of the story's articles")
    return ed
