"""Reading a subscribers CSV: every row checked, errors named by file and line, duplicates merged.

Columns: ``email`` and ``name`` (required header), optional ``first_name`` (whom the greeting
names; default: the first word of ``name``), ``status`` (active|unsubscribed|bounced),
``timezone`` (IANA name) and ``topics`` (separated by ``;`` or ``|``). Other columns are
ignored, so exports from other tools can be used as they are. Contains no I/O beyond reading
the one file.
"""

from __future__ import annotations

import csv
import functools
import hashlib
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from email_validator import EmailNotValidError, validate_email

from .errors import InputError
from .htmltext import strip_bidi
from .models import Subscriber, SubscriberStatus

REQUIRED = ("email", "name")
MAX_NAME = 500
MAX_FIRST_NAME = 200
MAX_ERRORS_SHOWN = 3
MAX_ERRORS_KEPT = 1000  # a bad million-row file keeps a thousand lines of errors, and counts the rest
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


@dataclass(slots=True)
class CsvReading:
    """What reading a CSV found, filled in as it is read: the rows, and the invalid ones (the
    first :data:`MAX_ERRORS_KEPT` of them in words, all of them counted)."""

    path: Path
    rows: int = 0
    valid: int = 0
    errors: list[str] = field(default_factory=list)
    error_count: int = 0

    def error(self, line: int, what: str) -> None:
        self.error_count += 1
        if len(self.errors) < MAX_ERRORS_KEPT:
            self.errors.append(f"{self.path.name}:{line}: {what}")


@dataclass(frozen=True, slots=True)
class CsvFingerprint:
    """What tells a subscribers file from the one merged last time: its size and modification
    time, and the SHA-256 of its bytes (a file touched but not changed is the same file)."""

    size: int
    mtime_ns: int
    sha256: str = ""

    @classmethod
    def of(cls, path: Path, *, hashed: bool) -> CsvFingerprint | None:
        """The file's fingerprint (``None`` when it cannot be read: the import says why)."""
        try:
            info = path.stat()
            digest = ""
            if hashed:
                with path.open("rb") as handle:
                    digest = hashlib.file_digest(handle, "sha256").hexdigest()
        except OSError:
            return None
        return cls(info.st_size, info.st_mtime_ns, digest)

    def same_file(self, other: CsvFingerprint) -> bool:
        return (self.size, self.mtime_ns) == (other.size, other.mtime_ns)

    def dumps(self) -> str:
        return json.dumps({"size": self.size, "mtime_ns": self.mtime_ns, "sha256": self.sha256})

    @classmethod
    def loads(cls, text: str | None) -> CsvFingerprint | None:
        try:
            data = json.loads(text or "")
            return cls(int(data["size"]), int(data["mtime_ns"]), str(data["sha256"]))
        except (ValueError, KeyError, TypeError):
            return None


# A plain ASCII local part (RFC 5322 dot-atom): nothing for email-validator to normalize in it
_DOT_ATOM = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*\Z")


def normalize_email(raw: str) -> str:
    """The address as stored: syntax checked (no DNS), normalized and lowercased.

    Checked by email-validator; an address whose local part is plain ASCII has only its domain
    checked by it, once per domain (a million readers share a few thousand domains), with the
    same verdict and the same result.

    Raises:
        ValueError: not a valid address (the message says why).
    """
    text = raw.strip()
    local, at, domain = text.rpartition("@")
    if at and len(local) <= 64 and len(text) <= 254 and _DOT_ATOM.match(local):
        checked = _domain(domain)
        if checked is not None:
            # Mailbox names are case-insensitive in practice; one spelling keeps one ledger row.
            return f"{local}@{checked}".lower()
    try:
        info = validate_email(text, check_deliverability=False)
    except EmailNotValidError as exc:
        raise ValueError(str(exc)) from exc
    return info.normalized.lower()


@functools.lru_cache(maxsize=65536)
def _domain(domain: str) -> str | None:
    """The normalized domain as email-validator has it, or ``None`` when it refuses it (the full
    check then says why)."""
    try:
        return validate_email(f"x@{domain}", check_deliverability=False).domain
    except EmailNotValidError:
        return None


def clean_name(raw: str) -> str:
    """A display name safe for a header: control characters (CR, LF, tabs...) become spaces,
    and bidirectional-text controls (which could make it show as another name) go."""
    return " ".join(_CONTROL.sub(" ", strip_bidi(raw)).split())


