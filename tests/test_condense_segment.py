"""Mending English sentence splits: glued captions and missed full stops are cut, names and
titles are not."""

from __future__ import annotations

import pytest

from digest.condense import condense_text
from digest.condense.segment import unglue


@pytest.mark.parametrize(
    ("text", "pieces"),
    [
        (  # a caption glued onto the next sentence, which opens with a determiner
            "Proud owner: the dog was found in the garden on Sunday The animal had been missing "
            "for three weeks before a neighbour spotted it.",
            [
                "Proud owner: the dog was found in the garden on Sunday.",
                "The animal had been missing for three weeks before a neighbour spotted it.",
            ],
        ),
        (  # a full stop the splitter missed
            "The bridge closed on Monday, according to reports. Engineers found cracks in two of its piers.",
            [
                "The bridge closed on Monday, according to reports.",
                "Engineers found cracks in two of its piers.",
            ],
        ),
        (  # a name and a verb after a lower-case word
            "The mayor's car was towed from outside the town hall Ms Okafor said she would pay the fine.",
            [
                "The mayor's car was towed from outside the town hall.",
                "Ms Okafor said she would pay the fine.",
            ],
        ),
        (  # "The" opening a sentence, even after a capitalised word
            "The men were accused of spying, say ISIS The new video shows them in a cell.",
            ["The men were accused of spying, say ISIS.", "The new video shows them in a cell."],
        ),
        (  # a caption label after a lower-case word
            "The lamb weighed twice as much as its peers Proud farmer: Jean Morris with the lamb on Sunday.",
            [
                "The lamb weighed twice as much as its peers.",
                "Proud farmer: Jean Morris with the lamb on Sunday.",
            ],
        ),
    ],
)
def test_glued_sentences_are_cut(text: str, pieces: list[str]) -> None:
    assert unglue(text) == pieces


@pytest.mark.parametrize(
    "text",
    [
        "The striker Ann Lee scored twice in the second half of the match.",
        "He told reporters on Friday that Ann Lee was innocent of all the charges.",
        "'We will rebuild the school by the summer,' Ann Lee said on Monday.",
        'Critics praised the documentary "Going Clear: Scientology and the Prison of Belief" on Sunday.',
        "The U.S. Army sent Gen. Smith to Fort No. 3 at 9 a.m. on Monday.",
        "The talks in The Hague ended without a deal.",
        "The former Manchester City striker agreed a deal with the Serie A side on Monday night.",
        "Short one The end.",
    ],
)
def test_names_titles_and_short_pieces_stay_whole(text: str) -> None:
    assert unglue(text) == [text]


ARTICLE = (
    "{lead} Engineers said the pipe was laid in 1952 and had been due for replacement for a decade. "
    "The council will pay for hotel rooms for the 112 people who had to leave their homes. "
    "Repairs are expected to take until the end of March, the water company said. "
    "Residents will meet the mayor on Thursday evening at the library to ask for compensation."
)


def test_a_short_summary_hands_the_lead_s_other_fact_to_the_key_points() -> None:
    lead = (
        "Northfield council has apologised to residents after a burst main flooded forty homes on Elm Street."
    )
    c = condense_text(ARTICLE.format(lead=lead))
    assert c.summary == "Northfield council has apologised to residents."
    assert "A burst main flooded forty homes on Elm Street." in [k.text for k in c.key_points]


def test_a_short_summary_whose_other_fact_cannot_stand_alone_keeps_the_whole_lead() -> None:
    lead = "A black dog was filmed as he carried a rope to his owner stuck in the river mud."
    c = condense_text(ARTICLE.format(lead=lead))
    assert c.summary == lead  # not "A black dog was filmed." with "He carried a rope…" elsewhere
    assert not any(k.text.startswith("He ") for k in c.key_points)


def test_a_place_after_its_adjective_is_not_a_glued_caption() -> None:
    s = (
        "More than a third of the reefs surveyed around the atoll in the western Pacific were "
        "bleached after a long marine heatwave, scientists said on Wednesday."
    )
    assert unglue(s) == [s]
