"""Turn what a scraper or a feed hands over into clean paragraphs of article prose.

Removes page clutter by general rules, never by listing one site's strings: share, subscribe,
cookie and comment prompts; bylines, datelines and photo credits; "Related:" and "Read more"
lists; tables of contents; section titles and headings repeated or glued onto paragraphs.
HTML goes through trafilatura's main-text extractor first. Contains no I/O.
"""

from __future__ import annotations

import html
import re
import unicodedata

from .reports import Section, header_date, header_title, is_date_line, starts_report

# A line or sentence that asks the reader to do something on the page rather than telling news.
_PROMPT = re.compile(
    r"""(?ix)
    \b(?:check\ out|visit|follow|subscribe|sign\ up|sign\ in|log\ ?in|logged\ in|register|
       click\ here|tap\ here|read\ more|read\ next|see\ also|share\ (?:this|on)|
       cookies?|newsletter|post\ a\ comment|leave\ a\ comment|comments?\ (?:are|have)\ been|
       all\ the\ latest|scroll\ down|download\ (?:the|our)\ app|advertisement|sponsored|
       related\ (?:articles?|stories|content|coverage)|more\ on\ this\ story|most\ (?:read|popular)|
       copyright|all\ rights\ reserved|terms\ of\ (?:use|service)|privacy\ policy|
       support\ (?:local\ |independent\ |our\ )?journalism|become\ a\ (?:member|subscriber|supporter)|
       texted\ to\ your|text\ [A-Z]+\ to\ \d+|listen\ to\ this\ (?:article|story)|gift\ this\ article|
       \d+\ min(?:ute)?\ read|report\ (?:a\ typo|an\ error|abuse)|contact\ the\ newsroom|
       this\ (?:article|story)\ (?:was|has\ been)\ (?:amended|corrected|updated)|
       (?:additional\ )?reporting\ by|(?:writing|editing)\ by|comments\ are\ (?:closed|open)|
       sign\ the\ guestbook|death\ notice|buy\ now|earn\ a\ commission|comments?\ \(\d+|
       this\ (?:story|article)\ is\ (?:part\ of|from)|
       # French, German, Spanish page furniture
       abonnez-vous|lire\ aussi|à\ lire\ aussi|publicité|partager|commentaires?\ \(\d+|mentions\ légales|
       les\ plus\ lus|cet\ article\ vous\ est\ offert|soutenir\ (?:le|notre)\ journalisme|
       politique\ de\ confidentialité|lesen\ sie\ (?:auch|mehr)|anzeige|werbung|jetzt\ abonnieren|
       kommentare\ \(\d+|mehr\ zum\ thema|datenschutz|impressum|lee\ también|leer\ más|publicidad|
       suscríbete|comentarios\ \(\d+|lo\ más\ leído|aviso\ legal|política\ de\ privacidad)\b
    """
)
# A line of navigation: several short items between separators ("Home | Local | Traffic").
_MENU = re.compile(r"^(?:[^|›»·]{1,30}[|›»·]\s*){2,}[^|›»·]{0,30}$")
# An alert or banner that opens with a capitalised label: "BREAKING NEWS ALERTS: …", "LIVE: …".
_BANNER = re.compile(r"^[A-ZÀ-Ý][A-ZÀ-Ý0-9 &'’-]{2,40}:\s")
# Phrases of page furniture that sit inside real prose (CNN/DailyMail style) and go alone.
_INLINE_FURNITURE = re.compile(
    r"(?i)\b(?:scroll down for (?:the )?(?:video|pictures?|photos?)|click here for [^.]{0,80}"
    r"|read more:?|advertisement)\b[.:]?"
)
_FURNITURE_WORDS = ("scroll down", "click here", "read more", "advertisement")  # what it needs
_LIST_HEADER = re.compile(
    r"(?i)^\s*(?:contents|table of contents|in this (?:article|story)|related(?: articles| stories)?"
    r"|read more|see also|more (?:stories|on this(?: story)?|from [\w ]{2,30})|you may also like|recommended"
    r"|most (?:read|popular|viewed|shared)|trending|tags?|topics?|les plus lus|lo más leído|más leídas"
    r"|meistgelesen|à lire aussi|lire aussi)\s*[:\-–—]?\s*$"
)
_INLINE_LIST = re.compile(r"(?i)^\s*(?:related|read more|see also|more|tags?|topics?|watch)\s*:")
_BYLINE = re.compile(
    r"""(?x)^\s*(?:
        (?i:by|par|von|por|words\ by)\s+[A-Z][\w'’.-]*
            (?:\s+(?:[A-Z][\w'’.-]*|and|et|und|y|&|de|van|von|der|la))*
            \s*[,|.·]?(?:\s.*)?|
        (?i:(?:photo|photograph|image|picture|video|illustration|graphic)s?(?:\s+credit)?|credit|source)
            \s*[:©].*|
        .*(?:©|\((?:Getty|AP|Reuters|AFP|EPA|PA)\b[^)]*\)|/\s*(?:Getty\ Images|AFP|AP|Reuters|EPA)\b).*|
        (?i:(?:published|updated|posted|last\ (?:updated|modified)|publié|mis\ à\ jour|veröffentlicht
            |aktualisiert|publicado|actualizado)\s*(?:le|am|el)?\s*:?)\s.*\d.*
    )$"""
)
_DATELINE = re.compile(
    r"^\s*(?:[A-Z][\w.'’-]*(?:[ ,]+[A-Z][\w.'’-]*){0,4}\s*)?"
    r"\((?:CNN|AP|AFP|Reuters|UPI|dpa)\)\s*(?:[-–—]+\s*)?"
    r"|^\s*[A-Z][A-Z .,'’-]{2,40}\s*\((?:AP|AFP|Reuters|UPI|dpa)\)\s*[-–—]+\s*"
    r"|^\s*By \. [^.]{3,80} \. (?:(?:PUBLISHED|UPDATED): \. [^.]+ \. )*(?:\| \. )?"
    # "WESTMOOR — ", "CARROW CITY – ": a place in capitals and a dash open the report
    r"|^\s*[A-ZÀ-Ý][A-ZÀ-Ý.'’-]+(?:[ ,]+[A-ZÀ-Ý][A-ZÀ-Ý.'’-]+){0,3}\s*(?:[—–]|--)\s*(?=\S)"
)
# A dateline alone, after a glued title: "UPPER DUNN — The number…" opens a report of its own.
_DATELINE_ONLY = re.compile(r"^[A-ZÀ-Ý][A-ZÀ-Ý.'’-]+(?:[ ,]+[A-ZÀ-Ý][A-ZÀ-Ý.'’-]+){0,3}\s*(?:[—–]|--)\s")
_END_PUNCT = re.compile(r"[.!?…:;\"”’)»]\s*$")
_SPACES = re.compile(r"[ \t\u00a0\u2000-\u200b\u202f\u205f\u3000]+")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ufffd\ufeff]")
_HTMLISH = re.compile(
    r"<(?:p|div|br|span|a|html|body|article|h[1-6]|li|ul|table|section|head|script)\b", re.I
)


