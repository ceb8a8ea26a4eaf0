from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from digest.config import load_config, parse_config, secret
from digest.errors import ConfigError


def write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "digest.toml"
    p.write_text(text, encoding="utf-8")
    return p


def test_example_config_loads(repo_root: Path) -> None:
    s = load_config(repo_root / "examples" / "digest.toml")
    assert s.title == "The Morning Brief"
    assert len(s.feeds) >= 3
    # relative paths resolve against the config file's folder, not the current one
    assert all(Path(f.url).is_file() for f in s.feed_specs)
    assert s.subscribers_path == repo_root / "subscribers.example.csv"
    assert s.transport_url().startswith("file:")
    assert s.transport_url() == f"file:{repo_root / 'outbox'}"


def test_defaults_without_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    s = load_config(None)
    assert s.delivery.transport == "file:outbox"
    assert s.condense.backend == "extractive"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('timezone = "Mars/Olympus"', "timezone: unknown timezone 'Mars/Olympus'"),
        ('schedule = "every day"', "schedule: invalid cron expression"),
        ("max_stories = 0", "max_stories: Input should be greater than or equal to 1"),
        ("[[feeds]]\nname = 'x'", "feeds[0].url: Field required"),
        ("[delivery]\npool = 3", "delivery.pool: Extra inputs are not permitted"),
        ("[condense]\nbackend = 'llm'", "condense: backend = 'llm' needs base_url and model"),
        ("title = ", "Invalid value"),
        ('sender = "The Morning Brief"', "sender: not an email address: 'The Morning Brief'"),
        ('sender = "Brief <brief@example.org>\\nBcc: x@example.org"', "sender: must be one line"),
        ("[render]\nunsubscribe_mailto = 'nobody'", "render.unsubscribe_mailto: not an email address"),
        ('[render]\nsubject = "Hi\\nBcc: x"', "render.subject: must be one line"),
    ],
)
def test_errors_name_file_and_key(tmp_path: Path, text: str, expected: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    message = str(info.value)
    assert message.startswith(str(path))
    assert expected in message
    assert "\n" not in message
    assert info.value.exit_code == 2


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        load_config(tmp_path / "nope.toml")


def test_secrets_come_from_environment_only() -> None:
    assert secret("DIGEST_SMTP_PASSWORD", {"DIGEST_SMTP_PASSWORD": "s3cret"}) == "s3cret"
    assert secret("DIGEST_SMTP_PASSWORD", {"DIGEST_SMTP_PASSWORD": ""}) is None
    assert secret("DIGEST_SMTP_PASSWORD", {}) is None


def test_password_in_file_is_rejected(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"delivery\.password"):
        load_config(write(tmp_path, "[delivery]\npassword = 'hunter2'"))


def test_key_files_are_relative_to_the_config_file(tmp_path: Path) -> None:
    path = write(tmp_path, '[delivery]\nca_file = "certs/ca.pem"\ndkim_key = "/etc/dkim.key"\n')
    s = load_config(path)
    assert s.delivery.ca_file == tmp_path / "certs" / "ca.pem"
    assert s.delivery.dkim_key == Path("/etc/dkim.key")


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("30x", "not a duration"),
        ("99999999999d", "too long"),
        (1e20, "out of range"),
        ("25h", "less than a day"),
    ],
)
def test_durations_are_checked_with_one_line_errors(tmp_path: Path, value: object, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_config({"review": value}, source="digest.toml", base_dir=tmp_path)


def test_durations_read_as_the_config_writes_them(tmp_path: Path) -> None:
    s = parse_config({"review": "1h30m", "misfire_grace": 90}, source="digest.toml", base_dir=tmp_path)
    assert s.review == timedelta(minutes=90)
    assert s.misfire_grace == timedelta(seconds=90)
