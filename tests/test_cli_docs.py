"""Every command explains itself, the README and docs mention every command, and the README's
examples (with the make targets they name) work as written, in a copy of the checkout."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
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


# -- the README's examples, run as written ------------------------------------------------------

SERVE = "digest serve"  # runs until stopped: started, seen ready, stopped with Ctrl-C


def sh_blocks(markdown: str) -> list[list[str]]:
    """The command lines of each ```sh block, without comments."""
    blocks = re.findall(r"^```sh\n(.*?)^```", markdown, re.MULTILINE | re.DOTALL)
    return [[line.split("  #")[0].strip() for line in b.splitlines() if line.strip()] for b in blocks]


def make_recipe(makefile: str, target: str) -> list[str]:
    """The recipe of a Makefile target, each line as the shell gets it."""
    found = re.search(rf"^{target}:.*\n((?:\t.*\n)+)", makefile, re.MULTILINE)
    assert found, f"no target {target!r} in the Makefile"
    lines, joined = [], ""
    for raw in found.group(1).splitlines():
        joined += raw.strip().lstrip("@").rstrip("\\")
        if not raw.endswith("\\"):
            lines.append(joined.strip())
            joined = ""
    return [line.replace("$(BIN)", ".venv/bin") for line in lines]


@pytest.fixture
def checkout(tmp_path: Path, repo_root: Path) -> tuple[Path, dict[str, str]]:
    """A copy of what the README's examples use, with ``.venv/bin/digest`` (and ``digest`` on
    PATH after ``. .venv/bin/activate``) running this digest."""
    root = tmp_path / "clone"
    root.mkdir()
    shutil.copytree(repo_root / "examples", root / "examples")
    for name in ("subscribers.example.csv", "Makefile", "README.md"):
        shutil.copy(repo_root / name, root / name)
    bin_dir = root / ".venv" / "bin"
    bin_dir.mkdir(parents=True)
    shim = bin_dir / "digest"
    shim.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m digest "$@"\n', encoding="utf-8")
    shim.chmod(0o755)
    (bin_dir / "activate").write_text("", encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if k not in ("DIGEST_CONFIG", "DIGEST_DESK_TOKEN")}
    env["PATH"] = f"{bin_dir}{os.pathsep}{env.get('PATH', '')}"
    return root, env


def run_line(line: str, cwd: Path, env: dict[str, str]) -> None:
    """One command line of the README (or of a make recipe it names)."""
    if SERVE in line:
        line += " --port 0"  # 8025 may be taken on a shared machine
        proc = subprocess.Popen(
            ["sh", "-c", f"exec {line}"],
            cwd=cwd,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        assert proc.stdout is not None
        seen = ""
        deadline = time.monotonic() + 60
        while "desk on http://" not in seen and time.monotonic() < deadline:
            chunk = proc.stdout.readline()
            if not chunk:
                break
            seen += chunk
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=30)
        proc.stdout.close()
        assert "desk on http://" in seen, f"{line}: {seen}"
        return
    done = subprocess.run(["sh", "-c", line], cwd=cwd, env=env, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, f"{line} (in {cwd}) exited {done.returncode}: {done.stderr}"


@pytest.mark.slow
def test_the_readme_examples_work_as_written(checkout: tuple[Path, dict[str, str]]) -> None:
    root, env = checkout
    makefile = (root / "Makefile").read_text(encoding="utf-8")
    ran = []
    for block in sh_blocks((root / "README.md").read_text(encoding="utf-8")):
        cwd = root  # each block starts in the clone, as the README's reader does
        for line in block:
            if line == "make test" or line.startswith(". .venv/bin/activate"):
                continue
            if line.startswith("cd "):
                cwd = cwd / line[3:].strip()
                continue
            commands = make_recipe(makefile, line.split()[1]) if line.startswith("make ") else [line]
            for command in commands:
                run_line(command, cwd, env)
                ran.append(command)
    assert any("digest status --config examples/digest.toml" in c for c in ran)
    assert any(c.startswith("digest init") for c in ran)
    assert any("digest serve" in c for c in ran)  # make desk's
    assert list((root / "outbox").glob("*.eml")), "make demo wrote no email"
    assert list((root / "mynews" / "outbox").glob("*.eml")), "digest run in the new folder sent nothing"
