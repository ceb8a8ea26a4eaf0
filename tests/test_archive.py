"""The public web archive: static files (``digest archive --out DIR``) and ``digest serve``.

The example edition is sent through a real SMTP server (aiosmtpd on loopback) into a real
SQLite store; beside it the store holds a draft, a held edition and one whose sending started
but reached nobody. Only the sent one may appear, with nobody's personal data, and the "View
in browser" link of a delivered email must lead to its page.
"""

from __future__ import annotations

import asyncio
import dataclasses
import email
import email.policy
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from email.message import EmailMessage
from pathlib import Path
from urllib.parse import urlsplit

import feedparser
import pytest
from click.testing import CliRunner
from starlette.testclient import TestClient

from digest.archive import Archive, write_archive
from digest.cli import main
from digest.config import Settings, load_config
from digest.desk import create_app
from digest.errors import ConfigError
from digest.models import Edition
from digest.pipeline import RunContext, run_edition
from digest.render.sample import sample_edition
from digest.store import Store, open_store
from smtpd_helpers import Recorder, smtp_server
from store_helpers import settle

NOW = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)
DAY = "2026-11-26"
ENV = {"DIGEST_SECRET": "archive-test-secret"}
BASE = "https://example.org/brief/"
UNPUBLISHED = ("A draft nobody approved", "A held edition's lead", "A send that reached nobody")


@dataclass(frozen=True)
class Project:
    root: Path
    config: Path
    settings: Settings
    db: Path
    received: tuple[bytes, ...]
    addresses: frozenset[str]


def _retitled(edition: Edition, headline: str) -> Edition:
    first = edition.stories[0]
    condensed = dataclasses.replace(first.condensed, headline=headline)
    return dataclasses.replace(edition, stories=(dataclasses.replace(first, condensed=condensed),))


def _unpublished(store: Store) -> None:
    """A draft, a held edition, and a sealed one whose only delivery failed."""
    draft, held, failed = (
        _retitled(sample_edition(day=date(2026, 11, d)), h)
        for d, h in zip((27, 28, 25), UNPUBLISHED, strict=True)
    )
    store.save_edition(draft)
    store.save_edition(held)
    assert not store.seal_or_hold(held.id, require_approval=True, actor="schedule")
    store.save_edition(failed)
    assert store.seal_or_hold(failed.id, require_approval=False, actor="cli")
    store.plan_deliveries(failed.id, ["ada@example.org"])
    settle(store, failed.id, "ada@example.org", "failed", reason="550 no", code=550, permanent=True)


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory, repo_root: Path) -> Project:
    root = tmp_path_factory.mktemp("archive")
    shutil.copytree(repo_root / "examples", root / "examples")
    shutil.copy(repo_root / "subscribers.example.csv", root)
    config = root / "examples" / "digest.toml"
    settings = load_config(config)
    assert settings.archive.base_url == BASE
    db = root / "state.db"
    with smtp_server(Recorder()) as server, open_store(db) as store:
        summary = asyncio.run(
            run_edition(RunContext(settings, store, now=NOW, environ=ENV, transport_url=server.url))
        )
        received = tuple(r.data for r in server.handler.received)
        _unpublished(store)
        addresses = frozenset(s.email for s in store.subscribers())
    assert summary.exit_code == 0
    assert len(received) == 5
    return Project(root, config, settings, db, received, addresses)


@pytest.fixture(scope="module")
def static(project: Project) -> Path:
    out = project.root / "site"
    result = CliRunner().invoke(
        main, ["archive", "--config", str(project.config), "--db", str(project.db), "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert result.stdout.split() == [
        str(out / "index.html"),
        str(out / "feed.atom"),
        str(out / DAY / "index.html"),
    ]
    return out


@pytest.fixture
def client(project: Project) -> Iterator[TestClient]:
    with open_store(project.db) as store:
        app = create_app(
            project.settings, store, environ={**ENV, "DIGEST_DESK_TOKEN": "s3cret"}, clock=lambda: NOW
        )
        yield TestClient(app, base_url="http://127.0.0.1:8025")


def _html(data: bytes) -> str:
    msg = email.message_from_bytes(data, policy=email.policy.default)
    assert isinstance(msg, EmailMessage)
    part = msg.get_body(("html",))
    assert part is not None
    return str(part.get_content())


def _files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file())


