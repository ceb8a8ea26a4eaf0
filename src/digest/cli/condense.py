"""``digest condense``: condense one article, or a JSON-lines batch of them."""

from __future__ import annotations

import json
import sys
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


def _run_batch(path: str, out: IO[str]) -> int:
    """Condense every line of a JSON-lines file; returns how many lines were bad."""
    name = "(stdin)" if path == "-" else path
    text = _read(path)
    bad = 0
    for number, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip():
            continue
        record, error = _batch_line(raw, f"{name}:{number}")
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
@handle_errors
def condense(file: str | None, as_json: bool, title: str | None, batch: str | None, out: Path | None) -> None:
    """Condense one article (a text or HTML FILE, or - for stdin) into a headline, a summary
    and key points; or, with --batch, every article of a JSON-lines file.

    \b
    Batch output: one line {"id", "headline", "summary", "key_points"} per input line, in
    input order. A bad line is reported on stderr with its line number and gets an output
    line with empty fields; the batch goes on and exits with 1.
    """
    if batch is not None:
        if file is not None:
            raise UsageError("give either FILE or --batch, not both")
        if out is None:
            bad = _run_batch(batch, sys.stdout)
        else:
            try:
                with out.open("w", encoding="utf-8") as fh:
                    bad = _run_batch(batch, fh)
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
