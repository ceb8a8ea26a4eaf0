"""The rendered edition: size, links, markup, escaping, personalisation and templates."""

from __future__ import annotations

import dataclasses
import re
from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
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


def test_key_points_link_their_own_source() -> None:
    ed = sample_edition()
    html = renderer(ed).preview(ALICE).html
    story = ed.stories[0]
    for kp in story.condensed.key_points:
        source = story.story.articles[kp.source]
        assert re.search(rf"{re.escape(kp.text)}\s*<a [^>]*href=\"{re.escape(source.link)}\"", html)


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


def test_subject_and_preheader() -> None:
    r = renderer().preview(ALICE)
    assert (
        r.subject
        == "Morning Digest · 26 Nov 2026: Coastal nations agree a shared plan to restore fish stocks by 2035"
    )
    assert re.search(r'<div style="display:none;[^"]*">Coastal nations agree .* · Election officials', r.html)
    custom = renderer(
        render={"subject": "{{ date_iso }} — {{ count }} stories", "preheader": "Today: {{ top_headline }}"}
    )
    assert custom.preview(ALICE).subject == "2026-11-26 — 15 stories"
    assert ">Today: Coastal nations agree" in custom.preview(ALICE).html


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