def test_archive_writes_an_index_one_page_per_sent_edition_and_a_feed(static: Path) -> None:
    assert [p.relative_to(static).as_posix() for p in _files(static)] == [
        f"{DAY}/index.html",
        "feed.atom",
        "index.html",
    ]
    index = (static / "index.html").read_text(encoding="utf-8")
    assert f'href="{DAY}/"' in index
    assert "Thursday, 26 November 2026" in index
    page = (static / DAY / "index.html").read_text(encoding="utf-8")
    assert "The Morning Brief" in page
    assert page.count('class="dg-story"') == 15
    assert f'href="{BASE}"' in page  # "All editions"


def test_the_feed_is_valid_atom(static: Path) -> None:
    parsed = feedparser.parse((static / "feed.atom").read_bytes())
    assert not parsed.bozo, parsed.get("bozo_exception")
    assert parsed.version == "atom10"
    assert parsed.feed.title == "The Morning Brief"
    assert parsed.feed.id == BASE
    assert {link.rel: link.href for link in parsed.feed.links} == {
        "self": f"{BASE}feed.atom",
        "alternate": BASE,
    }
    [entry] = parsed.entries
    assert entry.link == entry.id == f"{BASE}{DAY}/"
    assert entry.title  # the edition's subject: its top headline
    assert entry.title in (static / DAY / "index.html").read_text(encoding="utf-8")
    assert entry.updated_parsed is not None
    assert "<li>" in entry.content[0].value


def test_no_draft_held_or_undelivered_edition_and_no_reader_appears(project: Project, static: Path) -> None:
    everything = "\n".join(p.read_text(encoding="utf-8") for p in _files(static))
    for headline in UNPUBLISHED:
        assert headline not in everything
    for day in ("2026-11-25", "2026-11-27", "2026-11-28"):
        assert day not in everything
    for address in project.addresses:
        assert address not in everything
    for personal in ("token=", "Unsubscribe", "Hi Ada", "Hello,", "Lovelace", "preferences"):
        assert personal not in everything


def test_view_in_browser_in_a_delivered_email_leads_to_the_editions_page(
    project: Project, static: Path, client: TestClient
) -> None:
    for data in project.received:
        links = re.findall(r'<a [^>]*href="([^"]+)"[^>]*>View in browser</a>', _html(data))
        assert links == [f"{BASE}{DAY}/"]
    url = urlsplit(links[0])
    relative = url.path.removeprefix(urlsplit(BASE).path)
    assert (static / relative / "index.html").is_file()  # as a static host resolves it
    served = client.get(url.path)
    assert served.status_code == 200
    assert served.text == (static / relative / "index.html").read_text(encoding="utf-8")


def test_serve_answers_the_same_pages_without_the_desk_login(static: Path, client: TestClient) -> None:
    assert client.get("/").status_code == 401  # the desk needs its token
    for path, file in (
        ("/brief/", "index.html"),
        ("/brief/index.html", "index.html"),
        (f"/brief/{DAY}/", f"{DAY}/index.html"),
    ):
        response = client.get(path)
        assert response.status_code == 200, path
        assert response.text == (static / file).read_text(encoding="utf-8")
        assert "script-src" not in response.headers["content-security-policy"]
        assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
        assert response.headers["cache-control"] == "public, max-age=300"
    feed = client.get("/brief/feed.atom")
    assert feed.status_code == 200
    assert feed.headers["content-type"].startswith("application/atom+xml")
    assert feed.content == (static / "feed.atom").read_bytes()
    for hidden in ("2026-11-27", "2026-11-28", "2026-11-25", "nothing", "feed.atom"):
        assert client.get(f"/brief/{hidden}/").status_code == 404
    assert client.get("/brief").status_code in (200, 307)


