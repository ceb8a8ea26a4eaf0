"""The editor's loop: preview, export, correct, import, send exactly that."""

from __future__ import annotations

import email
import email.policy
import json
import shutil
from pathlib import Path

from click.testing import CliRunner

from digest.cli import main


def test_editor_corrects_an_edition_before_it_goes_out(tmp_path: Path, repo_root: Path) -> None:
    shutil.copytree(repo_root / "examples", tmp_path / "examples")
    shutil.copy(repo_root / "subscribers.example.csv", tmp_path)
    # one fixed day for every step: "today" could change between two of them (midnight)
    day = ["--date", "2026-11-26"]
    base = ["--config", str(tmp_path / "examples" / "digest.toml"), "--db", str(tmp_path / "s.db")]
    runner = CliRunner()

    preview = runner.invoke(main, ["preview", *base, *day, "--out", str(tmp_path / "p")])
    assert preview.exit_code == 0, preview.output
    exported = runner.invoke(main, ["edition", "export", *base, *day, "-o", str(tmp_path / "e.json")])
    assert exported.exit_code == 0, exported.output

    data = json.loads((tmp_path / "e.json").read_text(encoding="utf-8"))
    first = data["stories"][0]["condensed"]
    first["headline"] = "Corrected <headline> by the editor"
    dropped = data["stories"].pop(1)["condensed"]["headline"]
    (tmp_path / "e.json").write_text(json.dumps(data), encoding="utf-8")
    imported = runner.invoke(main, ["edition", "import", str(tmp_path / "e.json"), *base])
    assert imported.exit_code == 0, imported.output

    shown = runner.invoke(main, ["edition", "show", *base, *day])
    assert "Corrected <headline> by the editor" in shown.output
    assert dropped not in shown.output

    sent = runner.invoke(main, ["run", *base, *day, "--transport", f"file:{tmp_path / 'out'}", "-q"])
    assert sent.exit_code == 0, sent.output
    # Ada reads every topic, so the edited story is in her copy (José's topics exclude it);
    # picked by name, never by the order the filesystem lists the files in
    [ada] = (tmp_path / "out").glob("*--ada@example.org.eml")
    raw = ada.read_bytes()
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    html = msg.get_body(("html",)).get_content()  # type: ignore[union-attr]
    assert "Corrected &lt;headline&gt; by the editor" in html
    assert dropped not in html

    # once anyone has it, the edition is final
    again = runner.invoke(main, ["edition", "import", str(tmp_path / "e.json"), *base])
    assert again.exit_code == 2
    assert "sending has started; it no longer changes" in again.output


def test_import_names_the_problem(tmp_path: Path) -> None:
    bad = tmp_path / "e.json"
    bad.write_text('{"id": "2026-11-26",\n "stories": [', encoding="utf-8")
    result = CliRunner().invoke(main, ["edition", "import", str(bad), "--db", str(tmp_path / "s.db")])
    assert result.exit_code == 2
    assert f"{bad}:2: invalid JSON" in result.output
    bad.write_text('{"id": "2026-11-26"}', encoding="utf-8")
    result = CliRunner().invoke(main, ["edition", "import", str(bad), "--db", str(tmp_path / "s.db")])
    assert result.exit_code == 2
    assert "not an edition" in result.output
