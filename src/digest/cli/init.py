"""``digest init [DIR]``: scaffold a new newsletter that runs at once, offline.

The files are package data (``scaffold/``): a commented ``digest.toml``, a
``subscribers.csv`` with one example reader, a ``templates/`` folder with one override
example, and a local example feed. The feed is dated when it is written, so that the first
``digest run`` finds its stories inside the edition's window and sends something to look at.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from importlib import resources
from pathlib import Path
from string import Template

import click

from ..errors import UsageError
from .common import console, handle_errors, shown_path

# what is written, relative to DIR; every file is a file of scaffold/ of the same name
FILES = (
    "digest.toml",
    "subscribers.csv",
    "feeds/example.xml",
    "templates/greeting.txt",
    "templates/README.md",
)
DATED = "feeds/example.xml"  # a string.Template filled with the time of writing


def scaffold_text(name: str, now: datetime) -> str:
    """The text of one scaffold file; the example feed dated ``now`` (its items a few minutes
    apart, latest first, as feeds list them)."""
    text = resources.files(__package__).joinpath("scaffold", name).read_text(encoding="utf-8")
    if name != DATED:
        return text
    stamps = [format_datetime(now - timedelta(minutes=m)) for m in (0, 0, 10, 20)]
    fill = dict(zip(("built", "first", "second", "third"), stamps, strict=True))
    return Template(text).substitute(fill, stamp=now.strftime("%Y%m%d%H%M%S"))


def _existing(folder: Path) -> list[Path]:
    return [folder / name for name in FILES if (folder / name).exists()]


@click.command()
@click.argument("folder", metavar="[DIR]", default=".", type=click.Path(file_okay=False, path_type=Path))
@click.option("--force", is_flag=True, help="Overwrite files that already exist.")
@handle_errors
def init(folder: Path, force: bool) -> None:
    """Start a new newsletter in DIR (default: the current folder).

    \b
    Writes:
      digest.toml          the settings, commented: add your [[feeds]] there
      subscribers.csv      the readers (a header and one example row)
      templates/           your template overrides (greeting.txt is an example)
      feeds/example.xml    a local example feed, so that `digest run` works at once, offline

    Then `digest run` in DIR writes the first edition into DIR/outbox/ (one .eml per
    reader). Existing files are never overwritten unless --force is given (exit code 2,
    naming them).
    """
    existing = _existing(folder)
    if existing and not force:
        names = ", ".join(shown_path(p) for p in existing)
        raise UsageError(f"{names}: already there; pass --force to overwrite (or pick another DIR)")
    now = datetime.now(UTC)
    for name in FILES:
        target = folder / name
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(scaffold_text(name, now), encoding="utf-8")
        except OSError as exc:
            raise UsageError(f"{shown_path(target)}: cannot write: {exc.strerror or exc}") from exc
    _next_steps(folder)


def _next_steps(folder: Path) -> None:
    where = shown_path(folder)
    out = console(stderr=False)
    out.print(f"A new newsletter in {'this folder' if where == '.' else where + '/'}:", markup=False)
    for line in (
        "  digest.toml         the settings: add your [[feeds]], set title, sender, timezone",
        "  subscribers.csv     the readers",
        "  templates/          your template overrides (greeting.txt is an example)",
        "  feeds/example.xml   a local example feed, so the first run works offline",
        "Next:",
        *([f"  cd {where}"] if where != "." else []),
        "  digest run          gather, condense and write the first edition into outbox/",
        "  digest status       what was sent, and the feeds' health",
        "  digest serve        the editors' desk, at http://127.0.0.1:8025/",
    ):
        out.print(line, markup=False)
