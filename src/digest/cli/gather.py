"""``digest gather``: fetch the feeds and store what is new, without condensing or sending."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import click
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from ..errors import UsageError
from ..gather import FeedOutcome, GatherResult, group_stories
from ..gather import gather as gather_feeds
from ..models import FeedSpec, FeedState
from .common import config_option, console, handle_errors, setup, store_db_option


@click.command()
@config_option
@click.option(
    "--feed",
    "feed_urls",
    multiple=True,
    metavar="URL",
    help="A feed URL or local file to gather (repeatable). Replaces the config's feeds.",
)
@store_db_option
@click.option("--json", "as_json", is_flag=True, help="Print the outcome and the new entries as JSON.")
@handle_errors
def gather(config_path: Path | None, feed_urls: tuple[str, ...], db: str | None, as_json: bool) -> None:
    """Fetch every feed, store the entries not seen before, and group them into stories.

    Every new entry is stored, however old (the recency window applies when an edition
    selects its stories). Nothing is condensed or sent. Exit code 1 when any feed failed,
    2 for bad usage or configuration.
    """
    used = setup(config_path, db, store_only=True)
    s = used.settings
    feeds = [FeedSpec(url=u, name=u) for u in feed_urls] if feed_urls else list(s.feed_specs)
    if not feeds:
        raise UsageError("no feeds: name some in the config ([[feeds]] url = ...) or with --feed URL")
    now = datetime.now(UTC)
    out = console()
    with used.open(announce=not as_json) as store:
        states = store.feed_states(f.url for f in feeds)
        with _progress(out, len(feeds), enabled=not as_json) as advance:
            run = gather_feeds(
                feeds, config=s.gather, states=states, seen=store.seen_ids, now=now, progress=advance
            )
            result = asyncio.run(run)
        store.add_articles(result.articles, now=now)
        store.save_feed_states(result.states, names={o.url: o.name for o in result.outcomes})
    if as_json:
        click.echo(json.dumps(_as_json(result), ensure_ascii=False, indent=2))
    else:
        stories = group_stories(result.articles, threshold=s.gather.group_threshold)
        _print_summary(out, result, stories=len(stories))
    raise SystemExit(1 if result.failed else 0)


@contextmanager
def _progress(out: Console, total: int, *, enabled: bool) -> Iterator[Callable[[FeedOutcome], None]]:
    """A rich progress bar over the feeds, on stderr; a no-op when disabled."""
    if not enabled:
        yield lambda _outcome: None
        return
    columns = (TextColumn("Gathering feeds"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=out) as bars:
        task = bars.add_task("gather", total=total)
        yield lambda _outcome: bars.advance(task)


def _as_json(result: GatherResult) -> dict[str, object]:
    return {
        "feeds": [
            {"url": o.url, "status": o.status, "entries": o.entries, "new": o.new, "error": o.error}
            for o in result.outcomes
        ],
        "entries": [
            {
                "id": a.id,
                "feed": a.feed_url,
                "title": a.title,
                "link": a.link,
                "published": a.published.isoformat(),
                "html": a.html,
            }
            for a in result.articles
        ],
    }


def _health(state: FeedState) -> str:
    if state.failures:
        return f"{state.failures} failure{'s' if state.failures > 1 else ''} in a row"
    if state.last_success:
        return f"ok since {state.last_success:%Y-%m-%d %H:%M} UTC"
    return "-"


def _print_summary(out: Console, result: GatherResult, *, stories: int) -> None:
    table = Table(show_header=True, header_style="bold", box=None, pad_edge=False)
    for col, justify in (("feed", "left"), ("status", "left"), ("entries", "right"), ("new", "right")):
        table.add_column(col, justify=justify)  # type: ignore[arg-type]
    table.add_column("health")
    colour = {"ok": "green", "not_modified": "cyan", "error": "red"}
    for o, state in zip(result.outcomes, result.states, strict=True):
        status = f"[{colour[o.status]}]{o.status.replace('_', ' ')}[/]"
        table.add_row(escape(o.name), status, str(o.entries), str(o.new), _health(state))
    out.print(table)
    for o in result.outcomes:
        if o.error:
            out.print(f"  [red]failed[/red] {escape(o.url)}: {escape(o.error)}")
        for w in o.warnings:
            out.print(f"  [yellow]warning[/yellow] {escape(o.url)}: {escape(w)}")
    failed = sum(o.status == "error" for o in result.outcomes)
    out.print(
        f"{len(result.outcomes)} feeds ({failed} failed), {len(result.articles)} new entries, "
        f"{stories} stories among them"
    )
