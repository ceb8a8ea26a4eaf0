"""The rendered edition: size, links, markup, escaping, personalisation and templates."""

from __future__ import annotations

import dataclasses
import re
from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from html import unescape
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from digest.config import Settings
from digest.errors import ConfigError, TemplateError
from digest.models import Edition, KeyPoint, Subscriber, SubscriberStatus
from digest.render import EditionRenderer, RenderedMessage
from digest.render.sample import sample_edition
from digest.render.templates import default_dir

NOW = datetime(2026, 11, 26, 7, 0, tzinfo=UTC)
SECRET = b"render-test-secret"
ALICE = Subscriber("alice@example.com", "Alice")


def settings(**kw: Any) -> Settings:
    render = kw.pop("render", {})
    return Settings.model_validate(
        {"postal_address": "Digest Ltd, 1 Harbour Street, Portsmouth", **kw, "render": render}
    )


def renderer(edition: Edition | None = None, **kw: Any) -> EditionRenderer:
    return EditionRenderer(edition or sample_edition(), settings(**kw), secret=SECRET, now=NOW)


def parts(data: bytes) -> tuple[EmailMessage, str, str]:
    msg = message_from_bytes(data, policy=policy.default)
    assert isinstance(msg, EmailMessage)
    html = msg.get_body(("html",))
    text = msg.get_body(("plain",))
    assert html is not None
    assert text is not None
    return msg, html.get_content().replace("\r\n", "\n"), text.get_content().replace("\r\n", "\n")