def looks_like_html(text: str) -> bool:
    """Whether ``text`` is HTML markup rather than prose (a few tags within its first 5000 chars)."""
    return len(_HTMLISH.findall(text[:5000])) >= 2


def html_to_text(markup: str) -> tuple[str, str | None]:
    """The main text of an HTML page (paragraphs separated by newlines) and its title, if any."""
    import trafilatura  # heavy import: only when there is HTML to read

    text = trafilatura.extract(markup, include_comments=False, include_tables=False, favor_precision=True)
    title = None
    meta = trafilatura.extract_metadata(markup)
    if meta is not None and meta.title:
        title = meta.title
    if not text:  # short fragments (a feed's summary) are not "pages" to trafilatura
        from ..htmltext import html_to_text as fragment_text  # only for HTML

        text = fragment_text(markup)
    return text, title


def normalize(text: str) -> str:
    """Unicode NFC, HTML entities decoded, control characters gone, spaces collapsed per line."""
    if not unicodedata.is_normalized("NFC", text):
        text = unicodedata.normalize("NFC", text)
    if "&" in text:
        text = html.unescape(text)
    text = _CONTROL.sub("", text.replace("\r\n", "\n").replace("\r", "\n"))
    return "\n".join(_SPACES.sub(" ", line).strip() for line in text.split("\n"))


def fold(s: str) -> str:
    """A key for comparing headings: lower case letters and digits only."""
    return re.sub(r"[\W_]+", "", s.casefold())


def is_heading(line: str, longest: int = 14) -> bool:
    """A short line without closing punctuation: a title, a section title or a list item."""
    words = line.split()
    return 0 < len(words) <= longest and not _END_PUNCT.search(line)


