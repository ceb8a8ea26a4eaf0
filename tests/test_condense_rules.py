"""Rules of the extractive condenser, each on text written for the test."""

from __future__ import annotations

from pathlib import Path

from digest.condense import condense_text
from digest.condense.extractive import Source, _by_recency, _supersede
from digest.condense.refer import name_thing, named_subject, resolve, stands_alone, thing_subject
from digest.condense.segment import unglue
from digest.condense.select import Sentence, choose
from digest.condense.units import MONEY_WEIGHT, NUMBER_WEIGHT, units

ARTICLES = Path(__file__).parent / "data" / "articles"


def test_french_impersonal_il_is_never_a_name() -> None:
    assert resolve("Il s'agit de la quatrième panne depuis mai.", "M. Dupré") == (
        "Il s'agit de la quatrième panne depuis mai."
    )
    assert resolve("Il faut compter deux heures de retard.", "M. Dupré").startswith("Il faut")
    assert resolve("Il a démissionné lundi.", "M. Dupré") == "M. Dupré a démissionné lundi."


def test_an_opening_preposition_is_no_name() -> None:
    assert named_subject("Selon la mairie, le pont restera fermé jusqu'en mars.") is None
    assert named_subject("Según el ayuntamiento, el puente seguirá cerrado.") is None


def test_a_possessive_with_nobody_named_before_it_does_not_read_alone() -> None:
    assert not stands_alone("Three of the nine people who ran his bakery lost their jobs in May.")
    assert stands_alone("Three of the nine people who ran Tom Orwell's bakery lost their jobs in May.")


def test_a_country_s_initials_close_a_sentence_before_the_next() -> None:
    glued = "The tablet goes on sale in the U.S. Buyers in Canada will wait until the spring."
    assert unglue(glued) == [
        "The tablet goes on sale in the U.S.",
        "Buyers in Canada will wait until the spring.",
    ]
    kept = "She served in the U.S. Navy for twelve years before she retired."
    assert unglue(kept) == [kept]


def test_money_and_shares_weigh_more_than_other_figures() -> None:
    got = units("The bakery sold 400 loaves for $1,250 and its sales rose 12% in the week.", "en")
    assert got["#1250"] == MONEY_WEIGHT
    assert got["#12"] == MONEY_WEIGHT
    assert got["#400"] == NUMBER_WEIGHT < MONEY_WEIGHT


def test_the_summary_takes_a_second_sentence_that_says_it() -> None:
    text = (
        "Orwell Cycles unveiled the Ridgeback e-bike on Monday, a lighter model that the company hopes "
        "will win back riders who chose cheaper rivals. It will cost $1,900 when it goes on sale on "
        "May 4, $300 less than the model it replaces. The frame weighs 14 kilograms. The battery "
        "lasts 90 kilometres. The motor was built in Leeds. Dealers in 30 countries will stock it. "
        "Shares in the company rose 4% after the launch. Analysts expect 60,000 sales in a year."
    )
    c = condense_text(text, title="Orwell Cycles unveils the Ridgeback e-bike")
    assert "$1,900" in c.summary
    assert c.summary.count(".") >= 2


def test_a_newer_report_s_figures_supersede() -> None:
    page = (
        "Landslide blocks valley road\n\n"
        "12 March 2026\n\n"
        "A landslide blocked the valley road on Monday. Crews said 40 homes were cut off from the "
        "town. The county engineer said it could take a week to clear.\n\n"
        "Valley road to reopen within days\n\n"
        "14 March 2026\n\n"
        "Crews cleared most of the landslide on Wednesday. Officials said 40 homes were still cut "
        "off but would be reached by Friday. The county promised a survey of the slope.\n"
    )
    story = _by_recency([Source(page)], "en")
    assert len(story) == 2
    old = next(s for s in story[0].sentences if "40" in s.text)
    _supersede(story, [old])
    assert "#40" not in old.units  # the newer report tells it


def _sentence(text: str, position: int) -> Sentence:
    return Sentence(text, 0, position, float(position), (0, 0), (0, 0), len(text.split()), units(text, "en"))


def test_choose_compresses_only_what_comes_out_best() -> None:
    pool = [
        _sentence("The mill in Carrow employs 310 people and ships flour to nine countries.", 1),
        _sentence("The council fined the mill $40,000 for polluting the Dunn river last spring.", 2),
        _sentence("A new kiln will cut the mill's gas use by a third, the owners promised.", 3),
        _sentence("Workers at the mill voted to accept a 4% pay rise on Thursday evening.", 4),
    ]
    made: list[str] = []

    def ready(s: Sentence) -> bool:
        made.append(s.text)
        s.point = s.text
        return "kiln" not in s.text  # one that cannot be made a point is dropped

    picked = choose(pool, {}, most=2, least=2, ready=ready)
    assert len(picked) == 2
    assert all("kiln" not in s.text for s in picked)
    assert len(made) <= 3  # the last one never came out best: it was never compressed


def test_it_and_they_are_named_by_the_subject_of_the_sentence_before() -> None:
    company = thing_subject("The ferry company said its fuel costs had risen by a third.")
    assert company == ("The ferry company", False)
    assert name_thing("It also cut two winter crossings.", company) == (
        "The ferry company also cut two winter crossings."
    )
    group = thing_subject("Officials at the Carrow works were sent home on Friday.")
    assert group == ("Officials at the Carrow works", True)
    assert name_thing("They say the boiler was never serviced.", group) == (
        "Officials at the Carrow works say the boiler was never serviced."
    )
    pair = thing_subject("Brellin and Osk signed a trade treaty in March.")
    assert name_thing("They deny any secret clause.", pair) == "Brellin and Osk deny any secret clause."
    # "A study found…" is named as "The study"
    study = thing_subject("A study of 900 drivers found that most ignored the sign.")
    named = name_thing("It also found that few knew the limit.", study)
    assert named.startswith("The study of 900 drivers also found")


