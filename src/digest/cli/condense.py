"""``digest condense``: condense one article, or a JSON-lines batch of them."""

from __future__ import annotations

import json
import multiprocessing
import os
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import click

from ..errors import CondenseError, InputError, UsageError
from .common import handle_errors


def _decode(data: bytes, name: str) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        import chardet

        guess = chardet.detect(data[:100_000]).get("encoding") or "latin-1"
        try:
            return data.decode(guess, errors="replace")
        except LookupError as exc:
            raise InputError(f"{name}: not text in a known encoding") from exc


def _read(path: str) -> str:
    if path == "-":
        return _decode(sys.stdin.buffer.read(), "(stdin)")
    try:
        return _decode(Path(path).read_bytes(), path)
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc.strerror or exc}") from exc


def _print_readable(condensed: dict[str, Any]) -> None:
    click.secho(condensed["headline"], bold=True)
    click.echo()
    click.echo(condensed["summary"])
    click.echo()
    for point in condensed["key_points"]:
        click.echo(f"  • {point}")


def _batch_line(raw: str, where: str) -> tuple[dict[str, Any], str | None]:
    """One output record for one input line, and the error when the line was bad."""
    from ..condense import condense_text

    record: dict[str, Any] = {"id": None, "headline": "", "summary": "", "key_points": []}
    try:
        item = json.loads(raw)
    except ValueError as exc:
        return record, f"{where}: not JSON: {exc.args[0] if exc.args else exc}"
    if not isinstance(item, dict):
        return record, f"{where}: not a JSON object"
    record["id"] = item.get("id")
    text, title = item.get("text"), item.get("title")
    if not isinstance(text, str) or not (title is None or isinstance(title, str)):
        return record, f"{where}: 'text' must be a string (and 'title' a string when given)"
    try:
        condensed = condense_text(text, title=title)
    except CondenseError as exc:
        return record, f"{where}: {exc}"
    record.update(condensed.as_json())
    return record, None


#: Below this many lines a batch runs in this process: starting workers would cost more.
PARALLEL_MIN_LINES = 64


def _line_job(job: tuple[str, str]) -> tuple[dict[str, Any], str | None]:
    return _batch_line(*job)


def _jobs(requested: int | None) -> int:
    if requested is not None:
        return requested
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return min(cores, 8)


def _results(jobs: list[tuple[str, str]], workers: int) -> Iterator[tuple[dict[str, Any], str | None]]:
    """Each line's result, in input order; in worker processes for a large batch."""
    if workers <= 1 or len(jobs) < PARALLEL_MIN_LINES:
        yield from map(_line_job, jobs)
        return
    # fork is cheap, and safe while this process runs no other thread; else the platform's default
    forkable = "fork" in multiprocessing.get_all_start_methods() and threading.active_count() == 1
    method = "fork" if forkable else None
    with multiprocessing.get_context(method).Pool(workers) as pool:
        yield from pool.imap(_line_job, jobs, chunksize=8)


def _run_batch(path: str, out: IO[str], workers: int) -> int:
    """Condense every line of a JSON-lines file; returns how many lines were bad."""
    name = "(stdin)" if path == "-" else path
    text = _read(path)
    jobs = [(raw, f"{name}:{n}") for n, raw in enumerate(text.splitlines(), start=1) if raw.strip()]
    bad = 0
    for record, error in _results(jobs, workers):
        if error:
            bad += 1
            click.echo(f"digest: warning: {error}", err=True)
        out.write(json.dumps(record, ensure_ascii=False) + "\n")
    return bad


@click.command()
@click.argument("file", required=False)
@click.option("--json", "as_json", is_flag=True, help="Print {headline, summary, key_points} as JSON.")
@click.option("--title", default=None, help="The article's title (else taken from the text or the HTML).")
@click.option(
    "--batch",
    "batch",
    metavar="IN.jsonl",
    default=None,
    help='Condense each line {"id", "text"[, "title"]} of a JSON-lines file ("-" for stdin).',
)
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="With --batch: write the output lines here instead of stdout.",
)
@click.option(
    "--jobs",
    "-j",
    type=click.IntRange(1, 64),
    default=None,
    help="With --batch: worker processes (default: one per core; 1 runs in this process).",
)
@handle_errors
def condense(
    file: str | None, as_json: bool, title: str | None, batch: str | None, out: Path | None, jobs: int | None
) -> None:
    """Condense one article (a text or HTML FILE, or - for stdin) into a headline, a summary
    and key points; or, with --batch, every article of a JSON-lines file.

    \b
    Batch output: one line {"id", "headline", "summary", "key_points"} per input line, in
    input order. A bad line is reported on stderr with its line number and gets an output
    line with empty fields; the batch goes on and exits with 1. Large batches are spread
    over one worker process per core (--jobs).
    """
    if batch is not None:
        if file is not None:
            raise UsageError("give either FILE or --batch, not both")
        workers = _jobs(jobs)
        if out is None:
            bad = _run_batch(batch, sys.stdout, workers)
        else:
            try:
                with out.open("w", encoding="utf-8") as fh:
                    bad = _run_batch(batch, fh, workers)
            except OSError as exc:
                raise InputError(f"{out}: cannot write: {exc.strerror or exc}") from exc
        if bad:
            sys.exit(1)
        return
    if file is None:
        raise UsageError("give a FILE to condense (or - for stdin), or --batch IN.jsonl")
    from ..condense import condense_text

    text = _read(file)
    try:
        condensed = condense_text(text, title=title)
    except CondenseError as exc:
        raise InputError(f"{'(stdin)' if file == '-' else file}: {exc}") from exc
    if as_json:
        click.echo(json.dumps(condensed.as_json(), ensure_ascii=False, indent=2))
    else:
        _print_readable(condensed.as_json())
