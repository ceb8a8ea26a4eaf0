"""``make desk``: a fresh draft of the example in a scratch store (``digest edition prepare``),
and the desk over it, where an editor can try every button on an edition nobody received."""

from __future__ import annotations

import re
import shlex
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from starlette.testclient import TestClient

from digest.cli import main
from digest.config import load_config
from digest.desk import create_app
from digest.store import open_store

NO_ENV: dict[str, str | None] = {"DIGEST_CONFIG": None}


def recipe(makefile: str, target: str) -> list[list[str]]:
    found = re.search(rf"^{target}:.*\n((?:\t.*\n)+)", makefile, re.MULTILINE)
    assert found, f"no target {target!r}"
    return [shlex.split(line.strip().replace("$(BIN)/", "")) for line in found.group(1).splitlines()]


@pytest.fixture
def checkout(tmp_path: Path, repo_root: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    shutil.copytree(repo_root / "examples", tmp_path / "examples")
    shutil.copy(repo_root / "subscribers.example.csv", tmp_path)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_make_desk_prepares_a_fresh_draft_and_serves_it(checkout: Path, repo_root: Path) -> None:
    steps = recipe((repo_root / "Makefile").read_text(encoding="utf-8"), "desk")
    assert [s[0] for s in steps] == ["rm", "digest", "digest"]
    clear, prepare, serve = steps
    assert ".digest/desk.db*" in clear
    assert prepare[1:3] == ["edition", "prepare"]
    assert serve[1] == "serve"
    assert serve[serve.index("--db") + 1] == prepare[prepare.index("--db") + 1] == ".digest/desk.db"
    transport = serve[serve.index("--transport") + 1]
    assert transport == "file:.digest/desk-outbox"  # the desk's sends stay in the scratch folder

    result = CliRunner().invoke(main, prepare[1:], env=NO_ENV)
    assert result.exit_code == 0, result.output
    assert "prepared for review: 15 stories" in result.stderr
    assert "Nothing was sent" in result.stderr
    assert not (checkout / "outbox").exists()

    settings = load_config(checkout / "examples" / "digest.toml")
    with open_store(checkout / ".digest" / "desk.db") as store:
        app = create_app(
            settings, store, environ={}, transport_url=f"file:{checkout / '.digest/desk-outbox'}"
        )
        page = TestClient(app, base_url="http://127.0.0.1:8025").get("/")
        [review] = store.edition_reviews(limit=5)
    assert page.status_code == 200
    assert review.state == "draft"
    assert page.text.count('name="headline"') == 15  # every story editable
    assert ">Approve</button>" in page.text
    assert f"Edition {review.id}" in page.text
    assert ".digest/desk-outbox" in page.text

    again = CliRunner().invoke(main, prepare[1:], env=NO_ENV)
    assert again.exit_code == 0
    assert "already on record; left as it is" in again.stderr  # hence make desk empties it first


def test_edition_prepare_needs_a_config_and_sends_nothing(checkout: Path) -> None:
    missing = CliRunner().invoke(main, ["edition", "prepare", "--db", "x.db"], env=NO_ENV)
    assert missing.exit_code == 2
    config = ["--config", "examples/digest.toml", "--db", "p.db"]
    result = CliRunner().invoke(main, ["edition", "prepare", *config, "--date", "2026-11-26"], env=NO_ENV)
    assert result.exit_code == 0, result.output
    assert "Edition 2026-11-26 prepared for review: 15 stories from 3 feeds" in result.stderr
    shown = CliRunner().invoke(main, ["edition", "show", *config, "--date", "2026-11-26"], env=NO_ENV)
    assert "deliveries: none" in shown.stdout
    assert "draft, not approved" in shown.stdout
