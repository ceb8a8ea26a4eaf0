"""Mending English sentence splits: glued captions and missed full stops are cut, names and
titles are not."""

from __future__ import annotations

import pytest

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


def test_a_place_after_its_adjective_is_not_a_glued_caption() -> None:
    s = (
        "More than a third of the reefs surveyed around the atoll in the western Pacific were "
        "bleached after a long marine heatwave, scientists said on Wednesday."
    )
    assert unglue(s) == [s]