class _Tags(HTMLParser):
    """Element names and text of an HTML document, as a browser would parse it."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.names: set[str] = set()
        self.text = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.names.add(tag)

    def handle_data(self, data: str) -> None:
        self.text += data


@pytest.fixture(scope="module")
def full() -> RenderedMessage:
    return renderer().preview(ALICE)


def test_fifteen_stories_fit_under_gmail_clipping(full: RenderedMessage) -> None:
    assert len(sample_edition().stories) == 15
    assert len(full.html.encode("utf-8")) < 102 * 1024


def test_every_link_is_absolute_http(full: RenderedMessage) -> None:
    links = re.findall(r'\b(?:href|src)="([^"]*)"', full.html)
    assert len(links) > 45
    for link in links:
        parts_ = urlsplit(link.replace("&amp;", "&"))
        assert parts_.scheme in ("https", "http"), link
        assert parts_.netloc, link


def test_no_external_css_or_javascript(full: RenderedMessage) -> None:
    lower = full.html.lower()
    for needle in ("<script", "<link", "@import", "javascript:", " on" + "click=", "onload="):
        assert needle not in lower


def test_no_template_or_mjml_markup_left(full: RenderedMessage) -> None:
    for doc in (full.html, full.text):
        for needle in ("{{", "}}", "{%", "%}", "{#", "<mj-", "</mj-", "dgs"):
            assert needle not in doc, needle


def test_email_html_essentials(full: RenderedMessage) -> None:
    html = full.html
    assert re.search(r'<html[^>]*\blang="en"', html)
    assert '<meta name="viewport" content="width=device-width, initial-scale=1"' in html
    assert '<meta name="color-scheme" content="light dark"' in html
    assert '<meta name="supported-color-schemes" content="light dark"' in html
    assert "@media (prefers-color-scheme: dark)" in html
    tables = re.findall(r"<table\b[^>]*>", html)
    assert tables
    assert all('role="presentation"' in t for t in tables)
    assert all(re.search(r'\balt="', img) for img in re.findall(r"<img\b[^>]*>", html))
    assert "font-size:17px" in html.replace(" ", "")  # body text


def test_masthead_greeting_sections_and_footer(full: RenderedMessage) -> None:
    html = full.html
    assert "Morning Digest" in html
    assert "Thursday, 26 November 2026" in html
    assert "Hi Alice," in html
    for label in ("World", "Science", "Technology", "Culture", "Sport"):
        assert 'class="dg-section"' in html
        assert f">{label}</h2>" in html
    assert "Also covered by" in html
    assert "min read" in html
    assert "Digest Ltd, 1 Harbour Street, Portsmouth" in html
    assert "https://example.org/unsubscribe?token=" in html
    assert "alice@example.com is subscribed" in html


def test_key_points_link_their_own_source_only_in_stories_with_several_outlets() -> None:
    ed = sample_edition()
    html = renderer(ed).preview(ALICE).html
    several = ed.stories[0]  # three outlets
    assert len({a.feed_name for a in several.story.articles}) > 1
    for kp in several.condensed.key_points:
        source = several.story.articles[kp.source]
        assert re.search(rf"{re.escape(kp.text)}\s*<a [^>]*href=\"{re.escape(source.link)}\"", html)
    single = ed.stories[2]  # one outlet: its points name no source
    assert len(single.story.articles) == 1
    for kp in single.condensed.key_points:
        assert re.search(rf"{re.escape(kp.text)}\s*</li>", html)


def test_text_part_has_every_headline_and_numbered_links(full: RenderedMessage) -> None:
    flat = " ".join(full.text.split())
    for es in sample_edition().stories:
        assert es.condensed.headline in flat
    refs = dict(re.findall(r"^\[(\d+)\] (https://\S+)$", full.text, re.M))
    assert len(refs) >= 15
    for es in sample_edition().stories:
        assert es.story.articles[0].link in refs.values()
    used = {int(n) for n in re.findall(r"\[(\d+)\]", full.text)}
    assert used == {int(n) for n in refs}


def test_text_part_wraps_near_76_columns(full: RenderedMessage) -> None:
    for line in full.text.splitlines():
        assert len(line) <= 76 or "://" in line or "@" in line, line


def test_subject_leads_with_the_news_and_the_preheader_adds_to_it() -> None:
    r = renderer().preview(ALICE)
    heads = [es.condensed.headline for es in sample_edition().stories]
    # the From name says which newsletter it is: the subject spends nothing on it or the date
    assert r.subject == heads[0]
    assert "Morning Digest" not in r.subject
    assert "2026" not in r.subject
    # the preview line follows the subject in the inbox: it names the next stories, not the first
    assert heads[0] not in r.preheader
    assert r.preheader.startswith(f"{heads[1]} · {heads[2]}")
    assert re.search(rf'<div style="display:none;[^"]*">{re.escape(heads[1])} · ', r.html)


def test_subject_and_preheader_templates_and_the_editors_own_win() -> None:
    custom = renderer(
        render={"subject": "{{ date_iso }} — {{ count }} stories", "preheader": "Today: {{ top_headline }}"}
    )
    assert custom.preview(ALICE).subject == "2026-11-26 — 15 stories"
    assert ">Today: Coastal nations agree" in custom.preview(ALICE).html
    edited = dataclasses.replace(sample_edition(), subject="Fish stocks: a deal", preheader="And more")
    r = renderer(edited).preview(ALICE)
    assert (r.subject, r.preheader) == ("Fish stocks: a deal", "And more")
    # an editor's subject that names the second story: the default preview line skips it
    named = dataclasses.replace(sample_edition(stories=3), subject="Recount done")
    heads = [es.condensed.headline for es in named.stories]
    named = dataclasses.replace(named, subject=heads[1])
    assert renderer(named).preview(ALICE).preheader == f"{heads[0]} · {heads[2]}"
    # one story, which the subject names: the preview line is its summary
    alone = sample_edition(stories=1)
    pre = renderer(alone).preview(ALICE).preheader
    assert pre
    assert pre.rstrip("…") in alone.stories[0].condensed.summary


@pytest.mark.parametrize(
    "title",
    [
        "<script>alert('x')</script>",
        '"><img src=x onerror=alert(1)>',
        "Fish & chips </mj-text><mj-raw>",
        "{{ 7 * 7 }} {% raw %}",
    ],
)
def test_hostile_feed_text_is_escaped(title: str) -> None:
    ed = sample_edition(stories=2)
    first = ed.stories[0]
    arts = (dataclasses.replace(first.story.articles[0], feed_name=title, link="javascript:alert(1)"),)
    kps = tuple(dataclasses.replace(k, text=f"Point: {title}", source=0) for k in first.condensed.key_points)
    story = dataclasses.replace(first.story, articles=arts + first.story.articles[1:])
    condensed = dataclasses.replace(first.condensed, headline=title, summary=title, key_points=kps)
    ed = dataclasses.replace(
        ed, stories=(dataclasses.replace(first, story=story, condensed=condensed), ed.stories[1])
    )
    r = renderer(ed).preview(ALICE)
    tags = _Tags()
    tags.feed(r.html)
    assert not {"script", "img", "mj-raw"} & tags.names  # no element came from feed text
    assert "javascript:" not in r.html
    assert tags.text.count(title) >= 5  # headline, summary, key points, source name: as text
    assert " ".join(title.split()) in " ".join(r.text.split())  # plain text keeps it verbatim
    _, html, _ = parts(r.message.data)
    assert "<script" not in html


def test_topics_select_sections_and_empty_editions_are_skipped() -> None:
    r = renderer()
    science = r.preview(Subscriber("s@example.com", "Sam", topics=frozenset({"Science"})))
    assert "Astronomers spot water vapour" in science.html
    assert "cup final" not in science.html
    assert ">Science</h2>" in science.html
    assert ">World</h2>" not in science.html
    assert science.subject.endswith("Astronomers spot water vapour around a nearby rocky planet")
    nobody = Subscriber("n@example.com", "Nat", topics=frozenset({"gardening"}))
    assert r.message(nobody) is None
    assert renderer(render={"skip_empty": False}).message(nobody) is not None
    assert r.message(dataclasses.replace(ALICE, status=SubscriberStatus.UNSUBSCRIBED)) is None


def test_greeting_without_a_name_and_intro() -> None:
    ed = sample_edition(stories=3, intro="A quiet day: <b>three</b> stories.")
    r = renderer(ed).preview(Subscriber("anon@example.com"))
    assert "Hello," in r.html
    assert "A quiet day: &lt;b&gt;three&lt;/b&gt; stories." in r.html
    assert "A quiet day: <b>three</b> stories." in r.text


def test_override_falls_back_per_partial(tmp_path: Path) -> None:
    (tmp_path / "story.mjml").write_text(
        '<p class="custom">{{ story.headline | upper }}</p>\n', encoding="utf-8"
    )
    (tmp_path / "greeting.txt").write_text("Dear {{ name or 'reader' }},", encoding="utf-8")
    r = renderer(templates=str(tmp_path)).preview(ALICE)
    assert re.search(r'<p class="custom"[^>]*>COASTAL NATIONS AGREE', r.html)  # the editor's story block
    assert "Dear Alice," in r.html
    assert "Dear Alice," in r.text
    assert "Thursday, 26 November 2026" in r.html
    assert "Unsubscribe" in r.html


def test_default_templates_are_the_top_level_folder(repo_root: Path) -> None:
    assert default_dir().resolve() == (repo_root / "templates").resolve()
    names = {p.name for p in default_dir().iterdir()}
    assert {"base.mjml", "masthead.mjml", "story.mjml", "footer.mjml", "text.txt", "greeting.txt"} <= names


@pytest.mark.parametrize(
    ("name", "source", "line", "why"),
    [
        ("story.mjml", "<p>\n{{ story.headline }\n</p>\n", 2, "unexpected '}'"),
        ("story.mjml", "<p>\n\n{{ story.no_such_field }}</p>\n", 3, "no_such_field"),
        (
            "footer.mjml",
            "<mj-section>\n<mj-column>\n<mj-text><img src=x></mj-text>\n</mj-column></mj-section>\n",
            3,
            "MJML",
        ),
        (
            "footer.mjml",
            "<mj-section>\n<mj-column>\n<mj-bogus />\n</mj-column></mj-section>\n",
            None,
            "mj-bogus",
        ),
        ("text.txt", "{% for x in %}\n", 1, "Expected an expression"),
    ],
)
def test_template_errors_name_file_and_line(
    tmp_path: Path, name: str, source: str, line: int | None, why: str
) -> None:
    (tmp_path / name).write_text(source, encoding="utf-8")
    with pytest.raises(TemplateError) as err:
        renderer(templates=str(tmp_path))
    message = str(err.value)
    assert name in message
    assert why in message
    if line is not None:
        assert f"{name}:{line}:" in message
    assert "\n" not in message


def test_filtered_subscriber_values_are_refused(tmp_path: Path) -> None:
    (tmp_path / "greeting.txt").write_text("Hi,", encoding="utf-8")
    (tmp_path / "footer.mjml").write_text(
        "<mj-section><mj-column><mj-text>{{ subscriber.email | upper }}</mj-text></mj-column></mj-section>",
        encoding="utf-8",
    )
    with pytest.raises(TemplateError, match="without filters"):
        renderer(templates=str(tmp_path))


def test_missing_override_folder_and_bad_settings(tmp_path: Path) -> None:
    with pytest.raises(TemplateError, match="not found"):
        renderer(templates=str(tmp_path / "nope"))
    with pytest.raises(ConfigError, match="secret"):
        EditionRenderer(sample_edition(), settings(), secret=b"", now=NOW)
    with pytest.raises(TemplateError, match=r"render\.subject"):
        renderer(render={"subject": "{{ title "})


def test_subject_template_error_at_render_names_the_setting() -> None:
    with pytest.raises(TemplateError, match=r"render\.subject.*nothing"):
        renderer(render={"subject": "{{ nothing }}"})


def test_empty_edition_renders_a_friendly_message() -> None:
    ed = dataclasses.replace(sample_edition(), stories=())
    r = renderer(ed, render={"skip_empty": False})
    preview = r.preview(ALICE)
    assert "No stories today." in preview.html
    assert r.message(ALICE) is not None


def test_key_points_that_repeat_the_summary_are_left_out() -> None:
    ed = sample_edition(stories=1)
    es = ed.stories[0]
    lead = es.condensed.summary.split(",")[0] + "…"
    kps = (KeyPoint(es.condensed.summary), KeyPoint(lead), *es.condensed.key_points)
    ed = dataclasses.replace(
        ed, stories=(dataclasses.replace(es, condensed=dataclasses.replace(es.condensed, key_points=kps)),)
    )
    r = renderer(ed).preview(ALICE)
    assert r.html.count('class="dg-point"') == len(es.condensed.key_points)
    assert r.text.count("\n* ") == len(es.condensed.key_points)


def test_greeting_errors_surface_before_any_message(tmp_path: Path) -> None:
    (tmp_path / "greeting.txt").write_text("Hi\n{{ subscriber.nickname }},", encoding="utf-8")
    with pytest.raises(TemplateError, match=r"greeting\.txt:2:.*nickname"):
        renderer(templates=str(tmp_path))


# -- one link per story, links numbered in reading order (issue 12, items 4 and 5) ------------


def _links(html: str) -> list[tuple[str, str]]:
    """(href, text) of every link, in document order, text without markup or spaces at the ends."""
    found = re.findall(r'<a [^>]*href="([^"]*)"[^>]*>(.*?)</a>', html, re.S)
    return [(unescape(h), unescape(" ".join(re.sub(r"<[^>]+>", "", t).split()))) for h, t in found]


def test_each_story_has_one_read_at_link_and_outlet_names_only_where_several_reported() -> None:
    ed = sample_edition()
    html = renderer(ed).preview(ALICE).html
    links = _links(html)
    for es in ed.stories:
        lead = es.story.articles[0]
        # one "Read at" link per story, to its lead report
        assert [t for h, t in links if h == lead.link and t.startswith("Read at")] == [
            f"Read at {lead.feed_name}\u00a0→"
        ]
    assert sum(t.startswith("Read at") for _, t in links) == len(ed.stories)
    # a link named after an outlet only where several outlets reported the story
    outlets = {a.feed_name for es in ed.stories for a in es.story.articles}
    single = {es.story.articles[0].link for es in ed.stories if len(es.story.articles) == 1}
    assert not [h for h, t in links if t in outlets and h in single]
    named = [t for _, t in links if t in outlets]
    several = [es for es in ed.stories if len({a.feed_name for a in es.story.articles}) > 1]
    points = sum(len(es.condensed.key_points) for es in several)
    others = sum(len(es.story.articles) - 1 for es in several)
    assert len(named) == points + others
    # a screen reader's list of links tells the stories apart
    labels = re.findall(r'aria-label="(Read at [^"]*)"', html)
    assert len(labels) == len(set(labels)) == len(ed.stories)


def _interleaved() -> Edition:
    """The sample's stories in an order that alternates topics, as a ranking often does."""
    ed = sample_edition()
    order = [0, 4, 8, 1, 5, 11, 14, 2, 6, 9, 12, 3, 7, 10, 13]
    return dataclasses.replace(ed, stories=tuple(ed.stories[i] for i in order))


