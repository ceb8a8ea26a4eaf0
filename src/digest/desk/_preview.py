"""The email as a subscriber will see it, for the desk's preview frame. Contains no I/O.

The preview is rendered by the same :class:`~digest.render.EditionRenderer` that sends, for
the sample reader (every topic), so what the editor approves is what goes out. Dark mode is
shown server-side: the template's ``prefers-color-scheme: dark`` block is made to apply
unconditionally, which works whatever the editor's own browser or system prefers.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from ..config import Settings
from ..models import Edition
from ..pipeline import SAMPLE_SUBSCRIBER
from ..render import EditionRenderer, RenderedMessage, clip

# "auto": the page has not chosen; the stylesheet shows the mobile width on a screen too narrow
# for the desktop one (no script: a media query decides), the desktop width elsewhere
Width = Literal["auto", "desktop", "mobile"]
WIDTHS: dict[Width, int] = {"auto": 800, "desktop": 800, "mobile": 375}

_DARK = re.compile(r"@media\s*\(\s*prefers-color-scheme\s*:\s*dark\s*\)", re.IGNORECASE)
_LIGHT = re.compile(r"@media\s*\(\s*prefers-color-scheme\s*:\s*light\s*\)", re.IGNORECASE)
_SCHEME_META = re.compile(r'(<meta\s+name="color-scheme"\s+content=")[^"]*(")', re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class View:
    """How the editor wants to see the preview: width, dark or light, HTML or plain text."""

    width: Width = "auto"
    dark: bool = False
    text: bool = False

    @classmethod
    def parse(cls, query: dict[str, str]) -> View:
        """From the desk page's query (``?width=mobile&dark=1`` or ``?format=text``); unknown
        values fall back to the defaults rather than failing a page view."""
        asked = query.get("width")
        width: Width = "desktop" if asked == "desktop" else "mobile" if asked == "mobile" else "auto"
        return cls(width=width, dark=query.get("dark") == "1", text=query.get("format") == "text")

    @property
    def pixels(self) -> int:
        return WIDTHS[self.width]

    def query(self, **change: object) -> str:
        """The query string of this view with some settings changed (for the switch links)."""
        width = str(change.get("width", self.width))
        dark = bool(change.get("dark", self.dark))
        text = bool(change.get("text", self.text))
        parts = [f"width={width}"] if width != "auto" else []
        parts += ["dark=1"] if dark else []
        parts += ["format=text"] if text else []
        return "?" + "&".join(parts) if parts else ""


def render_preview(edition: Edition, settings: Settings, *, secret: bytes, now: datetime) -> RenderedMessage:
    """The sample reader's message of ``edition``.

    Raises:
        TemplateError, HeaderError, ConfigError: as :class:`EditionRenderer` does.
    """
    return EditionRenderer(edition, settings, secret=secret, now=now).preview(SAMPLE_SUBSCRIBER)


def clip_warning(edition: Edition, settings: Settings, *, secret: bytes, now: datetime) -> str:
    """What the editor should know when the email is too long for Gmail, or ``""``.

    Measured for the sample reader, who gets every section: the largest email of the edition.
    """
    cfg = settings.render
    sample = [SAMPLE_SUBSCRIBER]
    _, check = clip.fit(edition, settings, secret=secret, now=now, subscribers=sample, trim=cfg.trim_to_fit)
    if not check.over:
        return ""
    said = (
        f"This email's HTML part is {check.largest / clip.KB:.1f} KB, over the {cfg.clip_limit_kb} KB "
        "limit: Gmail clips it at 102 KB and hides the rest, the unsubscribe link included."
    )
    n = len(check.dropped)
    if n:
        last = "story" if n == 1 else f"{n} stories"
        return (
            f"{said} When it is sent, digest drops the last {last} of the list below, unless you drop"
            " some; an edition approved as it stands is sent as it stands."
        )
    return f"{said} It will be sent as it is: drop stories below to make it fit."


def dark_variant(html: str) -> str:
    """``html`` with its dark-mode rules always on and its light-only rules off."""
    html = _DARK.sub("@media all", html)
    html = _LIGHT.sub("@media not all", html)
    return _SCHEME_META.sub(r"\1dark\2", html)
