"""The public web archive of sent editions: an index, one page per edition, an Atom feed.

Like the archives of Buttondown, Substack or Ghost: each edition's page is rendered from the
same templates as the email (``web`` is true), for nobody in particular: no greeting, no
address, no signed link. Only editions whose sending started and reached at least one reader
appear; drafts and held editions never do.

The layout is the same wherever it is published, relative to ``[archive] base_url``:
``index.html`` (served as the base URL itself), ``<day>/index.html`` (served as ``<day>/``:
the emails' "View in browser" link) and ``feed.atom``. ``digest archive --out DIR`` writes it
as static files for any web host; ``digest serve`` answers the same paths (see
:mod:`digest.desk`).
"""

from __future__ import annotations

import html
import threading
from collections import OrderedDict
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit
from xml.etree import ElementTree as ET

from .config import Settings
from .models import Edition
from .render import EditionRenderer, WebPage, templates, view
from .store import Store

__all__ = ["INDEX", "Archive", "ArchivedEdition", "archive_path", "write_archive"]

INDEX = "archive.html"  # the index's template, overridable like the email's
FEED = "feed.atom"
DEFAULT_PATH = "/archive/"
MAX_EDITIONS = 10_000
_ATOM = "http://www.w3.org/2005/Atom"
_XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
_CACHED_PAGES = 32


def archive_path(settings: Settings) -> str:
    """The path the archive is served at: that of ``[archive] base_url``, else ``/archive/``."""
    base = settings.archive.base_url
    return urlsplit(base).path if base else DEFAULT_PATH


@dataclass(frozen=True, slots=True)
class ArchivedEdition:
    """One sent edition as the archive lists it."""

    edition: Edition
    sent: datetime  # when its sending started
    page: WebPage  # without html: the subject and headlines
    url: str  # absolute: the archive's base URL, the day, a slash

    @property
    def slug(self) -> str:
        """The edition's folder and path segment: its day, ``2026-11-26``."""
        return self.edition.day.isoformat()


class Archive:
    """The archive of one store, at ``base_url`` (which ends with a slash).

    Args:
        settings: the title, templates and render settings the emails use.
        store: where the editions, their review and their deliveries are.
        base_url: where the archive is published; default ``[archive] base_url``.
        secret: the renderer's key (the pages carry no signed link; it is only required).
    """

    def __init__(self, settings: Settings, store: Store, *, base_url: str, secret: bytes) -> None:
        self.base_url = base_url if base_url.endswith("/") else base_url + "/"
        archive = settings.archive.model_copy(update={"base_url": self.base_url})
        self._settings = settings.model_copy(update={"archive": archive})
        self._store = store
        self._secret = secret
        self._pages: OrderedDict[Edition, str] = OrderedDict()
        self._lock = threading.Lock()  # the server's worker threads share the cache

    def _renderer(self, edition: Edition, sent: datetime, *, check: bool) -> EditionRenderer:
        return EditionRenderer(edition, self._settings, secret=self._secret, now=sent, check=check)

    def editions(self) -> list[ArchivedEdition]:
        """The sent editions, newest first: sealed, and delivered to at least one reader."""
        reviews = [r for r in self._store.edition_reviews(limit=MAX_EDITIONS) if r.sealed_at is not None]
        counts = self._store.delivery_counts_of([r.id for r in reviews])
        found = []
        for review in reviews:
            edition = self._store.edition(review.id)
            if edition is None or not edition.stories or not counts.get(review.id, {}).get("sent"):
                continue
            sent = review.sealed_at or review.created
            page = self._renderer(edition, sent, check=False).web_page(compiled=False)
            url = f"{self.base_url}{edition.day.isoformat()}/"
            found.append(ArchivedEdition(edition, sent, page, url))
        found.sort(key=lambda e: e.edition.day, reverse=True)
        return found

    def page(self, entry: ArchivedEdition) -> str:
        """The edition's web page (HTML), compiled once per edition as it stands."""
        with self._lock:
            cached = self._pages.get(entry.edition)
        if cached is None:
            cached = self._renderer(entry.edition, entry.sent, check=True).web_page().html
            with self._lock:
                self._pages[entry.edition] = cached
                if len(self._pages) > _CACHED_PAGES:
                    self._pages.popitem(last=False)
        return cached

    def index(self, entries: list[ArchivedEdition]) -> str:
        """The index page: every edition, newest first, linked relative to the index."""
        env = templates.environment(self._settings.templates_dir)
        listed = [
            {
                "url": f"{e.slug}/",
                "date": view.long_date(e.edition.day),
                "date_iso": e.edition.day.isoformat(),
                "subject": e.page.subject,
                "headlines": list(e.page.headlines),
                "count": len(e.page.headlines),
            }
            for e in entries
        ]
        context = {
            "title": view.one_line(self._settings.title),
            "language": self._settings.render.language,
            "editions": listed,
            "count": len(listed),
            "feed_url": FEED,
            "base_url": self.base_url,
        }
        return templates.render(templates.load(env, INDEX), context)

    def feed(self, entries: list[ArchivedEdition], *, now: datetime) -> bytes:
        """The Atom feed (RFC 4287) of the editions; ``now`` dates it only when there is none."""
        ET.register_namespace("", _ATOM)
        root = ET.Element(f"{{{_ATOM}}}feed", {_XML_LANG: self._settings.render.language})
        title = view.one_line(self._settings.title)
        _text(root, "title", title)
        _text(root, "id", self.base_url)
        _link(root, "self", f"{self.base_url}{FEED}", "application/atom+xml")
        _link(root, "alternate", self.base_url, "text/html")
        _text(root, "updated", _stamp(max((e.sent for e in entries), default=now)))
        author = ET.SubElement(root, f"{{{_ATOM}}}author")
        _text(author, "name", title)
        for e in entries:
            entry = ET.SubElement(root, f"{{{_ATOM}}}entry")
            _text(entry, "title", e.page.subject)
            _text(entry, "id", e.url)
            _link(entry, "alternate", e.url, "text/html")
            _text(entry, "published", _stamp(e.sent))
            _text(entry, "updated", _stamp(e.sent))
            _text(entry, "summary", e.page.preheader)
            items = "".join(f"<li>{html.escape(h)}</li>" for h in e.page.headlines)
            content = _text(entry, "content", f"<ul>{items}</ul>")
            content.set("type", "html")
        data: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=True)
        return data


def _text(parent: ET.Element, tag: str, value: str) -> ET.Element:
    element = ET.SubElement(parent, f"{{{_ATOM}}}{tag}")
    element.text = value
    return element


def _link(parent: ET.Element, rel: str, href: str, kind: str) -> None:
    ET.SubElement(parent, f"{{{_ATOM}}}link", {"rel": rel, "href": href, "type": kind})


def _stamp(when: datetime) -> str:
    aware = when if when.tzinfo else when.replace(tzinfo=UTC)
    return aware.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def write_archive(archive: Archive, out: Path, *, now: datetime) -> list[Path]:
    """Write the archive into ``out`` as static files; return their paths, index first.

    Raises:
        OSError: a file cannot be written.
    """
    entries = archive.editions()
    out.mkdir(parents=True, exist_ok=True)
    written = [out / "index.html", out / FEED]
    written[0].write_text(archive.index(entries), encoding="utf-8")
    written[1].write_bytes(archive.feed(entries, now=now))
    for entry in entries:
        folder = out / entry.slug
        folder.mkdir(exist_ok=True)
        path = folder / "index.html"
        path.write_text(archive.page(entry), encoding="utf-8")
        written.append(path)
    return written
