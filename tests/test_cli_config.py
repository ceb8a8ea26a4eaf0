"""Which config and store a command uses: found as --config, $DIGEST_CONFIG or ./digest.toml,
never quiet defaults; said on stderr in one line; and the output that names them in words."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from digest.cli import main
from digest.cli.common import Setup, shown_store
from digest.config import default_settings

NO_ENV: dict[str, str | None] = {"DIGEST_CONFIG": None}


def invoke(*args: str, env: dict[str, str | None] | None = None) -> Result:
    return CliRunner().invoke(main, list(args), env={**NO_ENV, **(env or {})})


@pytest.fixture
def empty(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    folder = tmp_path / "empty"
    folder.mkdir()
    monkeypatch.chdir(folder)
    yield folder
    assert list(folder.iterdir()) == [], "a command without a config left files behind"


@pytest.fixture(scope="module")
def sent(tmp_path_factory: pytest.TempPathFactory, repo_root: Path) -> tuple[Path, Path]:
    """The example run once: (its config, its store)."""
    root = tmp_path_factory.mktemp("sent")
    shutil.copytree(repo_root / "examples", root / "examples")
    shutil.copy(repo_root / "subscribers.example.csv", root)
    config, db = root / "examples" / "digest.toml", root / "sent.db"
    result = invoke("run", "--config", str(config), "--db", str(db), "--date", "2026-11-26", "-q")
    assert result.exit_code == 0, result.output
    return config, db


# -- no config --------------------------------------------------------------------------------

NEEDS_CONFIG = [
    ["run"],
    ["preview"],
    ["gather"],
    ["schedule"],
    ["serve", "--port", "0"],
    ["status"],
    ["edition", "show"],
    ["edition", "prepare"],
    ["edition", "approve"],
    ["subscribers", "list"],
    ["run", "--db", "given.db"],  # --db alone is not enough for a command that sends
    ["edition", "approve", "--db", "given.db"],
]


@pytest.mark.parametrize("args", NEEDS_CONFIG, ids=[" ".join(a) for a in NEEDS_CONFIG])
def test_without_a_config_a_command_stops_with_one_line(empty: Path, args: list[str]) -> None:
    result = invoke(*args)
    assert result.exit_code == 2, result.output
    assert result.stderr.splitlines() == [
        "digest: error: no digest.toml here (looked in ./digest.toml); pass --config FILE, "
        "set DIGEST_CONFIG, or start one with `digest init`"
    ]
    assert result.stdout == ""


def test_digest_config_names_the_file(sent: tuple[Path, Path], empty: Path) -> None:
    config, db = sent
    result = invoke("status", "--db", str(db), env={"DIGEST_CONFIG": str(config)})
    assert result.exit_code == 0, result.output
    assert f"digest: config {config}; store {db}" in result.stderr
    missing = invoke("status", env={"DIGEST_CONFIG": "nowhere.toml"})
    assert missing.exit_code == 2
    assert missing.stderr == "digest: error: DIGEST_CONFIG=nowhere.toml: no such file\n"


def test_a_digest_toml_here_is_found(
    sent: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config, db = sent
    here = tmp_path / "here"
    shutil.copytree(config.parent, here)
    monkeypatch.chdir(here)
    result = invoke("edition", "show", "--db", str(db), "--date", "2026-11-26")
    assert result.exit_code == 0, result.output
    assert result.stderr.splitlines()[0] == f"digest: config digest.toml; store {db}"


STORE_ONLY = [
    ["status"],
    ["status", "--json"],
    ["subscribers", "list"],
    ["edition", "show", "--date", "2026-11-26"],
    ["edition", "export", "--date", "2026-11-26"],
    ["gather", "--feed", "feeds/nowhere.xml"],
]


@pytest.mark.parametrize("args", STORE_ONLY, ids=[" ".join(a) for a in STORE_ONLY])
def test_a_store_only_command_runs_with_db_alone(
    sent: tuple[Path, Path], empty: Path, args: list[str]
) -> None:
    _, db = sent
    copy = empty.parent / "copy.db"
    shutil.copy(db, copy)
    result = invoke(*args, "--db", str(copy))
    assert result.exit_code in (0, 1), result.output  # gather: the feed is missing, exit 1
    quiet = "--json" in args or "export" in args
    line = f"digest: config none (built-in defaults); store {copy}"
    assert (line in result.stderr) is not quiet
    if quiet:
        json.loads(result.stdout)  # nothing but the data


# -- the line naming config and store --------------------------------------------------------


def test_each_command_names_its_config_and_store_on_stderr(sent: tuple[Path, Path]) -> None:
    config, db = sent
    base = ["--config", str(config), "--db", str(db)]
    for args in (["status"], ["edition", "show", "--date", "2026-11-26"], ["subscribers", "list"]):
        result = invoke(*args, *base)
        assert result.exit_code == 0, result.output
        assert result.stderr.splitlines()[0] == f"digest: config {config}; store {db}", args
        assert "digest: config" not in result.stdout
    quiet = invoke("run", *base, "--date", "2026-11-26", "-q")
    assert quiet.exit_code == 0
    assert quiet.output == ""  # --quiet: errors only


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("postgresql://digest:s3cret@db.example.org/news", "postgresql://digest:***@db.example.org/news"),
        (
            "postgresql+psycopg://digest@db.example.org:5433/news",
            "postgresql+psycopg://digest@db.example.org:5433/news",
        ),
        ("sqlite:////var/lib/digest/digest.db", "/var/lib/digest/digest.db"),
        ("sqlite:///:memory:", "sqlite:///:memory:"),
    ],
)
def test_the_store_is_shown_without_its_password(url: str, shown: str) -> None:
    assert shown_store(url) == shown
    line = Setup(default_settings(Path("/")), None, url).describe()
    assert "s3cret" not in line
    assert line.endswith(f"store {shown}")


def test_a_relative_store_is_shown_relative(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert shown_store(f"sqlite:///{tmp_path / '.digest' / 'x.db'}") == ".digest/x.db"


# -- what commands print, in words -------------------------------------------------------------


def test_a_typo_in_the_config_is_one_line_with_the_key_meant(tmp_path: Path) -> None:
    config = tmp_path / "digest.toml"
    config.write_text('title = "T"\nmax_storys = 3\n', encoding="utf-8")
    result = invoke("run", "--config", str(config))
    assert result.exit_code == 2
    assert result.stderr == (
        f"digest: error: {config}:2: unknown key `max_storys` (did you mean `max_stories`?)\n"
    )


def test_edition_show_counts_deliveries_in_words(sent: tuple[Path, Path]) -> None:
    config, db = sent
    result = invoke("edition", "show", "--config", str(config), "--db", str(db), "--date", "2026-11-26")
    assert result.exit_code == 0, result.output
    head = result.stdout.splitlines()[0]
    assert head.endswith("15 stories; deliveries: 5 sent"), head
    assert "{" not in head


def test_status_names_the_feeds(sent: tuple[Path, Path]) -> None:
    config, db = sent
    result = invoke("status", "--config", str(config), "--db", str(db))
    assert result.exit_code == 0, result.output
    rows = [line for line in result.stdout.splitlines() if "never" in line or ":" in line]
    for name in ("World Desk", "Market Wire", "Science Daily Review"):
        assert any(name in row for row in rows), result.stdout
    assert "feeds/" not in result.stdout  # no paths, cut or whole
    assert "5 sent" in result.stdout
    data = json.loads(invoke("status", "--config", str(config), "--db", str(db), "--json").stdout)
    assert sorted(f["name"] for f in data["feeds"]) == ["Market Wire", "Science Daily Review", "World Desk"]
    # with --db alone, the file's name stands in for the config's name
    alone = invoke("status", "--db", str(db))
    assert "world-desk.xml" in alone.stdout


def test_condense_and_init_need_no_config(empty: Path, tmp_path: Path) -> None:
    article = tmp_path / "article.txt"
    article.write_text(
        "The harbour authority approved the new terminal on Tuesday after a long debate. "
        "Construction starts in spring and should take two years. "
        "Residents raised concerns about noise from night-time operations.",
        encoding="utf-8",
    )
    result = invoke("condense", str(article), "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["headline"]
    assert "digest: config" not in result.output
    made = invoke("init", str(tmp_path / "new"))
    assert made.exit_code == 0, made.output
