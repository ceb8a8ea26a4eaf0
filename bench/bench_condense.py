"""Speed of ``digest condense --batch`` against sumy's LexRank (3 sentences), in the same run.

    python bench/bench_condense.py [--limit N]

Uses the CNN/DailyMail articles of ../shared/eval when present (read in place, never copied),
else the project's own test articles repeated. LexRank runs as ../shared/eval/score.py runs it:
pysbd sentences, a Treebank word tokenizer, no NLTK data download. Needs the ``eval`` extra.
Prints articles per second for both and the ratio (the acceptance asks for at least 10x).
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EVAL = ROOT.parent / "shared" / "eval"


def articles(limit: int) -> list[str]:
    if (EVAL / "score.py").exists():
        sys.path.insert(0, str(EVAL))
        from score import load  # type: ignore[import-not-found]

        return [r["article"] for r in load(limit)]
    own = [p.read_text(encoding="utf-8") for p in sorted((ROOT / "tests/data/articles").glob("*.txt"))]
    return (own * 100)[: limit or 400]


def lexrank() -> object:
    import nltk.tokenize
    import pysbd
    from sumy.nlp.stemmers import Stemmer
    from sumy.parsers.plaintext import PlaintextParser
    from sumy.summarizers.lex_rank import LexRankSummarizer
    from sumy.utils import get_stop_words

    seg = pysbd.Segmenter(language="en", clean=False)

    class Tok:  # sumy's own tokenizer needs NLTK data downloads; this one needs none
        language = "english"
        word = re.compile(r"^[^\W\d_](?:[^\W\d_]|['-])*$")
        tb = nltk.tokenize.TreebankWordTokenizer()

        def to_sentences(self, text: str) -> tuple[str, ...]:
            return tuple(s.strip() for s in seg.segment(text) if s.strip())

        def to_words(self, s: str) -> tuple[str, ...]:
            return tuple(w for w in self.tb.tokenize(s) if self.word.match(w))

    summ = LexRankSummarizer(Stemmer("english"))
    summ.stop_words = get_stop_words("english")
    tok = Tok()
    return lambda text: [
        str(s) for s in summ(PlaintextParser.from_string(re.sub(r"\s+", " ", text), tok).document, 3)
    ]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--limit", type=int, default=0)
    texts = articles(ap.parse_args().limit)
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "in.jsonl"
        src.write_text("".join(json.dumps({"id": i, "text": t}) + "\n" for i, t in enumerate(texts)), "utf-8")
        t = time.perf_counter()
        cmd = [sys.executable, "-m", "digest", "condense", "--batch", str(src), "--out", str(Path(tmp) / "o")]
        subprocess.run(cmd, check=True)
        ours = len(texts) / (time.perf_counter() - t)
    run = lexrank()
    t = time.perf_counter()
    for text in texts:
        run(text)  # type: ignore[operator]
    theirs = len(texts) / (time.perf_counter() - t)
    print(f"{len(texts)} articles")
    print(f"digest condense --batch (start-up included): {ours:8.1f} articles/s")
    print(f"sumy LexRank, 3 sentences:                   {theirs:8.1f} articles/s")
    print(f"ratio: {ours / theirs:.1f}x")


if __name__ == "__main__":
    main()