def test_it_and_they_stay_when_their_referent_is_unclear() -> None:
    company = ("The ferry company", False)
    # a clause or nothing at all: "It comes after…", "It is unclear…", "It emerged…"
    for impersonal in (
        "It comes after a year of losses.",
        "It is unclear who will pay.",
        "It also emerged that the engines were old.",
        "It means fares will rise again.",
    ):
        assert name_thing(impersonal, company) == impersonal
    # number must agree: "they" is no company
    assert name_thing("They cut two crossings.", company) == "They cut two crossings."
    # a person, a name alone (it may be a person), speech, a plural-looking name: no referent
    assert thing_subject("The driver was taken to hospital on Monday.") is None
    assert thing_subject("Halvorsen scored twice in the second half.") is None
    assert thing_subject("Rodgers would not discuss the matter.") is None
    assert thing_subject("The mayor added: the bridge must close.") is None
    assert thing_subject("In the spring the council voted to close it.") is None


def test_a_key_point_that_opens_with_it_names_what_it_stands_for() -> None:
    text = (
        "Harwick council voted on Tuesday to close the Tarn footbridge for nine months from June. "
        "The footbridge carries 4,000 walkers a day between the station and the market. "
        "It will be replaced by a ferry service that runs every ten minutes. "
        "The council's engineers found cracks in four of its six steel cables in January. "
        "They said a repair would cost £2.3 million and last only a decade. "
        "Traders at the market fear they will lose a fifth of their takings. "
        "A new bridge is due to open in 2028 at a cost of £11 million."
    )
    c = condense_text(text, title="Harwick council closes the Tarn footbridge")
    points = [k.text for k in c.key_points]
    assert not any(p.startswith(("It ", "They ")) for p in points)
    assert any(p.startswith("The council's engineers said a repair would cost £2.3 million") for p in points)


def test_a_name_that_opens_the_sentence_is_what_its_pronouns_stand_for() -> None:
    assert stands_alone("Marwick has earned praise from his fans after a late goal.")
    assert stands_alone("Estoria denied it would miss the payment due in May.")
    assert stands_alone("Tom Orwell said his bakery would reopen.")
    assert not stands_alone("Police said his car was found in a ditch.")  # whose car?
    assert not stands_alone("The photo was shared with her 9,000 followers.")


def test_points_carry_distinct_acts_with_their_dates() -> None:
    c = condense_text((ARTICLES / "acts-en.txt").read_text(encoding="utf-8"))
    told = " ".join(k.text for k in c.key_points)
    assert "confirmed" in told  # who confirmed what
    assert "treaty in March" in told  # the pact and its month
    assert "by October" in told  # the promise and its deadline
    assert "summoned" in told  # the neighbour's response
    # one denial is told, not two: "rejected" and "dismissed" are one kind of act
    assert ("rejected" in told) != ("dismissed" in told)


def test_a_report_whose_body_adds_no_facts_keeps_its_points_in_the_lead() -> None:
    text = (ARTICLES / "lead-heavy-en.txt").read_text(encoding="utf-8")
    c = condense_text(text)
    told = " ".join(k.text for k in c.key_points)
    # the facts after the summary are in the lead: the injured, the suspension, the inquiry
    assert "suspended work on all eleven of its cranes" in told
    assert "inquiry" in told
    assert "Gulls" not in told  # the colour of the body ranks low


def test_how_far_a_report_spreads_its_facts() -> None:
    from digest.condense.extractive import Source, _by_recency, body_facts

    lead_heavy = _by_recency([Source((ARTICLES / "lead-heavy-en.txt").read_text(encoding="utf-8"))], "en")
    spread = _by_recency([Source((ARTICLES / "acts-en.txt").read_text(encoding="utf-8"))], "en")
    assert body_facts(lead_heavy[-1].sentences) < 0.3 < body_facts(spread[-1].sentences)


def test_an_item_of_a_list_is_no_key_point() -> None:
    from digest.condense.select import Sentence, penalty

    item = Sentence("unemployment peaking at 6.1% in mid-2031.", 0, 9, 9.0, (0, 0), (0, 0), 6)
    brand = Sentence("iPhone sales in Norland rose 12% in the spring.", 0, 9, 9.0, (0, 0), (0, 0), 9)
    assert penalty(item) >= 1.0
    assert penalty(brand) < 1.0


def test_a_point_that_only_gives_a_figure_again_is_a_repeat() -> None:
    from digest.condense.select import Sentence, repeats

    told = units("The agency launched a $2.3 billion probe toward the comet Vell on Sunday.", "en")
    again = Sentence(
        "The mission cost $2.3 billion, making it the agency's costliest project to date.",
        0,
        7,
        7.0,
        (0, 0),
        (0, 0),
        13,
    )
    again.units = units(again.text, "en")
    confirmed = Sentence(
        "The ministry confirmed the $2.3 billion budget for the mission last week.",
        0,
        8,
        8.0,
        (0, 0),
        (0, 0),
        12,
    )
    confirmed.units = units(confirmed.text, "en")
    assert repeats(again, told)
    assert not repeats(confirmed, told)  # a new act: who confirmed it


def test_the_verbs_of_a_quote_are_no_acts() -> None:
    assert "!promise" not in units("“Big contracts always cost more than anyone promises.", "en")
    assert "!promise" in units("The mayor promises a new bridge by June.", "en")
