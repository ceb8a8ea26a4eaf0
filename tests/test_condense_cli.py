"""``digest condense``: one article, stdin, and batch mode."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from digest.cli.condense import condense

ARTICLES = Path(__file__).parent / "data" / "articles"


def test_one_file_as_json() -> None:
    result = CliRunner().invoke(condense, [str(ARTICLES / "messy-en.txt"), "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert set(data) == {"headline", "summary", "key_points"}
    assert isinstance(data["headline"], str)
    assert 3 <= len(data["key_points"]) <= 5
    assert all(isinstance(k, str) for k in data["key_points"])


def test_stdin_readable_with_title() -> None:
    text = (ARTICLES / "glued-en.txt").read_text(encoding="utf-8")
    result = CliRunner().invoke(condense, ["-", "--title", "Wheat harvest falls - Farm Weekly"], input=text)
    assert result.exit_code == 0, result.output
    assert result.output.startswith("Wheat harvest falls\n")
    assert "  • " in result.output


def test_unreadable_file_exits_2(tmp_path: Path) -> None:
    result = CliRunner().invoke(condense, [str(tmp_path / "missing.txt")])
    assert result.exit_code == 2
    assert result.output.strip().startswith("digest: error:")
    assert "missing.txt" in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_no_usable_text_exits_2(tmp_path: Path) -> None:
    empty = tmp_path / "empty.txt"
    empty.write_text("   \n", encoding="utf-8")
    result = CliRunner().invoke(condense, [str(empty), "--json"])
    assert result.exit_code == 2
    assert "empty.txt: no usable text" in result.output


def test_batch_in_order_with_a_bad_line(tmp_path: Path) -> None:
    lines = [
        json.dumps({"id": 7, "text": (ARTICLES / "messy-en.txt").read_text(encoding="utf-8")}),
        "{broken",
        json.dumps({"id": "x", "text": ""}),
        json.dumps({"id": "de", "text": (ARTICLES / "de.txt").read_text(encoding="utf-8"), "title": "Strom"}),
    ]
    src = tmp_path / "in.jsonl"
    src.write_text("\n".join(lines) + "\n", encoding="utf-8")
    out = tmp_path / "out.jsonl"
    result = CliRunner().invoke(condense, ["--batch", str(src), "--out", str(out)])
    assert result.exit_code == 1
    assert "in.jsonl:2: not JSON" in result.output
    assert "in.jsonl:3: no usable text" in result.output
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert [r["id"] for r in rows] == [7, None, "x", "de"]
    assert set(rows[0]) == {"id", "headline", "summary", "key_points"}
    assert rows[1]["key_points"] == []
    assert rows[1]["headline"] == ""
    assert rows[3]["headline"] == "Strom"


def test_batch_to_stdout() -> None:
    line = json.dumps({"id": 1, "text": (ARTICLES / "fr.txt").read_text(encoding="utf-8")})
    result = CliRunner().invoke(condense, ["--batch", "-"], input=line + "\n")
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["id"] == 1


def test_file_and_batch_together_is_a_usage_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(condense, ["a.txt", "--batch", "b.jsonl"])
    assert result.exit_code == 2


def test_parallel_batch_matches_one_process(tmp_path: Path) -> None:
    from digest.cli.condense import PARALLEL_MIN_LINES

    texts = [p.read_text(encoding="utf-8") for p in sorted(ARTICLES.glob("*.txt"))]
    lines = [json.dumps({"id": i, "text": texts[i % len(texts)]}) for i in range(PARALLEL_MIN_LINES + 6)]
    lines[5] = "{not json"
    src = tmp_path / "in.jsonl"
    src.write_text("\n".join(lines) + "\n", encoding="utf-8")
    outputs = []
    for jobs in ("1", "2"):
        out = tmp_path / f"out{jobs}.jsonl"
        result = CliRunner().invoke(condense, ["--batch", str(src), "--out", str(out), "--jobs", jobs])
        assert result.exit_code == 1  # the bad line
        assert f"{src}:6:" in result.output
        outputs.append(out.read_text(encoding="utf-8"))
    assert outputs[0] == outputs[1]
    ids = [json.loads(line)["id"] for line in outputs[0].splitlines()]
    assert ids == [i if i != 5 else None for i in range(PARALLEL_MIN_LINES + 6)]