def test_text_part_numbers_links_in_reading_order() -> None:
    text = renderer(_interleaved()).preview(ALICE).text
    body, _, listing = text.partition("\nLinks\n-----\n")
    used = [int(n) for n in re.findall(r"\[(\d+)\]", body)]
    first_seen = list(dict.fromkeys(used))
    assert first_seen == list(range(1, len(first_seen) + 1))
    listed = [int(n) for n in re.findall(r"^\[(\d+)\] https://", listing, re.M)]
    assert listed == first_seen
    # sections in order of first appearance; each section's first story carries the next number
    assert body.index("== WORLD ==") < body.index("== SCIENCE ==") < body.index("== TECHNOLOGY ==")


def test_text_part_names_key_point_sources_only_in_stories_with_several_outlets() -> None:
    text = renderer().preview(ALICE).text
    # "Rail link …": one outlet; its points carry no number
    rail = text[text.index("Rail link between") : text.index("City council votes")]
    assert re.findall(r"^\* .*$", rail, re.M)
    assert not re.search(r"\[\d+\]", rail.split("\n", 1)[1])
    # "Coastal nations …": three outlets; each point names its own
    coast = text[text.index("Coastal nations") : text.index("Election officials")]
    assert "(The Northern Ledger [2])" in " ".join(coast.split())


