"""Reading a subscribers CSV: every row checked, errors named by file and line, duplicates merged.

Columns: ``email`` and ``name`` (required header), optional ``first_name`` (whom the greeting
names; default: the first word of ``name``), ``status`` (active|unsubscribed|bounced),
``timezone`` (IANA name) and ``topics`` (separated by ``;`` or ``|``). Other columns are
ignored, so exports from other tools can be used as they are. Contains no I/O beyond reading
the one file.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from email_validator import EmailNotValidError, validate_email

from .errors import InputError
from .models import Subscriber, SubscriberStatus

REQUIRED = ("email", "name")
MAX_NAME = 500
MAX_FIRST_NAME = 200
MAX_ERRORS_SHOWN = 3
_TOPIC_SEP = re.compile(r"[;|,]")  # ',' too: the store joins topics with commas
_CONTROL = re.compile(r"[\x00-\x1f\x7f\u2028\u2029]+")
# Leaving wins when the same address appears twice: never mail someone who left.
_STATUS_RANK = {SubscriberStatus.ACTIVE: 0, SubscriberStatus.BOUNCED: 1, SubscriberStatus.UNSUBSCRIBED: 2}


@dataclass(frozen=True, slots=True)
class SubscriberImport:
    """The valid subscribers of a file (in file order, duplicates merged) and one line per error."""

    subscribers: list[Subscriber] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    rows: int = 0
    duplicates: int = 0


def normalize_email(raw: str) -> str:
    """The address as stored: syntax checked (no DNS), normalized and lowercased.

    Raises:
        ValueError: not a valid address (the message says why).
    """
    try:
        info = validate_email(raw.strip(), check_deliverability=False)
    except EmailNotValidError as exc:
        raise ValueError(str(exc)) from exc
    # Mailbox names are case-insensitive in practice; one spelling keeps one ledger row.
    return info.normalized.lower()


def clean_name(raw: str) -> str:
    """A display name safe for a header: control characters (CR, LF, tabs...) become spaces."""
    return " ".join(_CONTROL.sub(" ", raw).split())


# a quoted field whose later lines look like rows of their own: "Bob\nc@example.com,Cy"
_SWALLOWED = re.compile(r"[\r\n][^\r\n]*@[^\r\n]*")


def _rows(
    reader: csv.DictReader[str], path: Path, errors: list[str], *, skip_invalid: bool
) -> Iterator[dict[str, str]]:
    """The reader's rows; with ``skip_invalid``, a row the csv module cannot read (a field over
    its size limit) is reported with its line and skipped instead of ending the import."""
    while True:
        line = reader.line_num + 1  # where the next row starts
        try:
            yield next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            if not skip_invalid:
                raise
            errors.append(f"{path.name}:{line}: {exc}")


def _row(row: dict[str, str]) -> Subscriber:
    if any(_SWALLOWED.search(v) for v in row.values()):
        # an unclosed quote swallows the rows after it: say so rather than lose them quietly
        raise ValueError("a field runs over rows that hold addresses (an unclosed quote?)")
    email = normalize_email(row.get("email") or "")
    name = clean_name(row.get("name") or "")
    first_name = clean_name(row.get("first_name") or "")
    if len(name) > MAX_NAME:
        raise ValueError(f"name longer than {MAX_NAME} characters")
    if len(first_name) > MAX_FIRST_NAME:
        raise ValueError(f"first_name longer than {MAX_FIRST_NAME} characters")
    status_raw = (row.get("status") or "").strip().lower() or "active"
    try:
        status = SubscriberStatus(status_raw)
    except ValueError:
        raise ValueError(f"status {status_raw!r}: expected active, unsubscribed or bounced") from None
    tz = (row.get("timezone") or "").strip() or None
    if tz is not None:
        try:
            ZoneInfo(tz)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown timezone {tz!r}") from None
    topics = frozenset(t for t in (p.strip() for p in _TOPIC_SEP.split(row.get("topics") or "")) if t)
    return Subscriber(
        email=email, name=name, status=status, timezone=tz, topics=topics, first_name=first_name
    )


def merge(a: Subscriber, b: Subscriber) -> Subscriber:
    """One subscriber from two rows of the same address: the later non-empty values, topics
    united, and the status that leaves (unsubscribed > bounced > active)."""
    status = max(a.status, b.status, key=_STATUS_RANK.__getitem__)
    return Subscriber(
        email=a.email,
        name=b.name or a.name,
        status=status,
        timezone=b.timezone or a.timezone,
        topics=a.topics | b.topics if a.topics and b.topics else frozenset(),
        first_name=b.first_name or a.first_name,
    )


def _read_text(path: Path) -> str:
    try:
        return path.read_bytes().decode("utf-8-sig")
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc.strerror or exc}") from exc
    except UnicodeDecodeError as exc:
        line = path.read_bytes()[: exc.start].count(b"\n") + 1
        raise InputError(f"{path}:{line}: not UTF-8 text") from exc


def _header(reader: csv.DictReader[str], path: Path) -> None:
    fields = [(f or "").strip().lower() for f in (reader.fieldnames or [])]
    missing = [c for c in REQUIRED if c not in fields]
    if missing:
        found = ",".join(fields) or "nothing"
        raise InputError(f"{path}:1: missing column {missing[0]!r} (header needs email,name; found {found})")
    reader.fieldnames = fields


def read_subscribers_csv(path: Path, *, skip_invalid: bool = True) -> SubscriberImport:
    """Read and check a subscribers CSV.

    Args:
        path: the file (UTF-8, with or without BOM).
        skip_invalid: report invalid rows in ``errors`` and keep the valid ones; when
            False, the file is all-or-nothing.

    Returns:
        The valid subscribers in file order (same address twice: merged into one) and
        the errors, each like ``subscribers.csv:7: 'not-an-email': The email address ...``.

    Raises:
        InputError: the file cannot be read, lacks the header, or (``skip_invalid=False``)
            holds an invalid row; the message names the file and the first lines at fault.
    """
    reader = csv.DictReader(io.StringIO(_read_text(path), newline=""), restval="")
    try:
        _header(reader, path)
        found: dict[str, Subscriber] = {}
        errors: list[str] = []
        rows = duplicates = 0
        line = reader.line_num + 1
        for row in _rows(reader, path, errors, skip_invalid=skip_invalid):
            rows += 1
            try:
                sub = _row({k: v for k, v in row.items() if isinstance(k, str) and isinstance(v, str)})
            except ValueError as exc:
                errors.append(f"{path.name}:{line}: {(row.get('email') or '').strip()!r}: {exc}")
            else:
                duplicates += sub.email in found
                found[sub.email] = merge(found[sub.email], sub) if sub.email in found else sub
            line = reader.line_num + 1
    except csv.Error as exc:
        raise InputError(f"{path}:{line}: {exc}") from exc
    if errors and not skip_invalid:
        shown = "; ".join(errors[:MAX_ERRORS_SHOWN])
        more = f" (and {len(errors) - MAX_ERRORS_SHOWN} more)" if len(errors) > MAX_ERRORS_SHOWN else ""
        raise InputError(f"{path}: {len(errors)} invalid row(s), nothing imported: {shown}{more}")
    return SubscriberImport(list(found.values()), errors, rows=rows, duplicates=duplicates)
