"""Every command explains itself, and the README and docs mention every command."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from digest.cli import main


def commands(group: click.Group, prefix: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    ctx = click.Context(group)
    for name in group.list_commands(ctx):
        cmd = group.get_command(ctx, name)
        assert cmd is not None
        path = (*prefix, name)
        yield path
        if isinstance(cmd, click.Group):
            yield from commands(cmd, path)


ALL = sorted(commands(main))


def test_the_documented_commands_exist() -> None:
    names = {" ".join(c) for c in ALL}
    for wanted in ("run", "preview", "condense", "gather", "status", "schedule", "subscribers import"):
        assert wanted in names


@pytest.mark.parametrize("path", ALL, ids=[" ".join(p) for p in ALL])
def test_every_command_has_help(path: tuple[str, ...]) -> None:
    result = CliRunner().invoke(main, [*path, "--help"])
    assert result.exit_code == 0, result.output
    body = result.output.split("Options:")[0]
    assert len(body.split()) > 8, f"digest {' '.join(path)} --help explains too little"


@pytest.mark.parametrize("path", [p for p in ALL if len(p) == 1], ids=[p[0] for p in ALL if len(p) == 1])
def test_every_top_level_command_is_in_the_readme(path: tuple[str, ...], repo_root: Path) -> None:
    assert f"digest {path[0]}" in (repo_root / "README.md").read_text(encoding="utf-8")


def test_unknown_option_is_usage_error() -> None:
    result = CliRunner().invoke(main, ["run", "--no-such-flag"])
    assert result.exit_code == 2