def is_clutter(line: str) -> bool:
    """A line of page furniture: prompts, bylines, credits, list headers."""
    if _LIST_HEADER.match(line) or _INLINE_LIST.match(line):
        return True
    # Only short lines: a whole article on one line may well mention "(AP)" or "subscribe".
    short = len(line.split()) <= 25
    return short and bool(
        _BYLINE.match(line)
        or _PROMPT.search(line)
        or _MENU.match(line)
        or _BANNER.match(line)
        or is_date_line(line)
    )


def strip_furniture(sentence: str) -> str:
    """Remove datelines ("Rome (CNN) --") and inline furniture ("Scroll down for video")."""
    sentence = _DATELINE.sub("", sentence)
    low = sentence.casefold()
    if any(w in low for w in _FURNITURE_WORDS) and _INLINE_FURNITURE.search(sentence):
        sentence = " ".join(_INLINE_FURNITURE.sub(" ", sentence).split())
    return sentence.strip()


def _strip_heading_prefix(para: str, headings: list[str]) -> str:
    """Drop a heading glued onto the start of a paragraph ("Title Words There are reports…")."""
    words = para.split()
    for h in headings:
        n = len(h.split())
        if len(words) > n and fold(" ".join(words[:n])) == fold(h):
            return " ".join(words[n:])
    return para


def clean_reports(text: str, title: str | None = None) -> tuple[list[Section], str | None]:
    """Split ``text`` into sections of prose paragraphs, clutter removed, each knowing its report.

    A heading between paragraphs starts a new section (pages often put several reports of one
    story under their own titles); a section whose header holds a date, a byline or a rule, or
    that opens with a dateline, starts a new report (see :mod:`.reports`). Returns the non-empty
    sections and the title: ``title`` when given, else the first heading-like line at the very
    top of a multi-line text.
    """
    lines = normalize(text).split("\n")
    sections: list[Section] = []
    header: list[str] = []
    headings: list[str] = [title] if title else []
    in_list = False
    found_title = title
    for i, line in enumerate(lines):
        if not line:
            in_list = False
            continue
        if _LIST_HEADER.match(line) or _INLINE_LIST.match(line):
            in_list = True  # a list of links or a table of contents follows: drop its items
            header.append(line)
            continue
        if is_heading(line, 24 if i == 0 else 14) and len(lines) > 1:  # a title may be longer
            if found_title is None and i == 0:
                found_title = line
            headings.append(line)
            header.append(line)
            continue
        if in_list and len(line.split()) < 15:
            header.append(line)  # an item of the list (headline-like items were taken as headings)
            continue
        in_list = False  # a paragraph of prose: the list has ended
        if is_clutter(line):
            header.append(line)
            continue
        if header or not sections:
            opening = _strip_heading_prefix(line, sorted(headings, key=lambda h: -len(h.split())))
            sections.append(_open_section(sections, header, opening, found_title))
            header = []
        sections[-1].paragraphs.append(line)
    # Longest first so a heading that extends another one is stripped whole.
    headings.sort(key=lambda h: -len(h.split()))
    for sec in sections:
        sec.paragraphs = [
            p for p in (strip_furniture(_strip_heading_prefix(p, headings)) for p in sec.paragraphs) if p
        ]
    return [sec for sec in sections if sec.paragraphs], found_title


def _open_section(sections: list[Section], header: list[str], para: str, title: str | None) -> Section:
    """A new section after ``header``; a new report when the header or its dateline says so."""
    if not sections:
        return Section([], title, 0, header_date(header))
    if starts_report(header, para, _DATELINE_ONLY):
        return Section([], header_title(header, is_clutter), sections[-1].report + 1, header_date(header))
    last = sections[-1]
    return Section([], header_title(header, is_clutter) or None, last.report, last.date)


def clean_sections(text: str, title: str | None = None) -> tuple[list[list[str]], str | None]:
    """The paragraphs of :func:`clean_reports`, section by section, and the title."""
    sections, found = clean_reports(text, title)
    return [sec.paragraphs for sec in sections], found


def clean_paragraphs(text: str, title: str | None = None) -> tuple[list[str], str | None]:
    """The prose paragraphs of ``text`` with clutter removed, and its title (see clean_sections)."""
    sections, found = clean_sections(text, title)
    return [p for sec in sections for p in sec], found
