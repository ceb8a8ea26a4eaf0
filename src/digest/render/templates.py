"""Template loading: the editor's folder first, the default templates for every file it lacks.

Every failure becomes a :class:`~digest.errors.TemplateError` whose message names the file
and the line (jinja syntax and runtime errors, and MJML errors traced back to the template
line that produced the offending markup).
"""

from __future__ import annotations

import re
import textwrap
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jinja2

from ..errors import TemplateError

BASE = "base.mjml"
TEXT = "text.txt"
GREETING = "greeting.txt"
PARTIALS = ("masthead.mjml", "story.mjml", "footer.mjml")
_JINJA = re.compile(r"\{\{.*?\}\}|\{%.*?%\}|\{#.*?#\}")
_PACKAGE = Path(__file__).resolve().parent.parent


def default_dir() -> Path:
    """The built-in templates: shipped inside the package, or ``templates/`` of a source checkout."""
    for candidate in (_PACKAGE / "templates", _PACKAGE.parent.parent / "templates"):
        if (candidate / BASE).is_file():
            return candidate
    raise TemplateError(f"default templates not found in {_PACKAGE / 'templates'}")


def _autoescape(name: str | None) -> bool:
    # Plain-text templates must not be HTML-escaped; everything else (MJML, HTML) must be.
    return name is None or not name.endswith(".txt")


def wrap(text: object, width: int = 76, indent: str = "", first: str | None = None) -> str:
    """Wrap plain text near ``width`` columns; long words (URLs) are never broken."""
    out = []
    for para in str(text).split("\n"):
        out.append(
            textwrap.fill(
                para,
                width=width,
                initial_indent=indent if first is None else first,
                subsequent_indent=indent,
                break_long_words=False,
                break_on_hyphens=False,
            )
        )
    return "\n".join(out)


def environment(override: Path | None) -> jinja2.Environment:
    """A jinja environment over ``override`` (when given) then the default templates.

    Raises:
        TemplateError: the override folder does not exist.
    """
    search: list[jinja2.BaseLoader] = []
    if override is not None:
        if not override.is_dir():
            raise TemplateError(f"{override}: templates folder not found")
        search.append(jinja2.FileSystemLoader(override))
    search.append(jinja2.FileSystemLoader(default_dir()))
    env = jinja2.Environment(
        loader=jinja2.ChoiceLoader(search),
        autoescape=_autoescape,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["wrap"] = wrap
    return env


def _where(exc: BaseException) -> str:
    """``file:line`` of the template frame an exception came from, as well as can be told."""
    if isinstance(exc, jinja2.TemplateSyntaxError):
        return f"{exc.filename or exc.name or '<template>'}:{exc.lineno}"
    if isinstance(exc, jinja2.TemplateNotFound):
        return str(exc.name or "<template>")
    # jinja rewrites tracebacks so that template frames carry the template's file and line.
    for frame in reversed(traceback.extract_tb(exc.__traceback__)):
        if frame.filename.endswith((".mjml", ".txt")) or frame.filename == "<template>":
            return f"{frame.filename}:{frame.lineno}"
    return "<template>"


def load(env: jinja2.Environment, name: str) -> jinja2.Template:
    """A template by name; errors name the file and line."""
    try:
        return env.get_template(name)
    except jinja2.TemplateError as exc:
        raise TemplateError(f"{_where(exc)}: {exc.message or exc}") from exc


def render(template: jinja2.Template, context: dict[str, Any]) -> str:
    """Render ``template``; syntax and runtime errors name the file and line."""
    try:
        return template.render(context)
    except jinja2.TemplateError as exc:
        raise TemplateError(f"{_where(exc)}: {exc.message or exc}") from exc
    except (TypeError, ValueError, AttributeError, ArithmeticError, LookupError) as exc:
        raise TemplateError(f"{_where(exc)}: {type(exc).__name__}: {exc}") from exc


def from_string(env: jinja2.Environment, source: str, place: str) -> Callable[[dict[str, Any]], str]:
    """A small inline template from the config (subject, preheader); errors name ``place``."""
    try:
        tpl = env.from_string(source)
    except jinja2.TemplateSyntaxError as exc:
        raise TemplateError(f"{place}: {exc.message}") from exc

    def run(context: dict[str, Any]) -> str:
        try:
            return str(tpl.render(context))
        except (jinja2.TemplateError, TypeError, ValueError, AttributeError, LookupError) as exc:
            raise TemplateError(f"{place}: {exc}") from exc

    return run


def locate(env: jinja2.Environment, rendered: str, offset: int) -> str:
    """Trace an offset in rendered MJML back to ``file:line`` of the template that wrote it.

    MJML errors only give an offset in the rendered text. We take that rendered line and
    pick the template line whose longest literal run of markup (outside jinja tags) it
    contains; ties go to the partials, which are included into the base layout.
    """
    line_no = rendered.count("\n", 0, offset) + 1
    start = rendered.rfind("\n", 0, offset) + 1
    end = rendered.find("\n", offset)
    line = rendered[start : end if end >= 0 else len(rendered)].strip()
    best: tuple[int, str] = (0, "")
    for name in (*PARTIALS, BASE):
        try:
            source, filename, _ = env.loader.get_source(env, name) if env.loader else ("", None, None)
        except jinja2.TemplateNotFound:
            continue
        for i, tline in enumerate(source.splitlines(), 1):
            literal = max((p.strip() for p in _JINJA.split(tline)), key=len)
            if len(literal) > best[0] and len(literal) >= 6 and literal in line:
                best = (len(literal), f"{filename or name}:{i}")
    return best[1] or f"{BASE} (rendered MJML line {line_no}: {line[:80]!r})"