# -- what readers and senders expect (issue 12, item 8) ----------------------------------------


def test_reply_to_header() -> None:
    msg, _, _ = parts(renderer(reply_to="Letters desk <letters@example.org>").preview(ALICE).message.data)
    assert msg["Reply-To"].addresses[0].addr_spec == "letters@example.org"
    assert msg["Reply-To"].addresses[0].display_name == "Letters desk"
    plain, _, _ = parts(renderer().preview(ALICE).message.data)
    assert plain["Reply-To"] is None
    with pytest.raises(ValueError, match="reply_to"):
        settings(reply_to="not an address")


@pytest.mark.parametrize(
    ("subscriber", "hello"),
    [
        (Subscriber("ada@example.org", "Ada Lovelace"), "Hi Ada,"),
        (Subscriber("ada@example.org", "Augusta Ada King", first_name="Ada"), "Hi Ada,"),
        (Subscriber("ada@example.org", ""), "Hello,"),
        (Subscriber("ada@example.org", "  "), "Hello,"),
    ],
)
def test_greeting_by_first_name(subscriber: Subscriber, hello: str) -> None:
    r = renderer().preview(subscriber)
    assert f">{hello}</p>" in r.html
    assert f"\n{hello}\n" in r.text


def test_templates_get_first_name_and_name(tmp_path: Path) -> None:
    (tmp_path / "greeting.txt").write_text("Dear {{ first_name }} ({{ name }}),", encoding="utf-8")
    (tmp_path / "story.mjml").write_text(
        "<p>{{ story.headline }} for {{ subscriber.first_name }}, {{ subscriber.name }}</p>\n",
        encoding="utf-8",
    )
    r = renderer(sample_edition(stories=1), templates=str(tmp_path)).preview(
        Subscriber("ada@example.org", "Augusta Ada King", first_name="Ada")
    )
    assert "Dear Ada (Augusta Ada King)," in r.text
    assert "for Ada, Augusta Ada King</p>" in r.html


