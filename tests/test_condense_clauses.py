"""Clause splitting (a long key point keeps its main clause), pronouns resolved, headlines."""

from __future__ import annotations

import pytest

from digest.condense.clauses import is_clause, split
from digest.condense.compress import fit
from digest.condense.refer import named_subject, resolve, stands_alone


def test_split_drops_attributions_and_participial_tails() -> None:
    parts = split("The city council approved the budget, officials said, leaving the library without funds.")
    assert parts.main == "The city council approved the budget."
    assert parts.extras == ()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("the fire broke out in the kitchen", True),
        ("a nine-day strike that stranded 40,000 residents", False),  # a noun phrase
        ("once belonging to the king", False),
        ("officials ordered an evacuation", True),
    ],
)
def test_is_clause(text: str, expected: bool) -> None:
    assert is_clause(text) is expected


def test_fit_cuts_at_a_clause_boundary_or_not_at_all() -> None:
    head = "The council approved the new harbour plan on Monday after a long debate about its cost"
    long = head + ", and " + " ".join(["more"] * 20)
    assert fit(long, 30) == head + "."
    # no verb left: "The team, led by Dr. Lee of the institute." is not a statement
    team = "The team, led by Dr. Ann Lee of the Institute for Lake Studies, drilled a core of sediment"
    assert fit(team + " from the lake in March and extracted DNA from 310 layers of mud", 20) == ""
    # a comma between adjectives is no boundary: no "…beginning a six-year." fragment
    lead = "A spacecraft built to study a loosely bound asteroid lifted off before dawn on Sunday"
    tail = ", beginning a six-year, 640-million-kilometre journey that will take it past Mars twice"
    assert fit(lead + tail, 24) == lead + "."
    assert fit(" ".join(["word"] * 40), 30) == ""
    assert fit("Short and sweet.", 30) == "Short and sweet."


def test_split_never_leaves_a_subordinate_clause_without_its_verb() -> None:
    sentence = (
        "The season began on a grim note when golfer Tom Reed, who came close in 2013, had to withdraw."
    )
    assert not split(sentence).main.endswith("Tom Reed.")


def test_a_named_subject_resolves_a_pronoun_of_a_split_off_fact() -> None:
    assert named_subject("Mr Davey was asked about the change.") == "Mr Davey"
    assert named_subject("Tragic: Ann Lee was found at home on Monday.") == "Ann Lee"
    assert named_subject("The man was charged with murder.") is None
    assert named_subject("He was charged with murder.") is None
    assert resolve("He was charged with murder.", "Ann Lee") == "Ann Lee was charged with murder."
    assert resolve("He was charged with murder.", None) == "He was charged with murder."
    assert stands_alone("A burst main flooded forty homes.")
    assert not stands_alone("He carried a rope to his owner.")


@pytest.mark.parametrize(
    ("lead", "lang", "headline"),
    [
        (
            "The space agency launched its Kestrel spacecraft on Sunday, sending a $1.4 billion mission "
            "toward an asteroid to find out what lies beneath its surface.",
            "en",
            "The space agency launched its Kestrel spacecraft on Sunday",
        ),
        (
            "La mairie de Saint-Aubin a annoncé mardi la fermeture de la piscine municipale pendant "
            "dix-huit mois pour des travaux de rénovation.",
            "fr",
            "La mairie de Saint-Aubin a annoncé mardi la fermeture de la piscine municipale "
            "pendant dix-huit mois",
        ),
    ],
)
def test_headline_from_lead_ends_where_a_phrase_ends(lead: str, lang: str, headline: str) -> None:
    from digest.condense.compress import headline_from_lead

    made = headline_from_lead(lead, lang)
    assert made == headline
    assert len(made.split()) <= 16
