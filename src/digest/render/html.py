"""MJML to email HTML: compile with mjml-python, inline CSS with css-inline, check the result.

Works around the known traps of mjml-python (MRML): ``mj-style inline="inline"`` is left as
a ``<style>`` block, so we lift those blocks out before compiling and inline them ourselves;
default fonts would add a remote stylesheet, so none are configured; unknown ``mj-`` tags
pass through silently, so leftovers are an error here.
"""

from __future__ import annotations

import re
from xml.parsers import expat

import css_inline
import jinja2
import mjml

from ..errors import TemplateError
from .templates import locate

_INLINE_STYLE = re.compile(
    r"<mj-style\b[^>]*\binline\s*=\s*[\"']inline[\"'][^>]*>(.*?)</mj-style>", re.S | re.I
)
_POSITION = re.compile(r"at position (\d+)(?::\d+)?")
_TABLE_NO_ROLE = re.compile(r"<table\b(?![^>]*\brole=)", re.I)
_LEFTOVER = re.compile(r"</?mj-[a-z-]+", re.I)
_ENTITY = re.compile(r"&[A-Za-z][A-Za-z0-9]*;")
_EXTERNAL = re.compile(r"<(?:link|script)\b|@import\b", re.I)


def compile_mjml(source: str, env: jinja2.Environment) -> str:
    """Compile rendered MJML to a standalone, email-safe HTML document.

    Raises:
        TemplateError: MJML cannot be parsed (naming the template file and line), markup is
            left over, or the result would load external CSS or JavaScript.
    """
    inline_css = "\n".join(m.group(1) for m in _INLINE_STYLE.finditer(source))
    stripped = _INLINE_STYLE.sub("", source)
    try:
        html = mjml.mjml2html(stripped, disable_comments=True, fonts={})
    except ValueError as exc:
        m = _POSITION.search(str(exc))
        offset = int(m.group(1)) if m else _guess_offset(stripped)
        place = locate(env, stripped, offset) if offset is not None else "base.mjml"
        raise TemplateError(f"{place}: MJML: {exc}") from exc
    if inline_css.strip():
        try:
            html = css_inline.CSSInliner(
                inline_style_tags=False,
                keep_style_tags=True,
                load_remote_stylesheets=False,
                extra_css=inline_css,
            ).inline(html)
        except ValueError as exc:  # css_inline.InlineError derives from ValueError
            raise TemplateError(f"base.mjml: inline CSS: {exc}") from exc
    # MRML marks its own layout tables; any table an editor writes by hand is layout too.
    html = _TABLE_NO_ROLE.sub('<table role="presentation"', html)
    try:
        check(html)
    except TemplateError as exc:
        m = _LEFTOVER.search(html)
        at = stripped.find(m.group(0)) if m else -1
        if at < 0:
            raise
        raise TemplateError(f"{locate(env, stripped, at)}: {str(exc).partition(': ')[2]}") from None
    return html


def _guess_offset(source: str) -> int | None:
    """Where an XML parser first chokes on MJML that MRML refused without saying where.

    MRML accepts a little more than XML (HTML entities, ``<br>``), so entities are blanked
    first; the first complaint is then usually the culprit.
    """
    blanked = _ENTITY.sub(lambda m: " " * len(m.group(0)), source)
    parser = expat.ParserCreate()
    try:
        parser.Parse(blanked, True)
    except expat.ExpatError as err:
        lines = source.split("\n")
        return sum(len(line) + 1 for line in lines[: err.lineno - 1]) + err.offset
    return None


def check(html: str) -> None:
    """Refuse HTML that still holds MJML tags or would load external CSS or scripts.

    Raises:
        TemplateError: naming what was found.
    """
    m = _LEFTOVER.search(html)
    if m:
        raise TemplateError(f"base.mjml: unknown MJML element left in the output: {m.group(0)}>")
    m = _EXTERNAL.search(html)
    if m:
        raise TemplateError(f"base.mjml: external CSS or JavaScript in the output: {m.group(0)}")