def test_first_name_column_reaches_the_greeting_through_the_store(tmp_path: Path) -> None:
    from digest.store import open_store
    from digest.subscribers import read_subscribers_csv

    csv = tmp_path / "subscribers.csv"
    csv.write_text(
        "email,name,first_name\nada@example.org,Augusta Ada King,Ada\ngrace@example.org,Grace Hopper,\n",
        encoding="utf-8",
    )
    with open_store(tmp_path / "store.db") as store:
        store.merge_subscribers(read_subscribers_csv(csv).subscribers)
        ada, grace = store.subscribers()
    assert (ada.first_name, grace.first_name) == ("Ada", "")
    assert "Hi Ada," in renderer().preview(ada).text
    assert "Hi Grace," in renderer().preview(grace).text


def test_first_name_migration_keeps_an_older_store(tmp_path: Path) -> None:
    import sqlite3

    from digest.store import open_store
    from digest.store.schema import MIGRATIONS

    db = tmp_path / "old.db"
    with open_store(db) as store:
        store.merge_subscribers([Subscriber("ada@example.org", "Ada Lovelace")])
    with sqlite3.connect(db) as conn:  # as the store was before migration 4
        conn.execute("ALTER TABLE subscribers DROP COLUMN first_name")
        conn.execute("DELETE FROM digest_schema WHERE version = 4")
    with open_store(db) as store:
        assert store.migrate() == max(v for v, _, _ in MIGRATIONS)
        assert 4 in store.applied_migrations()
        (ada,) = store.subscribers()
        assert (ada.name, ada.first_name) == ("Ada Lovelace", "")


