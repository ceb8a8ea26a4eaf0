"""``digest init``: a new newsletter that runs at once, offline, and then with the user's feeds."""

from __future__ import annotations

import email
import email.policy
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from email.utils import format_datetime
from pathlib import Path

import pytest
from click.testing import CliRunner

from digest.cli import main
from digest.cli.init import FILES
from digest.config import load_config
from feed_server import FeedServer

NO_ENV: dict[str, str | None] = {"DIGEST_CONFIG": None}


def init(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, ["init", *args], env=NO_ENV)
    return result.exit_code, result.stdout, result.stderr


def digest(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """The installed command as a user runs it, in ``cwd``."""
    env = {k: v for k, v in os.environ.items() if k != "DIGEST_CONFIG"}
    return subprocess.run(
        [sys.executable, "-m", "digest", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120
    )


def read_eml(path: Path) -> email.message.EmailMessage:
    msg = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    assert isinstance(msg, email.message.EmailMessage)
    return msg


@pytest.fixture
def server() -> Iterator[FeedServer]:
    s = FeedServer().start()
    yield s
    s.stop()


def test_init_then_run_in_that_folder_delivers_offline(tmp_path: Path) -> None:
    code, out, err = init(str(tmp_path / "x"))
    assert code == 0, err
    folder = tmp_path / "x"
    for name in FILES:
        assert (folder / name).is_file(), name
    assert "digest run" in out
    assert "cd " in out  # the next steps say where to go

    ran = digest("run", cwd=folder)
    assert ran.returncode == 0, ran.stderr
    assert ran.stderr.splitlines()[0] == "digest: config digest.toml; store digest.db"
    assert "feeds: 1 (1 ok, 0 failed)" in ran.stderr
    [eml] = sorted((folder / "outbox").glob("*.eml"))
    assert eml.name.endswith("--you@example.org.eml")
    msg = read_eml(eml)
    text = msg.get_body(("plain",))
    assert text is not None
    body = text.get_content()
    assert "Your newsletter is set up" in body
    assert "Good morning, Your Name." in body  # the scaffold's template override is used
    assert (folder / "digest.db").is_file()  # the store sits beside the config, as it says

    again = digest("status", cwd=folder)
    assert again.returncode == 0, again.stderr
    assert "1 sent" in again.stdout


def test_the_scaffold_is_a_valid_config_with_relative_paths(tmp_path: Path) -> None:
    assert init(str(tmp_path))[0] == 0
    s = load_config(tmp_path / "digest.toml")
    assert s.store_url == f"sqlite:///{tmp_path / 'digest.db'}"
    assert s.subscribers_path == tmp_path / "subscribers.csv"
    assert s.templates_dir == tmp_path / "templates"
    assert s.transport_url() == f"file:{tmp_path / 'outbox'}"
    assert [f.url for f in s.feed_specs] == [str(tmp_path / "feeds" / "example.xml")]
    # the commented feed example is valid as written once uncommented
    text = (tmp_path / "digest.toml").read_text(encoding="utf-8")
    example = re.search(r"^# \[\[feeds\]\]\n(?:# .*\n)+", text, re.MULTILINE)
    assert example, "no commented [[feeds]] example"
    uncommented = re.sub(r"^# ", "", example.group(0), flags=re.MULTILINE)
    (tmp_path / "digest.toml").write_text(text + "\n" + uncommented, encoding="utf-8")
    feeds = load_config(tmp_path / "digest.toml").feeds
    assert [f.name for f in feeds] == ["digest", "Example News"]
    assert feeds[1].topic == "World"


def test_init_never_overwrites_unless_forced(tmp_path: Path) -> None:
    assert init(str(tmp_path))[0] == 0
    (tmp_path / "digest.toml").write_text('title = "Mine"\n', encoding="utf-8")
    (tmp_path / "templates" / "README.md").unlink()
    code, out, err = init(str(tmp_path))
    assert code == 2
    assert out == ""
    [line] = err.splitlines()
    assert line.startswith("digest: error: ")
    for name in ("digest.toml", "subscribers.csv", "feeds/example.xml", "templates/greeting.txt"):
        assert str(tmp_path / name) in line
    assert "README.md" not in line
    assert "--force" in line
    assert (tmp_path / "digest.toml").read_text(encoding="utf-8") == 'title = "Mine"\n'
    assert not (tmp_path / "templates" / "README.md").exists()  # nothing written at all
    code, _, err = init(str(tmp_path), "--force")
    assert code == 0, err
    assert "title = " in (tmp_path / "digest.toml").read_text(encoding="utf-8")
    assert "Mine" not in (tmp_path / "digest.toml").read_text(encoding="utf-8")


def test_init_in_the_current_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    code, out, _ = init()
    assert code == 0
    assert (tmp_path / "digest.toml").is_file()
    assert "cd " not in out


def test_then_run_works_with_the_feeds_the_user_adds(
    tmp_path: Path, repo_root: Path, server: FeedServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert init(str(tmp_path))[0] == 0
    # the user's own feed, on the web (a loopback server here), with today's news
    now = format_datetime(datetime.now(UTC))
    feed = (repo_root / "examples" / "feeds" / "world-desk.xml").read_text(encoding="utf-8")
    feed = re.sub(r"<pubDate>[^<]*</pubDate>", f"<pubDate>{now}</pubDate>", feed)
    url = server.feed("/world.xml", feed.encode())
    config = tmp_path / "digest.toml"
    config.write_text(
        config.read_text(encoding="utf-8")
        + f'\n[[feeds]]\nurl = "{url}"\nname = "World Desk"\ntopic = "World"\n',
        encoding="utf-8",
    )
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(main, ["run"], env=NO_ENV)
    assert result.exit_code == 0, result.output
    assert "feeds: 2 (2 ok, 0 failed)" in result.stderr
    [eml] = sorted((tmp_path / "outbox").glob("*.eml"))
    text = read_eml(eml).get_body(("plain",))
    assert text is not None
    assert "World Desk" in text.get_content()
    assert server.hits["/world.xml"] == 1