# a quoted field whose later lines look like rows of their own: "Bob\nc@example.com,Cy"
_SWALLOWED = re.compile(r"[\r\n][^\r\n]*@[^\r\n]*")


def _rows(
    reader: csv.DictReader[str], reading: CsvReading, *, strict: bool
) -> Iterator[tuple[int, dict[str, str]]]:
    """The reader's rows with the line each starts on; without ``strict``, a row the csv module
    cannot read (a field over its size limit) is reported with its line and skipped instead of
    ending the import."""
    path = reading.path
    while True:
        line = reader.line_num + 1  # where the next row starts
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            if strict:
                raise InputError(f"{path}:{line}: {exc}") from exc
            reading.error(line, str(exc))
            continue
        yield line, row


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


def _text_lines(handle: BinaryIO, path: Path) -> Iterator[str]:
    """The file's lines as text, decoded one at a time, so that a byte that is not UTF-8 is
    named by its line (a BOM at the start is dropped)."""
    for number, raw in enumerate(handle, start=1):
        try:
            yield raw.decode("utf-8-sig" if number == 1 else "utf-8")
        except UnicodeDecodeError as exc:
            raise InputError(f"{path}:{number}: not UTF-8 text") from exc


def _header(reader: csv.DictReader[str], path: Path) -> None:
    fields = [(f or "").strip().lower() for f in (reader.fieldnames or [])]
    missing = [c for c in REQUIRED if c not in fields]
    if missing:
        found = ",".join(fields) or "nothing"
        raise InputError(f"{path}:1: missing column {missing[0]!r} (header needs email,name; found {found})")
    reader.fieldnames = fields


def iter_subscribers_csv(path: Path, reading: CsvReading, *, strict: bool = False) -> Iterator[Subscriber]:
    """The valid subscribers of a CSV in file order, read one row at a time (bounded memory
    for a file of any length); an address may come more than once (see :func:`merge`).

    Args:
        path: the file (UTF-8, with or without BOM).
        reading: filled in as the file is read: rows, valid rows, errors (each like
            ``subscribers.csv:7: 'not-an-email': The email address ...``).
        strict: once every row was read, raise when any was invalid (the caller's
            transaction then keeps nothing): the message names the first lines at fault.

    Raises:
        InputError: the file cannot be read, is not UTF-8, lacks the header, or (``strict``)
            holds an invalid row.
    """
    try:
        handle = path.open("rb")
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc.strerror or exc}") from exc
    with handle:
        reader = csv.DictReader(_text_lines(handle, path), restval="")
        try:
            _header(reader, path)
        except csv.Error as exc:
            raise InputError(f"{path}:1: {exc}") from exc
        for line, row in _rows(reader, reading, strict=strict):
            reading.rows += 1
            try:
                sub = _row({k: v for k, v in row.items() if isinstance(k, str) and isinstance(v, str)})
            except ValueError as exc:
                reading.error(line, f"{(row.get('email') or '').strip()!r}: {exc}")
                continue
            reading.valid += 1
            yield sub
    if strict and reading.error_count:
        shown = "; ".join(reading.errors[:MAX_ERRORS_SHOWN])
        n = reading.error_count
        more = f" (and {n - MAX_ERRORS_SHOWN} more)" if n > MAX_ERRORS_SHOWN else ""
        raise InputError(f"{path}: {n} invalid row(s), nothing imported: {shown}{more}")


def read_subscribers_csv(path: Path, *, skip_invalid: bool = True) -> SubscriberImport:
    """Read and check a (small) subscribers CSV at once, duplicates merged in memory; an import
    of any size streams with :func:`iter_subscribers_csv` instead.

    Args:
        path: the file (UTF-8, with or without BOM).
        skip_invalid: report invalid rows in ``errors`` and keep the valid ones; when
            False, the file is all-or-nothing.

    Raises:
        InputError: as :func:`iter_subscribers_csv` (``strict`` when not ``skip_invalid``).
    """
    reading = CsvReading(path)
    found: dict[str, Subscriber] = {}
    duplicates = 0
    for sub in iter_subscribers_csv(path, reading, strict=not skip_invalid):
        duplicates += sub.email in found
        found[sub.email] = merge(found[sub.email], sub) if sub.email in found else sub
    return SubscriberImport(list(found.values()), reading.errors, rows=reading.rows, duplicates=duplicates)
