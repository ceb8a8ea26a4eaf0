"""A sample edition written for this project: for previews, tests and the render benchmark.

Contains no I/O. The stories are fictional; every link is an https URL on example domains.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from ..models import Article, Condensed, Edition, EditionStory, KeyPoint, Story

# topic, headline, summary, key points, outlets (the first is the lead report)
_STORIES: tuple[tuple[str, str, str, tuple[str, ...], tuple[str, ...]], ...] = (
    (
        "world",
        "Coastal nations agree a shared plan to restore fish stocks by 2035",
        "Negotiators from fourteen coastal states closed a week of talks with a plan to cut catch limits "
        "for three years and fund monitoring boats jointly.",
        (
            "Catch limits fall by a fifth for cod and hake from next spring.",
            "A joint fund of 240 million euros pays for patrol and survey vessels.",
            "Small fishing fleets get a compensation scheme for the first two years.",
        ),
        ("Harbour Times", "The Northern Ledger", "Coastline Weekly"),
    ),
    (
        "world",
        "Election officials finish the recount in the mountain province",
        "The recount confirmed the incumbent's narrow lead after three weeks of hand counting "
        "observed by both parties.",
        (
            "The margin shrank from 412 votes to 318.",
            "Observers reported no irregularities in the final tally.",
            "The challenger said she would not appeal the result.",
        ),
        ("The Northern Ledger", "Daily Meridian"),
    ),
    (
        "world",
        "Rail link between the two capitals reopens after flood repairs",
        "Trains run again on the line closed since the spring floods, with slower speeds on the "
        "rebuilt bridge until inspections finish.",
        (
            "Repairs took seven months and cost 85 million.",
            "Journeys take twenty minutes longer until December.",
        ),
        ("Daily Meridian",),
    ),
    (
        "world",
        "City council votes to turn the old port warehouses into housing",
        "The plan converts six listed warehouses into 900 homes, a third of them at social rents.",
        (
            "Construction starts next autumn and lasts four years.",
            "The historic façades will be kept.",
            "Residents' groups asked for more green space in the design.",
        ),
        ("Harbour Times", "Civic Post"),
    ),
    (
        "science",
        "Astronomers spot water vapour around a nearby rocky planet",
        "Spectra taken over two nights show water vapour in the thin atmosphere of a planet "
        "forty light years away, a first for a world this small.",
        (
            "The planet is about 1.3 times the size of Earth.",
            "It orbits a red dwarf every 11 days, too close to be temperate.",
            "Independent teams will repeat the observation next year.",
        ),
        ("Science Dispatch", "Orbit Review", "The Northern Ledger"),
    ),
    (
        "science",
        "A new battery chemistry survives 10,000 charge cycles in lab tests",
        "Researchers report a sodium-based cell that keeps 90 percent of its capacity after 10,000 "
        "cycles, which could suit storage for solar farms.",
        (
            "The cell uses no cobalt or lithium.",
            "Energy density is still below today's phone batteries.",
            "A pilot production line is planned for 2027.",
        ),
        ("Science Dispatch", "Tech Ledger"),
    ),
    (
        "science",
        "Ancient seeds germinate after 2,000 years in a desert cave",
        "Botanists coaxed three date palm seeds recovered from a dry cave into sprouting, "
        "offering a glimpse of varieties lost for centuries.",
        (
            "Radiocarbon dating places the seeds between 150 BC and 100 AD.",
            "Two of the three seedlings are growing normally.",
        ),
        ("Orbit Review",),
    ),
    (
        "science",
        "Survey finds bee populations recovering in rewilded farmland",
        "A five-year survey across 120 farms found wild bee numbers up by a third where field "
        "margins were left to flower.",
        (
            "Bumblebee species returned fastest.",
            "Crop yields did not fall on the rewilded farms.",
            "The survey will be extended to orchards.",
        ),
        ("Science Dispatch", "Green Field Journal"),
    ),
    (
        "technology",
        "Open-source maintainers get a new fund for security audits",
        "A foundation backed by several software companies will pay for independent audits of "
        "widely used open-source libraries.",
        (
            "The first round covers forty projects.",
            "Maintainers choose the auditors themselves.",
            "Reports will be published after fixes ship.",
        ),
        ("Tech Ledger", "Daily Meridian"),
    ),
    (
        "technology",
        "Regulator sets a deadline for phone makers to offer seven years of updates",
        "New phones sold from 2027 must receive security updates for at least seven years after "
        "the last unit is sold.",
        (
            "Spare parts must stay available for the same period.",
            "Makers that miss the rule face fines of up to 4 percent of turnover.",
        ),
        ("Tech Ledger",),
    ),
    (
        "technology",
        "A town replaces its street lights with adaptive LEDs and halves the bill",
        "The lights dim when streets are empty and brighten when sensors detect people, cutting "
        "energy use by 52 percent in the first year.",
        (
            "The project paid for itself in under four years.",
            "Astronomers welcomed the darker night sky.",
            "Two nearby towns plan to copy the scheme.",
        ),
        ("Civic Post", "Tech Ledger"),
    ),
    (
        "culture",
        "The national library opens its sound archive to the public",
        "Two hundred thousand recordings, from early wax cylinders to radio plays, can now be "
        "heard online for free.",
        (
            "Volunteers spent six years digitising the collection.",
            "Rare folk recordings make up a quarter of the archive.",
            "Schools get teaching material built on the recordings.",
        ),
        ("Arts Review", "Daily Meridian"),
    ),
    (
        "culture",
        "A debut novel about a lighthouse keeper wins the spring prize",
        "The judges praised the book's spare language and its portrait of a shrinking island community.",
        (
            "The author worked as a ferry pilot for twenty years.",
            "The prize comes with 25,000 in prize money.",
        ),
        ("Arts Review",),
    ),
    (
        "culture",
        "Restorers uncover a hidden mural behind a church organ",
        "Work to repair the organ revealed a fifteenth-century painting of the harvest that had "
        "been covered for three hundred years.",
        (
            "The mural measures four metres across.",
            "It will be visible to visitors from next summer.",
            "The organ will be rebuilt a metre further from the wall.",
        ),
        ("Arts Review", "Civic Post", "The Northern Ledger"),
    ),
    (
        "sport",
        "The underdogs win the cup final in extra time",
        "A header in the 112th minute gave the second-division side its first major trophy in "
        "the club's 98-year history.",
        (
            "The winning goal came from a corner.",
            "Attendance was a record 61,000.",
            "The club earns a place in next season's continental competition.",
        ),
        ("Sports Desk", "Daily Meridian"),
    ),
)


def _slug(text: str) -> str:
    return "-".join("".join(c for c in w if c.isalnum()) for w in text.lower().split()[:8])


def _article(topic: str, outlet: str, headline: str, body: str, published: datetime) -> Article:
    host = _slug(outlet).replace("-", "") + ".example"
    return Article(
        id=f"{host}/{_slug(headline)}",
        feed_url=f"https://{host}/feed.xml",
        feed_name=outlet,
        title=headline,
        link=f"https://{host}/{topic}/{_slug(headline)}",
        published=published,
        html=f"<p>{body}</p>",
        text=body,
        topic=topic,
    )


def sample_edition(day: date = date(2026, 11, 26), stories: int = 15, *, intro: str = "") -> Edition:
    """An edition of ``stories`` fictional stories in five topics, for ``day``.

    The first 15 are distinct; beyond them (to try the size limits of a 100-story edition)
    the same 15 come round again as follow-ups, with their own headlines, ids and links.
    """
    created = datetime(day.year, day.month, day.day, 7, 0, tzinfo=UTC)
    chosen = []
    for n in range(stories):
        topic, headline, summary, points, outlets = _STORIES[n % len(_STORIES)]
        if n >= len(_STORIES):
            headline = f"{headline}: follow-up {n // len(_STORIES)}"
        # Repeat the text to a realistic article length (reading time near 3 minutes).
        body = " ".join([summary, *points] * 12)
        published = created - timedelta(hours=n + 1)
        arts = tuple(_article(topic, o, headline, body, published) for o in outlets)
        kps = tuple(KeyPoint(p, i % len(arts)) for i, p in enumerate(points))
        story = Story(id=f"s{n}", articles=arts, topic=topic, score=float(len(_STORIES) - n))
        chosen.append(EditionStory(story, Condensed(headline, summary, kps)))
    return Edition(
        id=day.isoformat(),
        day=day,
        title="Morning Digest",
        stories=tuple(chosen),
        created=created,
        intro=intro,
    )
