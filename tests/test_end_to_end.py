"""The whole job, from feed files to a real SMTP server on loopback, through the CLI."""

from __future__ import annotations

import email
import email.policy
import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from digest.cli import main
from digest.store import open_store
from smtpd_helpers import Server


@pytest.fixture
def project(tmp_path: Path, repo_root: Path) -> Path:
    """A copy of the bundled example, so the test writes nothing into the repository."""
    shutil.copytree(repo_root / "examples", tmp_path / "examples")
    shutil.copy(repo_root / "subscribers.example.csv", tmp_path / "subscribers.example.csv")
    return tmp_path


def active_subscribers(csv: Path) -> set[str]:
    lines = csv.read_text(encoding="utf-8").splitlines()[1:]
    return {line.split(",")[0] for line in lines if ",unsubscribed," not in line}


def test_run_delivers_once_through_smtp(project: Path, smtpd: Server) -> None:
    handler = smtpd.handler
    config = project / "examples" / "digest.toml"
    db = project / "state.db"
    url = smtpd.url
    runner = CliRunner()

    first = runner.invoke(main, ["run", "--config", str(config), "--transport", url, "--db", str(db), "-q"])
    assert first.exit_code == 0, first.output
    expected = active_subscribers(project / "subscribers.example.csv")
    assert {r for m in handler.received for r in m.recipients} == expected
    assert len(handler.received) == len(expected)

    for m in handler.received:
        msg = email.message_from_bytes(m.data, policy=email.policy.default)
        assert msg.get_content_type() == "multipart/alternative"
        assert {p.get_content_type() for p in msg.iter_parts()} == {"text/plain", "text/html"}
        for header in ("From", "To", "Subject", "Date", "Message-ID", "List-Unsubscribe"):
            assert msg[header], header
        assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        assert "https://" in msg["List-Unsubscribe"]
        assert "mailto:" in msg["List-Unsubscribe"]
        html = msg.get_body(("html",)).get_content()  # type: ignore[union-attr]
        assert 'name="viewport"' in html
        assert "{{" not in html
        assert "<mj-" not in html

    # the same edition again: nothing more is sent, and the summary says so
    second = runner.invoke(main, ["run", "--config", str(config), "--transport", url, "--db", str(db)])
    assert second.exit_code == 0, second.output
    assert len(handler.received) == len(expected)
    assert "nothing to send" in second.output
    assert "already have this edition" in second.output

    status = runner.invoke(main, ["status", "--db", str(db), "--config", str(config)])
    assert status.exit_code == 0, status.output
    assert "sent" in status.output


def test_bad_config_exits_2(tmp_path: Path) -> None:
    bad = tmp_path / "digest.toml"
    bad.write_text('timezone = "Nowhere/Special"\n', encoding="utf-8")
    result = CliRunner().invoke(main, ["run", "--config", str(bad)])
    assert result.exit_code == 2
    assert f"{bad}:1: timezone: unknown timezone" in result.output


def test_failed_feed_gives_exit_1_and_still_delivers(project: Path, smtpd: Server) -> None:
    handler = smtpd.handler
    config = project / "examples" / "digest.toml"
    missing = '[[feeds]]\nurl = "feeds/does-not-exist.xml"\nname = "Missing"\n\n[gather]'
    config.write_text(config.read_text(encoding="utf-8").replace("[gather]", missing, 1), encoding="utf-8")
    result = CliRunner().invoke(
        main,
        [
            "run",
            "--config",
            str(config),
            "--transport",
            smtpd.url,
            "--db",
            str(project / "s.db"),
        ],
    )
    assert result.exit_code == 1, result.output
    assert "does-not-exist.xml" in result.output
    again = CliRunner().invoke(
        main, ["run", "--config", str(config), "--transport", smtpd.url, "--db", str(project / "s.db")]
    )
    assert again.exit_code == 1
    assert "failing for 2 runs in a row" in again.output
    assert len(handler.received) == len(active_subscribers(project / "subscribers.example.csv"))


