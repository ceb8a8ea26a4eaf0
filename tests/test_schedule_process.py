"""`digest schedule` as a user runs it: a real process, a real APScheduler loop."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest


@pytest.mark.slow
def test_schedule_catches_up_at_start_and_keeps_running(tmp_path: Path, repo_root: Path) -> None:
    shutil.copytree(repo_root / "examples", tmp_path / "examples")
    shutil.copy(repo_root / "subscribers.example.csv", tmp_path / "subscribers.example.csv")
    config = tmp_path / "examples" / "digest.toml"
    # every minute: the last scheduled time is always within the catch-up window
    text = config.read_text(encoding="utf-8").replace('schedule = "0 7 * * *"', 'schedule = "* * * * *"')
    config.write_text(text, encoding="utf-8")
    outbox = tmp_path / "outbox"
    cmd = [
        sys.executable, "-m", "digest", "schedule", "--config", str(config),
        "--transport", f"file:{outbox}", "--db", str(tmp_path / "s.db"),
    ]  # fmt: skip
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env={**os.environ})
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and len(list(outbox.glob("*.eml"))) < 5:
            assert proc.poll() is None, proc.stdout.read().decode() if proc.stdout else ""
            time.sleep(0.2)
        assert len(list(outbox.glob("*.eml"))) == 5  # the five active subscribers, once
        time.sleep(1)
        assert proc.poll() is None  # still waiting for the next scheduled time
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            out = proc.communicate(timeout=20)[0].decode()
        except subprocess.TimeoutExpired:
            proc.kill()
            out = proc.communicate()[0].decode()
    assert "catching up on the missed edition" in out
    assert "Traceback" not in out