def test_view_in_browser_links_the_editions_archive_page() -> None:
    r = renderer(archive={"base_url": "https://news.example.org/brief"}).preview(ALICE)
    url = "https://news.example.org/brief/2026-11-26/"
    assert ("https://news.example.org/brief/2026-11-26/", "View in browser") in _links(r.html)
    assert f"View in your browser: {url}\n" in r.text
    plain = renderer().preview(ALICE)
    assert "View in browser" not in plain.html
    assert "View in your browser" not in plain.text
    with pytest.raises(ValueError, match=r"archive\.base_url"):
        settings(archive={"base_url": "ftp://example.org/"})


RLO = "\u202e"  # RIGHT-TO-LEFT OVERRIDE: "\u202egro.elpmaxe" shows as "example.org"


def test_bidi_controls_never_reach_a_header_or_the_greeting() -> None:
    from digest.htmltext import BIDI_CONTROLS

    spoof = Subscriber("bob@example.com", f"Bob {RLO}gro.knab-eruces@ nhoJ{chr(0x2066)}")
    ed = sample_edition(stories=2)
    first = ed.stories[0]
    tricked = dataclasses.replace(first.condensed, headline=f"Bank{RLO} notice", summary=f"Read{RLO} this.")
    ed = dataclasses.replace(ed, stories=(dataclasses.replace(first, condensed=tricked), ed.stories[1]))
    r = renderer(ed).preview(spoof)
    msg = message_from_bytes(r.message.data, policy=policy.default)
    for text in (str(msg["To"]), str(msg["Subject"]), r.html, r.text):
        assert not set(text) & set(BIDI_CONTROLS)
    assert "Bank notice" in r.html


def test_bidi_controls_are_stripped_from_names_in_the_csv(tmp_path: Path) -> None:
    from digest.subscribers import read_subscribers_csv

    csv = tmp_path / "s.csv"
    csv.write_text(f"email,name,first_name\nbob@example.com,Bob {RLO}Evil,{RLO}Bob\n", encoding="utf-8")
    [bob] = read_subscribers_csv(csv).subscribers
    assert (bob.name, bob.first_name) == ("Bob Evil", "Bob")