def test_unreachable_server_loses_nobody(project: Path, smtpd: Server) -> None:
    from smtpd_helpers import free_port

    config = project / "examples" / "digest.toml"
    text = config.read_text(encoding="utf-8").replace(
        "[delivery]", "[delivery]\nbackoff_base = 0\nmax_attempts = 2"
    )
    config.write_text(text, encoding="utf-8")
    db = str(project / "s.db")
    closed = f"smtp://127.0.0.1:{free_port()}"
    down = CliRunner().invoke(main, ["run", "--config", str(config), "--transport", closed, "--db", db])
    assert down.exit_code == 1, down.output
    assert "sending stopped" in down.output or "failed" in down.output
    assert smtpd.handler.received == []

    # the server is back: the same edition reaches every active subscriber, once
    up = CliRunner().invoke(
        main, ["run", "--config", str(config), "--transport", smtpd.url, "--db", db, "-q"]
    )
    assert up.exit_code == 0, up.output
    expected = active_subscribers(project / "subscribers.example.csv")
    assert sorted(r for m in smtpd.handler.received for r in m.recipients) == sorted(expected)


def test_next_day_edition_does_not_repeat_stories(project: Path) -> None:
    config = project / "examples" / "digest.toml"
    base = ["--config", str(config), "--db", str(project / "s.db"), "--transport", f"file:{project / 'out'}"]
    runner = CliRunner()
    first = runner.invoke(main, ["run", *base, "--date", "2026-11-26", "-q"])
    assert first.exit_code == 0, first.output
    show = runner.invoke(main, ["edition", "show", *base[:4], "--date", "2026-11-26", "--json"])
    day1 = {a["id"] for s in json.loads(show.output)["stories"] for a in s["articles"]}
    assert len(day1) >= 15
    second = runner.invoke(main, ["run", *base, "--date", "2026-11-27"])
    assert second.exit_code == 0, second.output
    show = runner.invoke(main, ["edition", "show", *base[:4], "--date", "2026-11-27", "--json"])
    assert show.exit_code == 0, show.output
    day2 = {a["id"] for s in json.loads(show.output)["stories"] for a in s["articles"]}
    assert day2  # the example's 24 articles: what day 1 left out
    assert day1.isdisjoint(day2)


def test_an_international_domain_is_sent_once(project: Path, smtpd: Server) -> None:
    csv = project / "subscribers.example.csv"
    csv.write_text("email,name\nleser@bücher.example,Leser\n", encoding="utf-8")
    config = project / "examples" / "digest.toml"
    db = project / "s.db"
    for _ in range(2):
        result = CliRunner().invoke(
            main, ["run", "--config", str(config), "--transport", smtpd.url, "--db", str(db), "-q"]
        )
        assert result.exit_code == 0, result.output
    assert [m.recipients for m in smtpd.handler.received] == [("leser@xn--bcher-kva.example",)]
    with open_store(db) as store:
        [run] = {r.edition_id for r in store.recent_runs()}
        assert store.delivery_states(run) == {"leser@bücher.example": "sent"}


@pytest.mark.parametrize(
    "transport",
    [
        "smtp://mail.example.org:25?password=hunter2",
        "smtp://editor:hunter2@mail.example.org:25",
        "bogus://mail.example.org/?key=hunter2",
    ],
)
def test_a_bad_transport_stops_before_sealing_and_names_no_secret(project: Path, transport: str) -> None:
    config = project / "examples" / "digest.toml"
    db = project / "s.db"
    result = CliRunner().invoke(
        main, ["run", "--config", str(config), "--db", str(db), "--transport", transport]
    )
    assert result.exit_code == 2
    assert "hunter2" not in result.output
    assert result.output.strip().splitlines()[-1].startswith("digest: error: transport ")
    with open_store(db) as store:
        [review] = store.edition_reviews()
        assert review.sealed_at is None  # editors can still correct it
        assert store.delivery_counts(review.id) == {}
        assert all("sending started" not in e.action for e in store.edition_events(review.id))
        assert all("hunter2" not in json.dumps(r.summary) for r in store.recent_runs())


def test_the_transport_is_recorded_without_user_or_password(project: Path, smtpd: Server) -> None:
    config = project / "examples" / "digest.toml"
    db = project / "s.db"
    url = smtpd.url.replace("smtp://", "smtp://editor@")
    env = {"DIGEST_SMTP_PASSWORD": "hunter2"}
    result = CliRunner().invoke(
        main, ["run", "--config", str(config), "--db", str(db), "--transport", url], env=env
    )
    assert "hunter2" not in result.output
    assert "editor" not in result.output.split("delivered via")[-1]
    with open_store(db) as store:
        [run] = store.recent_runs(1)
    assert run.summary["destination"] == smtpd.url
