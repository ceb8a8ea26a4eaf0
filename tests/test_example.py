"""The bundled example is what a new user sees first: hold it to the promises of the README."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

from digest.config import load_config
from digest.gather import gather, group_stories


def test_example_feeds_group_into_the_two_shared_stories(repo_root: Path) -> None:
    s = load_config(repo_root / "examples" / "digest.toml")
    result = asyncio.run(
        gather(
            s.feed_specs,
            config=s.gather,
            states={},
            seen=lambda ids: set(),
            now=datetime(2026, 11, 27, 7, 0, tzinfo=UTC),
        )
    )
    assert not result.failed
    assert len(result.articles) >= 20
    stories = group_stories(result.articles, threshold=s.gather.group_threshold)
    shared = sorted(sorted(a.feed_name for a in st.articles) for st in stories if len(st.articles) > 1)
    # two events are each reported by two outlets (examples/feeds/README.md); nothing else merges
    assert shared == [["Market Wire", "World Desk"], ["Science Daily Review", "World Desk"]]
    assert len(stories) == len(result.articles) - 2


def test_demo_as_make_demo_runs_it(tmp_path: Path, repo_root: Path) -> None:
    """`make demo` on a fresh clone: the example config alone, its own store and outbox."""
    import email
    import email.policy
    import re
    import shutil

    from click.testing import CliRunner

    from digest.cli import main

    shutil.copytree(repo_root / "examples", tmp_path / "examples")
    shutil.copy(repo_root / "subscribers.example.csv", tmp_path)
    result = CliRunner().invoke(main, ["run", "--config", str(tmp_path / "examples" / "digest.toml"), "-q"])
    assert result.exit_code == 0, result.output
    rows = (tmp_path / "subscribers.example.csv").read_text(encoding="utf-8").splitlines()[1:]
    active = {r.split(",")[0] for r in rows if ",unsubscribed," not in r}
    files = sorted((tmp_path / "outbox").glob("*.eml"))
    assert len(files) == len(active)
    for f in files:
        msg = email.message_from_bytes(f.read_bytes(), policy=email.policy.default)
        assert msg["To"].addresses[0].addr_spec in active
        assert msg.get_content_type() == "multipart/alternative"
        html = msg.get_body(("html",)).get_content()  # type: ignore[union-attr]
        text = msg.get_body(("plain",)).get_content().replace("\r\n", "\n")  # type: ignore[union-attr]
        assert len(html.encode()) < 102 * 1024
        assert '<meta name="viewport"' in html
        assert not re.search(r"\{\{|\{%|<mj-", html + text)
        for header in ("From", "Subject", "Date", "Message-ID", "List-Unsubscribe", "List-Unsubscribe-Post"):
            assert msg[header], header
    # at least three stories: count the numbered links of the text part's story headlines
    assert len(re.findall(r"^\S.*\[\d+\]$", text, re.M)) >= 3
