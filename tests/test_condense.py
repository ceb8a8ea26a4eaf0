"""The extractive condenser: cleaning, splitting, compression, languages, stories, cache."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from digest.condense import Condenser, condense_text
from digest.condense.clean import clean_paragraphs
from digest.condense.compress import clean_headline, compress
from digest.condense.language import detect_language, split_sentences
from digest.config import CondenseConfig
from digest.errors import CondenseError
from digest.models import Article, Condensed, Story
from digest.store import open_store

ARTICLES = Path(__file__).parent / "data" / "articles"
CLUTTER = ("subscribe", "logged in", "check out", "share this", "related", "photo:", "contents", "click here")


def _words(s: str) -> int:
    return len(s.split())


def assert_well_formed(c: Condensed) -> None:
    assert c.headline
    assert _words(c.headline) <= 16
    assert c.summary
    assert _words(c.summary) <= 62
    assert 3 <= len(c.key_points) <= 5
    texts = [k.text for k in c.key_points]
    assert len(set(texts)) == len(texts)
    for t in texts:
        assert _words(t) <= 39, t  # under 40 words
        assert t[0].isupper() or t[0].isdigit() or t[0] in "\"“'‘", t


def _content(text: str) -> set[str]:
    return {w.strip(".,;:'\"“”’").casefold() for w in text.split() if len(w.strip(".,;:'\"“”’")) > 3}


def assert_no_repeats(c: Condensed) -> None:
    """No key point says again what the summary or another key point says (content-word overlap)."""
    summary = _content(c.summary)
    seen: list[set[str]] = []
    for k in c.key_points:
        mine = _content(k.text)
        assert len(mine & summary) / max(len(mine), 1) < 0.6, (k.text, c.summary)
        for other in seen:
            assert len(mine & other) / max(min(len(mine), len(other)), 1) < 0.8, k.text
        seen.append(mine)


def assert_complete(c: Condensed) -> None:
    """Key points and summary are whole statements: no ellipsis cut, closing punctuation."""
    assert _words(c.summary) <= 60
    assert "…" not in c.summary
    assert not c.summary.casefold().startswith(("this ", "these ", "that ", "such "))
    for k in c.key_points:
        assert "…" not in k.text, k.text
        assert k.text[-1] in '.!?"”’', k.text
        assert _words(k.text) <= 39, k.text


@pytest.mark.parametrize(
    "name", ["messy-en.txt", "glued-en.txt", "two-reports-en.txt", "de.txt", "fr.txt", "es.txt"]
)
def test_key_points_neither_repeat_the_summary_nor_get_cut(name: str) -> None:
    c = condense_text((ARTICLES / name).read_text(encoding="utf-8"))
    assert_well_formed(c)
    assert_no_repeats(c)
    assert_complete(c)


@pytest.mark.parametrize("name", ["messy-en.txt", "glued-en.txt"])
def test_messy_article_comes_out_clean(name: str) -> None:
    text = (ARTICLES / name).read_text(encoding="utf-8")
    c = condense_text(text)
    assert_well_formed(c)
    every = " ".join([c.headline, c.summary, *(k.text for k in c.key_points)]).casefold()
    for junk in CLUTTER:
        assert junk not in every, junk
    title = text.splitlines()[0].split(" - ")[0]
    for k in c.key_points:
        assert not k.text.startswith(title), "headline glued onto a paragraph"
    assert c.summary not in (k.text for k in c.key_points)


def test_messy_article_keeps_the_facts() -> None:
    c = condense_text((ARTICLES / "messy-en.txt").read_text(encoding="utf-8"))
    assert c.headline == "Harbor City Approves $2.4 Billion Flood Barrier"
    facts = " ".join([c.summary, *(k.text for k in c.key_points)])
    assert "$2.4 billion" in facts
    assert "7-2" in facts
    assert "March 2027" in facts


def test_leading_connective_is_trimmed() -> None:
    assert compress("However, two council members warned that taxes would rise.", "en") == (
        "Two council members warned that taxes would rise."
    )
    assert compress("Meanwhile, the fund will pay out by September.", "en").startswith("The fund")


@pytest.mark.parametrize(
    ("sentence", "expected"),
    [
        (
            "Prices rose 18% since April, according to the millers' association.",
            "Prices rose 18% since April.",
        ),
        (
            "The mayor will sign the bill on Friday, a spokesman said.",
            "The mayor will sign the bill on Friday.",
        ),
        (
            "The barrier (first proposed by engineers) will close at high tide.",
            "The barrier will close at high tide.",
        ),
        ("Short one, he said.", "Short one, he said."),  # too little would be left
    ],
)
def test_compress(sentence: str, expected: str) -> None:
    assert compress(sentence, "en") == expected.rstrip(".") or compress(sentence, "en") == expected


@pytest.mark.parametrize(
    ("title", "expected"),
    [
        ("Flood barrier approved - Reuters", "Flood barrier approved"),
        ("Flood barrier approved | BBC News", "Flood barrier approved"),
        ("  Tom &amp; Jerry   win   again ", "Tom & Jerry win again"),
        (" ".join(f"w{i}" for i in range(30)), " ".join(f"w{i}" for i in range(16)) + "…"),
    ],
)
def test_clean_headline(title: str, expected: str) -> None:
    assert clean_headline(title) == expected


@pytest.mark.parametrize(
    ("text", "n"),
    [
        ("The U.S. Army sent Gen. Smith to Fort No. 3 at 9 a.m. on Monday. He arrived late.", 2),
        ("Dr. Ada Lee said prices rose 3.5% to $3,000. Sales fell.", 2),
        ('He said "we will win." Then he left.', 2),
    ],
)
def test_split_survives_abbreviations_numbers_quotes(text: str, n: int) -> None:
    assert len(split_sentences(text, "en")) == n


def test_split_german_ordinal_and_abbreviation() -> None:
    text = "Der Rat tagt am 3. Dezember im Rathaus. Dr. Hansel kommt z.B. auch. Das ist neu."
    assert split_sentences(text, "de") == [
        "Der Rat tagt am 3. Dezember im Rathaus.",
        "Dr. Hansel kommt z.B. auch.",
        "Das ist neu.",
    ]


@pytest.mark.parametrize(("name", "lang"), [("de.txt", "de"), ("fr.txt", "fr"), ("es.txt", "es")])
def test_other_languages(name: str, lang: str) -> None:
    text = (ARTICLES / name).read_text(encoding="utf-8")
    assert detect_language(text) == lang
    c = condense_text(text)
    assert c.language == lang
    assert_well_formed(c)


def test_unknown_language_gets_lead_fallback() -> None:
    text = "Lorem ipsum dolor sit amet. Consectetur adipiscing elit sed. Do eiusmod tempor. Ut labore."
    c = condense_text(text)
    assert c.language == "unk"
    assert c.summary.startswith("Lorem ipsum")
    assert [k.text for k in c.key_points][:2] == ["Consectetur adipiscing elit sed.", "Do eiusmod tempor."]


def test_html_goes_through_the_extractor() -> None:
    c = condense_text((ARTICLES / "page.html").read_text(encoding="utf-8"))
    assert c.headline == "Library Opens Night Reading Room"
    every = " ".join(k.text for k in c.key_points)
    assert "2 a.m." in every or "2 a.m." in c.summary
    assert "Subscribe" not in every
    assert "Home" not in every


def test_clean_paragraphs_drops_lists_and_headings() -> None:
    paras, title = clean_paragraphs((ARTICLES / "messy-en.txt").read_text(encoding="utf-8"))
    assert title == "Harbor City Approves $2.4 Billion Flood Barrier - The Coastal Ledger"
    assert all(len(p.split()) > 14 for p in paras)
    assert not any(p.startswith("Harbor City Approves") for p in paras)


@pytest.mark.parametrize("text", ["", "   \n\n  ", "<p></p><div></div>"])
def test_no_text_is_a_clear_error(text: str) -> None:
    with pytest.raises(CondenseError, match="no usable text"):
        condense_text(text)


def test_seed_article(shared_dir: Path) -> None:
    c = condense_text((shared_dir / "fixtures" / "seed-article.txt").read_text(encoding="utf-8"))
    assert_well_formed(c)
    assert_complete(c)
    every = " ".join([c.summary, *(k.text for k in c.key_points)])
    assert "3,000" in every
    points = " ".join(k.text for k in c.key_points)
    # Facts from both reports: the numbers, who confirmed what, the denials, how Seoul responded
    # and what each side gains.
    assert "10,000" in points or "12,000" in points
    assert "confirmed" in points
    assert "deny" in points or "dismissed" in points
    assert "ambassador" in points or "lethal aid" in points
    assert "food" in points or "manpower" in points or "munitions" in points
    assert_no_repeats(c)
    assert "latest news" not in every
    assert "logged in" not in every
    assert "CONTENTS" not in every
    assert "War There are" not in every


def _article(i: int, text: str, title: str = "") -> Article:
    when = datetime(2026, 11, 26, 6, tzinfo=UTC)
    return Article(f"a{i}", f"https://outlet{i}.example/feed", f"Outlet {i}", title, "", when, "", text)


def test_story_of_two_outlets_draws_from_both_without_repeats() -> None:
    one = (ARTICLES / "messy-en.txt").read_text(encoding="utf-8")
    two = (
        "Harbor City's council approved a $2.4 billion flood barrier on Tuesday by a vote of 7 to 2. "
        "Insurance companies said premiums in the lower town could fall by a quarter once the gates work. "
        "The port authority warned that ships would need new pilots' training to pass the gates. "
        "The first contracts will be put out to tender in January."
    )
    story = Story(
        "s1", (_article(0, one, "Flood barrier approved"), _article(1, two, "Council backs barrier"))
    )
    c = Condenser(CondenseConfig()).condense_story(story)
    assert c.headline == "Flood barrier approved"
    assert {k.source for k in c.key_points} == {0, 1}
    texts = [k.text for k in c.key_points]
    assert len(texts) == len(set(texts))
    assert not any("7 to 2" in t for t in texts), "the vote is already told by the lead source"


def test_cache_in_a_real_store(tmp_path: Path) -> None:
    store = open_store(tmp_path / "digest.db")
    story = Story("s1", (_article(0, (ARTICLES / "glued-en.txt").read_text(encoding="utf-8"), "Drought"),))
    first = Condenser(CondenseConfig(), cache=store)
    c1 = first.condense_story(story)
    second = Condenser(CondenseConfig(), cache=store)
    c2 = second.condense_story(story)
    assert c1 == c2
    assert first.report.condensed == 1
    assert first.report.cached == 0
    assert second.report.condensed == 0
    assert second.report.cached == 1
    assert second.report.as_dict()["cached"] == 1


def test_story_without_text_fails_with_its_id() -> None:
    condenser = Condenser(CondenseConfig())
    with pytest.raises(CondenseError, match="story s9"):
        condenser.condense_story(Story("s9", (_article(0, "  "),)))
    assert condenser.report.failed == 1


def test_a_lead_tail_that_cannot_stand_alone_stays_in_the_summary() -> None:
    text = (
        "The Harbor Board approved a new ferry terminal on Monday, sending a $90 million project to "
        "the city council for a final vote next month. The terminal would replace a pier built in 1962. "
        "Board members voted 5-2 after a three-hour hearing. Residents raised concerns about traffic on "
        "Dock Street. Construction could begin in the spring of 2027 if the council agrees."
    )
    c = condense_text(text, title="Harbor Board backs ferry terminal")
    assert "$90 million" in c.summary or any("$90 million" in k.text for k in c.key_points)


def test_another_outlets_lead_is_not_a_key_point() -> None:
    one = (
        "The city council approved a $2 billion flood barrier on Tuesday. The barrier will protect "
        "180,000 residents. Construction starts in March 2027. The vote was 7-2 after a long debate. "
        "Opponents said the cost would force cuts to bus services."
    )
    two = (
        "Councillors voted on Tuesday to build a flood wall costing $2 billion across the river mouth. "
        "Engineers expect the wall to be finished by 2031. The state will pay a third of the bill. "
        "Insurers welcomed the decision and said premiums could fall."
    )
    story = Story("s2", (_article(0, one, "Flood barrier approved"), _article(1, two, "Council backs wall")))
    condensed = Condenser(CondenseConfig()).condense_story(story)
    assert not any(k.text.startswith("Councillors voted on Tuesday") for k in condensed.key_points)
    assert any(k.source == 1 for k in condensed.key_points)  # the other outlet still gives facts
