"""Full-text extraction over the shared article benchmark, scored with its word-shingle metric
(tokens are ``\\w+``; word 4-gram multisets; per-page normalised TP/FP/FN; see its PROVENANCE.md)."""

from __future__ import annotations

import gzip
import json
import re
from collections import Counter
from pathlib import Path

from digest.gather._fulltext import extract_main_text


def shingles(text: str) -> Counter[tuple[str, ...]]:
    tokens = re.findall(r"\w+", text)
    return Counter(tuple(tokens[i : i + 4]) for i in range(len(tokens) - 3))


def f1(pairs: list[tuple[str, str]]) -> float:
    """The benchmark's F1 over (gold, predicted) pairs; every page weighs the same."""
    tp = fp = fn = 0.0
    for gold, pred in pairs:
        g, p = shingles(gold), shingles(pred)
        t, f_p, f_n = sum((g & p).values()), sum((p - g).values()), sum((g - p).values())
        total = t + f_p + f_n
        if total:
            tp, fp, fn = tp + t / total, fp + f_p / total, fn + f_n / total
    if not tp:
        return 0.0
    precision, recall = tp / (tp + fp), tp / (tp + fn)
    return 2 * precision * recall / (precision + recall)


def test_metric_behaves() -> None:
    text = "one two three four five six seven"
    assert f1([(text, text)]) == 1.0
    assert f1([(text, "nothing alike at all here")]) == 0.0
    assert 0.5 < f1([(text, "one two three four five six")]) < 1.0


def test_full_text_extraction_reaches_f1_093(shared_dir: Path) -> None:
    root = shared_dir / "fixtures" / "articles"
    gold = json.loads((root / "ground-truth.json").read_text("utf-8"))
    pairs = []
    for page_id, entry in sorted(gold.items()):
        page = gzip.decompress((root / "html" / f"{page_id}.html.gz").read_bytes())
        pairs.append((entry["articleBody"], extract_main_text(page, entry["url"])))
    assert len(pairs) == 61
    assert f1(pairs) >= 0.93
