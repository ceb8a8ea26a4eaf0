"""``digest edition``: let an editor see and correct an edition before it goes out."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import click

from ..errors import InputError
from ..models import Edition
from ..pipeline import edition_day
from ..serialize import edition_from_dict, edition_to_dict
from ..store import Store, open_store
from .common import config_option, console, db_option, handle_errors, settings, store_url
from .run import day_option


@click.group()
def edition() -> None:
    """Show, export and correct the edition of a day before it is sent.

    \b
    The editor's loop:
      digest preview                       build today's edition and look at it
      digest edition export -o today.json  write it as JSON; edit headlines, summaries, key points,
                                           reorder or delete stories
      digest edition import today.json     record the corrected edition (refused once any copy is sent)
      digest preview                       look again, then `digest run` sends exactly that
    """


def _recorded(store: Store, day_id: str) -> Edition:
    found = store.edition(day_id)
    if found is None:
        raise InputError(f"no edition on record for {day_id}: run `digest preview` or `digest run` first")
    return found


@edition.command()
@config_option
@db_option
@day_option
@click.option("--json", "as_json", is_flag=True, help="Print the edition as JSON.")
@handle_errors
def show(config_path: Path | None, db: str | None, day: datetime | None, as_json: bool) -> None:
    """Print the edition on record for a day (default: today)."""
    s = settings(config_path)
    day_id = (day.date() if day else edition_day(datetime.now(UTC), s)).isoformat()
    with open_store(store_url(s, db)) as store:
        ed = _recorded(store, day_id)
        counts = store.delivery_counts(day_id)
    if as_json:
        click.echo(json.dumps(edition_to_dict(ed), indent=2, ensure_ascii=False))
        return
    out = console(stderr=False)
    out.print(
        f"[bold]{ed.title}[/bold], edition {ed.id}: {len(ed.stories)} stories; deliveries: {counts or 'none'}"
    )
    for i, st in enumerate(ed.stories, 1):
        c = st.condensed
        sources = ", ".join(a.feed_name for a in st.story.articles)
        out.print(f"\n[bold]{i}. {c.headline}[/bold]  [dim]({st.topic or 'no topic'}; {sources})[/dim]")
        out.print(f"   {c.summary}")
        for k in c.key_points:
            out.print(f"   • {k.text}")


@edition.command("export")
@config_option
@db_option
@day_option
@click.option("--out", "-o", type=click.Path(dir_okay=False, path_type=Path), help="File (default: stdout).")
@handle_errors
def export_(config_path: Path | None, db: str | None, day: datetime | None, out: Path | None) -> None:
    """Write the edition on record as editable JSON."""
    s = settings(config_path)
    day_id = (day.date() if day else edition_day(datetime.now(UTC), s)).isoformat()
    with open_store(store_url(s, db)) as store:
        data = json.dumps(edition_to_dict(_recorded(store, day_id)), indent=2, ensure_ascii=False) + "\n"
    if out:
        out.write_text(data, encoding="utf-8")
        click.echo(str(out))
    else:
        click.echo(data, nl=False)


@edition.command("import")
@click.argument("file", type=click.Path(dir_okay=False, exists=True, path_type=Path))
@config_option
@db_option
@handle_errors
def import_(file: Path, config_path: Path | None, db: str | None) -> None:
    """Record a corrected edition from JSON (as written by `export`).

    Refused when any subscriber already has this edition, so that every reader gets the same one.
    """
    s = settings(config_path)
    ed = _parse(file)
    with open_store(store_url(s, db)) as store:
        sent = store.delivery_counts(ed.id).get("sent", 0)
        if sent:
            raise InputError(f"{file}: edition {ed.id} was already sent to {sent} subscribers; not replaced")
        store.save_edition(ed, replace=True)
    console().print(f"Edition {ed.id} recorded: {len(ed.stories)} stories.")


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
    for i, st in enumerate(ed.stories):
        c = st.condensed
        if not c.headline.strip() or not c.summary.strip():
            raise InputError(f"{file}: stories[{i}]: headline and summary must not be empty")
        if any(not 0 <= k.source < len(st.story.articles) for k in c.key_points):
            raise InputError(f"{file}: stories[{i}]: a key point's source is not one of the story's articles")
    return ed
