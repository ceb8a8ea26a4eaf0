"""Progress bars and the readable end-of-run summary (on stderr; stdout stays for data)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table

from ..gather import FeedOutcome
from ..pipeline import Progress as PipelineProgress
from ..pipeline import RunSummary
from ..store.review import EditionReview

_LABELS = {"gather": "Gathering feeds", "condense": "Condensing stories", "deliver": "Delivering"}


@contextmanager
def progress_bars(console: Console, *, enabled: bool = True) -> Iterator[PipelineProgress]:
    """Pipeline callbacks that drive one rich progress bar per stage."""
    if not enabled:
        yield PipelineProgress()
        return
    bars = Progress(
        TextColumn("{task.description:<20}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    )
    current: list[TaskID] = []

    def stage(name: str, total: int) -> None:
        current.append(bars.add_task(_LABELS.get(name, name), total=total or None))

    def advance() -> None:
        if current:
            bars.advance(current[-1])

    def feed_done(_outcome: FeedOutcome) -> None:
        advance()

    with bars:
        yield PipelineProgress(feed_done=feed_done, stage=stage, advance=advance)


def print_summary(console: Console, summary: RunSummary) -> None:
    """A short, readable account of the run."""
    console.print(f"[bold]Edition {summary.edition_id}[/bold]")
    failed = [f for f in summary.feeds if f.status == "error"]
    console.print(
        f"  feeds: {len(summary.feeds)} ({len(summary.feeds) - len(failed)} ok, {len(failed)} failed); "
        f"new articles: {summary.new_articles}; stories: {summary.stories}"
        + (" (edition already on record)" if summary.reused_edition else "")
    )
    for f in failed:
        runs = summary.feed_failures.get(f.url, 1)
        streak = f" (failing for {runs} runs in a row)" if runs > 1 else ""
        console.print(f"  [red]feed failed[/red] {escape(f.url)}: {escape(f.error or '')}{streak}")
    if summary.full_text_abandoned:
        console.print(
            f"  [yellow]{summary.full_text_abandoned} full-text fetches abandoned at the gather deadline;"
            " snippets used[/yellow]"
        )
    for w in summary.warnings:
        console.print(f"  [yellow]warning[/yellow] {escape(w)}")
    for e in summary.render_failed:
        console.print(f"  [red]not sent[/red] {escape(e)}")
    if summary.subscribers_csv == "unchanged":
        console.print("  subscribers CSV unchanged since it was last merged: not read again", style="dim")
    for e in summary.subscriber_errors:
        console.print(f"  [yellow]subscriber skipped[/yellow] {escape(e)}")
    fallbacks = summary.condense.get("fallbacks") if summary.condense else None
    if fallbacks:
        console.print(f"  [yellow]LLM fell back to extractive[/yellow]: {escape(str(fallbacks))}")
    d = summary.delivery
    if summary.held:
        console.print(
            "  [yellow]held[/yellow]: approval is required and this edition is not approved; nothing sent."
            " Approve it in the desk (`digest serve`) or with `digest edition approve`: it goes out then."
        )
    elif summary.stories == 0:
        console.print("  nothing to send: no stories in the window")
    elif d is None:
        console.print(
            f"  nothing to send: all {summary.subscribers_active} active subscribers"
            " already have this edition"
        )
    else:
        table = Table(show_header=True, header_style="bold", box=None, pad_edge=False)
        for col in ("sent", "retried", "failed", "already sent", "skipped (no topics)"):
            table.add_column(col, justify="right")
        table.add_row(
            str(d.sent), str(d.retried), str(d.failed), str(summary.already_sent), str(summary.skipped_empty)
        )
        console.print(table)
        for reason, n in d.failures_by_reason.items():
            console.print(f"  [red]failed[/red] {n} × {escape(reason)}")
        if d.aborted:
            console.print(
                f"  [red]sending stopped[/red]: {escape(d.aborted)}; the rest wait for the next run"
            )
    if summary.stopped:
        console.print("  [yellow]stopped on request[/yellow]: the rest wait for the next run")
    if summary.destination and d is not None:
        console.print(f"  delivered via {escape(summary.destination)}")


def counts_in_words(counts: Mapping[str, int]) -> str:
    """Delivery counts as people say them: ``5 sent, 1 failed`` (``none`` when there are none)."""
    return ", ".join(f"{n} {state}" for state, n in sorted(counts.items())) or "none"


def _when(t: datetime | None) -> str:
    return t.strftime("%Y-%m-%d %H:%M %Z") if t else ""


def review_line(r: EditionReview) -> str:
    """Where an edition stands, in one line: revision, approval, hold, seal."""
    parts = [f"revision {r.revision}"]
    if r.updated_by:
        parts.append(f"last changed by {escape(r.updated_by)} at {_when(r.updated)}")
    if r.sealed_at:
        parts.append(f"sending started {_when(r.sealed_at)}: final")
    elif r.approved:
        parts.append(f"approved by {escape(r.approved_by or '')} at {_when(r.approved_at)}")
    elif r.held_at:
        parts.append(f"[yellow]held since {_when(r.held_at)}: awaiting approval[/yellow]")
    else:
        parts.append("draft, not approved")
    return "  " + "; ".join(parts)
