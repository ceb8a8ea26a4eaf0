"""Grouping: two outlets' reports of one event merge; different events do not."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from digest.gather import group_stories
from digest.models import Article

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


def art(
    feed: str, title: str, text: str, hours: float = 1, weight: float = 1.0, topic: str | None = None
) -> Article:
    return Article(
        id=f"{feed}/{title}",
        feed_url=f"https://{feed}.example/feed",
        feed_name=feed,
        title=title,
        link="",
        published=NOW - timedelta(hours=hours),
        html="",
        text=text,
        topic=topic,
        weight=weight,
    )


# Background reports, so that words common in news weigh what they weigh in a real window.
BACKGROUND = [
    art(
        "bg",
        "City council approves new cycling lanes downtown",
        (
            "The council voted 7-2 on Monday to add 14 kilometres of protected bike lanes along Main"
            " Street and Harbour Road, with construction due in the spring."
        ),
    ),
    art(
        "bg",
        "Heatwave expected to break records across the south",
        (
            "Forecasters said temperatures could reach 41C on Thursday, and health officials urged "
            "people to stay indoors during the afternoon."
        ),
    ),
    art(
        "bg",
        "Local team wins cup final on penalties",
        (
            "Riverside FC beat Northbridge 4-3 on penalties after a 1-1 draw, lifting the trophy for"
            " the first time in 22 years."
        ),
    ),
    art(
        "bg",
        "Museum reopens after two-year renovation",
        (
            "The National Gallery of Arts reopened its west wing on Saturday with a new glass roof "
            "and a collection of 300 restored paintings."
        ),
    ),
    art(
        "bg",
        "Airline adds routes to three new cities",
        (
            "Skyway Air said it would start flights to Lisbon, Krakow and Tunis in June, citing "
            "strong demand for summer travel."
        ),
    ),
]

SAME = [
    (
        art(
            "wire",
            "Fed raises interest rates by a quarter point to 5.5%",
            (
                "The Federal Reserve raised its benchmark interest rate by 0.25 percentage point on "
                "Wednesday to a range of 5.25% to 5.5%, the highest in 22 years, as Chair Jerome "
                "Powell said inflation remained too high."
            ),
        ),
        art(
            "daily",
            "Federal Reserve lifts key rate to 22-year high",
            (
                "The US Federal Reserve lifted its key interest rate a quarter point to between "
                "5.25% and 5.5% on Wednesday. Jerome Powell told reporters that inflation was still "
                "too high and further hikes were possible."
            ),
        ),
    ),
    (
        art(
            "wire",
            "Magnitude 6.8 earthquake strikes off northern Japan",
            (
                "A magnitude 6.8 earthquake struck off the coast of Iwate prefecture in northern "
                "Japan on Friday, the Japan Meteorological Agency said. No tsunami warning was "
                "issued and there were no immediate reports of damage."
            ),
        ),
        art(
            "daily",
            "Strong quake jolts Iwate; no tsunami warning",
            (
                "A strong earthquake of magnitude 6.8 jolted Iwate prefecture in northern Japan on "
                "Friday. The Japan Meteorological Agency said there was no tsunami risk; trains in "
                "the region were briefly halted."
            ),
        ),
    ),
    (
        art(
            "tech",
            "Apple unveils iPhone 17 with thinner design",
            (
                "Apple unveiled the iPhone 17 at its Cupertino event on Tuesday, a thinner phone "
                "with a new A19 chip and a 48-megapixel camera, priced from $799 and shipping on 19 "
                "September."
            ),
        ),
        art(
            "gadgets",
            "iPhone 17 launch: Apple goes thinner with A19 chip",
            (
                "At its Cupertino event Apple launched the iPhone 17, with an A19 chip, a thinner "
                "body and a 48-megapixel main camera. It costs $799 and ships on 19 September."
            ),
        ),
    ),
]

DIFFERENT = [
    (
        art(
            "wire",
            "Fed raises interest rates by a quarter point to 5.5%",
            (
                "The Federal Reserve raised its benchmark interest rate by 0.25 percentage point on "
                "Wednesday to a range of 5.25% to 5.5%, as Chair Jerome Powell said inflation "
                "remained too high."
            ),
        ),
        art(
            "daily",
            "Bank of England holds interest rates at 5.25%",
            (
                "The Bank of England kept its interest rate at 5.25% on Thursday, with Governor "
                "Andrew Bailey saying inflation in Britain was falling faster than expected."
            ),
        ),
    ),
    (
        art(
            "wire",
            "Magnitude 6.8 earthquake strikes off northern Japan",
            (
                "A magnitude 6.8 earthquake struck off the coast of Iwate prefecture in northern "
                "Japan on Friday, the Japan Meteorological Agency said."
            ),
        ),
        art(
            "daily",
            "Magnitude 6.1 earthquake shakes central Chile",
            (
                "A magnitude 6.1 earthquake shook central Chile near Valparaiso on Sunday, Chile's "
                "seismological centre said, with buildings swaying in Santiago."
            ),
        ),
    ),
    (
        art(
            "tech",
            "Apple unveils iPhone 17 with thinner design",
            (
                "Apple unveiled the iPhone 17 at its Cupertino event on Tuesday, a thinner phone "
                "with a new A19 chip and a 48-megapixel camera."
            ),
        ),
        art(
            "gadgets",
            "EU fines Apple 1.8 billion euros over music streaming",
            (
                "The European Commission fined Apple 1.8 billion euros on Monday for stopping music "
                "streaming apps from telling iPhone users about cheaper subscriptions outside the "
                "App Store."
            ),
        ),
    ),
]


def _together(a: Article, b: Article, threshold: float = 0.3) -> bool:
    stories = group_stories([a, b, *BACKGROUND], threshold=threshold)
    return any({a.id, b.id} <= {x.id for x in s.articles} for s in stories)


@pytest.mark.parametrize(("a", "b"), SAME, ids=["fed", "quake", "iphone"])
def test_two_outlets_on_one_event_merge(a: Article, b: Article) -> None:
    assert _together(a, b)


@pytest.mark.parametrize(("a", "b"), DIFFERENT, ids=["fed-vs-boe", "japan-vs-chile", "launch-vs-fine"])
def test_different_events_do_not_merge(a: Article, b: Article) -> None:
    assert not _together(a, b)


def test_all_pairs_at_once_keep_every_source_and_lead_by_weight() -> None:
    articles = [x for pair in SAME for x in pair] + BACKGROUND
    heavy = art("heavy", SAME[0][0].title, SAME[0][0].text, weight=3.0)
    stories = group_stories([*articles, heavy])
    assert len(stories) == len(SAME) + len(BACKGROUND)
    fed = next(s for s in stories if heavy in s.articles)
    assert fed.lead == heavy
    assert len(fed.articles) == 3


def test_same_feed_never_merges_with_itself() -> None:
    a = art("wire", "Live: day 3 of the summit", "Leaders met in Geneva for the third day of talks on trade.")
    b = art(
        "wire", "Live: day 4 of the summit", "Leaders met in Geneva for the fourth day of talks on trade."
    )
    assert len(group_stories([a, b])) == 2


def test_grouping_is_deterministic_and_ids_stable() -> None:
    articles = [x for pair in SAME for x in pair] + BACKGROUND
    first = group_stories(articles)
    again = group_stories(list(reversed(articles)))
    assert [s.id for s in first] == [s.id for s in again]
    assert [s.published for s in first] == sorted((s.published for s in first), reverse=True)
