"""How a configuration error names its place: the file, the line, the key, and for a typo
the key that was meant. Contains no I/O.

pydantic reports where a value sits as a path of keys (``("delivery", "pool")``) and says
"Extra inputs are not permitted" about a typo; an editor needs ``digest.toml:14`` and
"unknown key `pool` in [delivery] (did you mean `pool_size`?)". ``tomllib`` keeps no
positions, so :func:`key_lines` reads them from the text itself, as far as a line-based
reading can tell (tables, arrays of tables, dotted keys; not the inside of multi-line
values).
"""

from __future__ import annotations

import difflib
import re
import types
import typing
from typing import Any

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

Loc = tuple[int | str, ...]

_HEADER = re.compile(r"^\s*(\[\[?)\s*([^\]]+?)\s*\]\]?\s*(#.*)?$")
_NAME = r"""(?:"[^"]*"|'[^']*'|[A-Za-z0-9_\-]+)"""  # a bare or quoted key
_KEY = re.compile(rf"^\s*({_NAME}(?:\s*\.\s*{_NAME})*)\s*=")
_PART = re.compile(r""""([^"]*)"|'([^']*)'|([A-Za-z0-9_\-]+)""")
_NOT_SETTINGS = {"base_dir"}  # fields filled in by the loader, never read from the file


def _parts(dotted: str) -> tuple[str, ...]:
    return tuple(a or b or c for a, b, c in _PART.findall(dotted))


def key_lines(text: str) -> dict[Loc, int]:
    """The line (1-based) of every table header and key in a TOML text, by its path of keys,
    arrays of tables counted as pydantic counts them: ``{("feeds", 0, "url"): 12, ...}``."""
    lines: dict[Loc, int] = {}
    table: Loc = ()
    arrays: dict[tuple[str, ...], int] = {}
    in_string = False
    for number, line in enumerate(text.splitlines(), 1):
        quotes = line.count('"""') + line.count("'''")
        if in_string:
            in_string = quotes % 2 == 0
            continue
        in_string = quotes % 2 == 1
        header = _HEADER.match(line)
        if header:
            names = _parts(header.group(2))
            if header.group(1) == "[[":
                index = arrays[names] = arrays.get(names, -1) + 1
                table = (*names, index)
            else:
                table = names
            lines.setdefault(table, number)
            continue
        key = _KEY.match(line)
        if key:
            lines.setdefault((*table, *_parts(key.group(1))), number)
    return lines


def line_of(loc: Loc, lines: dict[Loc, int]) -> int | None:
    """The line of ``loc``, else of the nearest table or key that holds it."""
    for end in range(len(loc), 0, -1):
        if loc[:end] in lines:
            return lines[loc[:end]]
    return None


def dotted(loc: Loc) -> str:
    """``("feeds", 0, "url")`` -> ``feeds[0].url``."""
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top level)"


def _model_in(annotation: Any) -> type[BaseModel] | None:
    """The settings model a field holds (itself, or the items of a tuple of them)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    if typing.get_origin(annotation) in (tuple, list, typing.Union, types.UnionType):
        for arg in typing.get_args(annotation):
            found = _model_in(arg)
            if found is not None:
                return found
    return None


def _sections(model: type[BaseModel], path: tuple[str, ...] = ()) -> dict[tuple[str, ...], type[BaseModel]]:
    """Every table of the settings, by its path: ``{(): Settings, ("delivery",): DeliveryConfig, ...}``."""
    found = {path: model}
    for name, field in model.model_fields.items():
        inner = _model_in(field.annotation)
        if inner is not None:
            found.update(_sections(inner, (*path, name)))
    return found


def _table(path: tuple[str, ...], sections: dict[tuple[str, ...], type[BaseModel]]) -> str:
    """How the file writes the table at ``path``: ``[delivery]``, or ``[[feeds]]`` for an array."""
    parent = sections.get(path[:-1])
    field = parent.model_fields.get(path[-1]) if parent else None
    array = field is not None and typing.get_origin(field.annotation) in (tuple, list)
    return f"[[{'.'.join(path)}]]" if array else f"[{'.'.join(path)}]"


def unknown_key(loc: Loc, model: type[BaseModel]) -> str:
    """ "unknown key `pool` in [delivery] (did you mean `pool_size`?)": a suggestion from the
    keys of that table, else the table where such a key belongs."""
    key = str(loc[-1])
    path = tuple(p for p in loc[:-1] if isinstance(p, str))
    sections = _sections(model)
    where = f" in {_table(path, sections)}" if path else ""
    here = sections.get(path)
    known = [n for n in here.model_fields if n not in _NOT_SETTINGS] if here else []
    close = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
    if close:
        return f"unknown key `{key}`{where} (did you mean `{close[0]}`?)"
    homes = [p for p, m in sections.items() if p != path and key in m.model_fields and p]
    if homes:
        return f"unknown key `{key}`{where} (it belongs in {_table(homes[0], sections)})"
    return f"unknown key `{key}`{where}"


def describe(exc: ValidationError, *, source: str, text: str | None, model: type[BaseModel]) -> str:
    """One line for the first problem in the file (by line when the text is known), naming the
    file, the line and the key: ``digest.toml:3: unknown key `max_storys` (did you mean ...)``."""
    lines = key_lines(text) if text is not None else {}
    errors = exc.errors()

    def place(error: ErrorDetails) -> int:
        return line_of(error["loc"], lines) or 0

    first = min(errors, key=place) if lines else errors[0]
    line = line_of(first["loc"], lines)
    where = f"{source}:{line}" if line else source
    if first["type"] == "extra_forbidden":
        what = unknown_key(first["loc"], model)
    else:
        what = f"{dotted(first['loc'])}: {first['msg'].removeprefix('Value error, ')}"
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    return f"{where}: {what}{more}"