def test_hostile_feed_text_stays_text_in_the_archive(tmp_path: Path) -> None:
    hostile = "<script>alert('x')</script> & </mj-text>"
    ed = sample_edition(stories=2)
    first = ed.stories[0]
    arts = (dataclasses.replace(first.story.articles[0], feed_name=hostile, link="javascript:alert(1)"),)
    story = dataclasses.replace(first.story, articles=arts)
    condensed = dataclasses.replace(first.condensed, headline=hostile, summary=hostile)
    ed = dataclasses.replace(
        ed, stories=(dataclasses.replace(first, story=story, condensed=condensed), ed.stories[1])
    )
    settings = Settings.model_validate({"archive": {"base_url": BASE}})
    with open_store(tmp_path / "s.db") as store:
        store.save_edition(ed)
        store.seal_or_hold(ed.id, require_approval=False, actor="cli")
        settle(store, ed.id, "ada@example.org")
        written = write_archive(
            Archive(settings, store, base_url=BASE, secret=b"k"), tmp_path / "out", now=NOW
        )
    assert len(written) == 3
    for path in written:
        text = path.read_text(encoding="utf-8")
        assert "<script" not in text
        assert "javascript:" not in text
        assert "</mj-text>" not in text
    feed = written[1].read_bytes()
    assert b"&lt;script&gt;" in feed  # as text in the title, escaped twice in the html content
    assert b"&amp;lt;script&amp;gt;" in feed
    assert not feedparser.parse(feed).bozo


def test_archive_needs_a_base_url_and_a_path_of_its_own(project: Project, tmp_path: Path) -> None:
    bare = tmp_path / "bare.toml"
    bare.write_text('store = "x.db"\n', encoding="utf-8")
    result = CliRunner().invoke(main, ["archive", "--config", str(bare), "--out", str(tmp_path / "o")])
    assert result.exit_code == 2
    assert "base_url" in result.output
    with open_store(project.db) as store:
        for clash in ("https://example.org/editions/", "https://example.org/"):
            s = project.settings.model_copy(
                update={"archive": project.settings.archive.model_copy(update={"base_url": clash})}
            )
            with pytest.raises(ConfigError, match=r"archive\.base_url"):
                create_app(s, store, environ=ENV)
        # without base_url, serve still answers at /archive/, linking the address it was asked at
        s = project.settings.model_copy(
            update={"archive": project.settings.archive.model_copy(update={"base_url": None})}
        )
        client = TestClient(
            create_app(s, store, environ=ENV, clock=lambda: NOW), base_url="http://127.0.0.1:8025"
        )
        index = client.get("/archive/")
        assert index.status_code == 200
        assert index.headers["cache-control"] == "no-store"  # its links come from the Host header
        assert f'href="{DAY}/"' in index.text
        feed = feedparser.parse(client.get("/archive/feed.atom").content)
        assert feed.entries[0].link == f"http://127.0.0.1:8025/archive/{DAY}/"


def test_pages_come_from_the_editors_templates(project: Project, tmp_path: Path) -> None:
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "story.mjml").write_text('<p class="mine">{{ story.headline | upper }}</p>\n', encoding="utf-8")
    (mine / "archive.html").write_text(
        "<h1>{{ title }}</h1>{% for e in editions %}{{ e.subject }}{% endfor %}"
    )
    settings = project.settings.model_copy(update={"templates": mine})
    with open_store(project.db) as store:
        archive = Archive(settings, store, base_url=BASE, secret=b"k")
        [entry] = archive.editions()
        assert archive.index([entry]) == f"<h1>The Morning Brief</h1>{entry.page.subject}"
        page = archive.page(entry)
    assert re.search(r'<p class="mine"[^>]*>[A-Z ]{10,}', page)
    assert "dg-footer" in page  # the other files fall back to the defaults
