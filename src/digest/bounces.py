"""What comes back: bounces (RFC 3464 delivery status notifications and the formats mail servers
used before it) and complaints (RFC 5965 ARF feedback reports), read from the returned message.
Contains no I/O.

A message digest sends carries a VERP return path, ``bounces+<key>-<yyyymmdd>@<bounce domain>``:
a bounce comes back to that address, so it names its subscriber (by their opaque key, never
their address) and the edition it answered without reading its body. Without VERP the report
is read: the DSN's Final-Recipient, flufl.bounce's detectors (the Mailman project's, for
Exim, qmail, Postfix, Exchange and the like), or the ARF report's Original-Rcpt-To.
"""

from __future__ import annotations

import email
import email.policy
import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage, Message
from email.utils import parsedate_to_datetime
from enum import StrEnum

VERP_PREFIX = "bounces"
_VERP = re.compile(rf"{VERP_PREFIX}\+(?P<key>[a-z2-7]{{8,64}})-(?P<day>\d{{8}})@", re.IGNORECASE)
EDITION_ID = re.compile(r"<?(\d{4}-\d{2}-\d{2})\.[0-9a-f]+@")  # our Message-IDs start with the day
_ADDRESS = re.compile(r"[^\s<>;:\"']+@[^\s<>;:\"']+\.[^\s<>;:\"']+")
_STATUS = re.compile(r"\b([245])\.\d{1,3}\.\d{1,3}\b")
_REPLY = re.compile(r"\b([45]\d\d)[ -]")
_ENVELOPE_TO = ("Delivered-To", "X-Original-To", "Envelope-To", "X-Envelope-To", "To")
_AUTO = re.compile(
    r"\b(out of (the )?office|automatic reply|auto(matic)?[- ]?(reply|response)|abwesenheit|absence)", re.I
)


class Kind(StrEnum):
    HARD = "hard"  # the address does not take mail (5.x.x): counts towards bounced at once
    SOFT = "soft"  # a passing failure (4.x.x: mailbox full, greylisted …): counts over editions
    COMPLAINT = "complaint"  # the reader marked it as spam: unsubscribed at once
    DELAYED = "delayed"  # the server still tries: nothing to do
    AUTO_REPLY = "auto-reply"  # out of office and the like: nothing to do
    UNRECOGNISED = "unrecognised"  # not a report digest can read, or it names nobody


@dataclass(frozen=True, slots=True)
class Finding:
    """One reader a returned message is about."""

    kind: Kind
    address: str | None = None  # as the report names them (lowercased)
    key: str | None = None  # the subscriber's key, from the VERP return path
    edition: str | None = None  # the edition it answered, when the report tells
    diagnostic: str = ""  # the server's words: "550 5.1.1 <x@y>: user unknown"


@dataclass(frozen=True, slots=True)
class Report:
    """What one returned message says: its own id (reading the same message twice changes
    nothing), when it was sent, and what it is about."""

    message_id: str
    received: datetime | None
    findings: tuple[Finding, ...]
    why: str = ""  # for an unrecognised message: what was missing


def verp_address(key: str, edition_id: str, domain: str) -> str:
    """The return path of one subscriber's message of one edition. Contains no I/O."""
    return f"{VERP_PREFIX}+{key}-{edition_id.replace('-', '')}@{domain}"


def read_verp(text: str) -> tuple[str, str] | None:
    """(subscriber key, edition id) of the VERP address in ``text``, if there is one."""
    found = _VERP.search(text)
    if not found:
        return None
    day = found["day"]
    return found["key"].lower(), f"{day[:4]}-{day[4:6]}-{day[6:]}"


def read_report(raw: bytes) -> Report:
    """Read a returned message (a bounce, a complaint, an auto-reply, or anything else)."""
    try:
        msg = email.message_from_bytes(raw, policy=email.policy.default)
    except Exception as exc:  # the parser is lenient; this is a message it cannot read at all
        return Report(_own_id(None, raw), None, (Finding(Kind.UNRECOGNISED),), f"cannot parse: {exc}")
    assert isinstance(msg, EmailMessage)
    own = _own_id(msg, raw)
    received = _date(msg)
    verp = _verp(msg)
    original = _original(msg)
    edition = verp[1] if verp else _edition(original)
    key = verp[0] if verp else None
    report_type = (msg.get_param("report-type", header="content-type") or "") if msg.is_multipart() else ""
    findings: list[Finding]
    why = ""
    if str(report_type).lower() == "feedback-report":
        findings = _complaints(msg, original, key, edition)
    else:
        findings = _dsn(msg, key, edition) or _detected(raw, key, edition)
    if not findings and _auto_reply(msg):
        findings = [Finding(Kind.AUTO_REPLY, key=key, edition=edition)]
    if not findings:
        why = "no delivery status, feedback report or failed recipient in it"
        findings = [Finding(Kind.UNRECOGNISED, key=key, edition=edition)]
    return Report(own, received, tuple(findings), why)


def _own_id(msg: Message | None, raw: bytes) -> str:
    """The report's Message-ID, or one made of its bytes when it has none."""
    value = str(msg.get("Message-ID", "") if msg is not None else "").strip()
    return value[:500] or f"<sha256-{hashlib.sha256(raw).hexdigest()}@digest>"


def _date(msg: Message) -> datetime | None:
    try:
        value = msg.get("Date")
        return parsedate_to_datetime(str(value)) if value else None
    except (TypeError, ValueError):
        return None


def _verp(msg: Message) -> tuple[str, str] | None:
    """(key, edition) from the address the report was sent to, when it is a VERP one."""
    for name in _ENVELOPE_TO:
        for value in msg.get_all(name) or []:
            if found := read_verp(str(value)):
                return found
    return None


def _original(msg: Message) -> Message | None:
    """The returned original (its headers at least): a message/rfc822 or text/rfc822-headers part."""
    for part in msg.walk():
        kind = part.get_content_type()
        if kind == "message/rfc822":
            inner = part.get_payload()
            if isinstance(inner, list) and inner and isinstance(inner[0], Message):
                return inner[0]
        if kind == "text/rfc822-headers":
            text = part.get_payload(decode=True) or b""
            return email.message_from_bytes(bytes(text), policy=email.policy.default)
    return None


def _edition(original: Message | None) -> str | None:
    """The edition a returned original was, from its Message-ID (it starts with the day)."""
    if original is None:
        return None
    found = EDITION_ID.search(str(original.get("Message-ID", "")))
    return found.group(1) if found else None


def _dsn(msg: Message, key: str | None, edition: str | None) -> list[Finding]:
    """The failed (or delayed) recipients of an RFC 3464 delivery-status part."""
    found: list[Finding] = []
    for part in msg.walk():
        if part.get_content_type() != "message/delivery-status":
            continue
        blocks = part.get_payload()
        for block in blocks if isinstance(blocks, list) else []:
            if not isinstance(block, Message):
                continue
            recipient = block.get("Final-Recipient") or block.get("Original-Recipient")
            action = str(block.get("Action", "")).strip().lower()
            if not recipient or action not in ("failed", "delayed"):
                continue
            status = str(block.get("Status", "")).strip()
            diagnostic = " ".join(str(block.get("Diagnostic-Code", "")).split()).removeprefix("smtp; ")
            kind = Kind.DELAYED if action == "delayed" else _severity(status, diagnostic)
            address = _address(str(recipient).partition(";")[2] or str(recipient))
            found.append(Finding(kind, address, key, edition, (diagnostic or status)[:500]))
    return found


def _severity(status: str, diagnostic: str) -> Kind:
    """Hard for a permanent failure (5.x.x, a 5xx reply), soft for a passing one."""
    code = _STATUS.search(status) or _STATUS.search(diagnostic)
    if code:
        return Kind.HARD if code.group(1) == "5" else Kind.SOFT
    reply = _REPLY.search(diagnostic)
    return Kind.SOFT if reply and reply.group(1).startswith("4") else Kind.HARD


def _detected(raw: bytes, key: str | None, edition: str | None) -> list[Finding]:
    """Older, non-standard bounces, read by flufl.bounce's detectors (imported here: rendering
    an email needs this module's VERP address, not its detectors)."""
    from flufl.bounce import all_failures

    legacy = email.message_from_bytes(raw)  # the detectors read compat32 messages
    try:
        temporary, permanent = all_failures(legacy)
    except Exception:  # a detector choking on a malformed message: it is just not recognised
        return []
    diagnostic = _first_reply(legacy)
    return [
        Finding(Kind.HARD, _address(a.decode(errors="replace")), key, edition, diagnostic)
        for a in sorted(permanent)
    ] + [
        Finding(Kind.SOFT, _address(a.decode(errors="replace")), key, edition, diagnostic)
        for a in sorted(temporary - permanent)
    ]


def _first_reply(msg: Message) -> str:
    """The first line of the body that reads like a server's reply ("550 5.1.1 …")."""
    for part in msg.walk():
        if part.get_content_maintype() != "text":
            continue
        text = part.get_payload(decode=True) or b""
        for line in bytes(text).decode("utf-8", "replace").splitlines():
            if _REPLY.search(line) or _STATUS.search(line):
                return " ".join(line.split())[:500]
    return ""


def _complaints(
    msg: Message, original: Message | None, key: str | None, edition: str | None
) -> list[Finding]:
    """The reader an ARF feedback report (RFC 5965) is about."""
    fields: Message | None = None
    for part in msg.walk():
        if part.get_content_type() == "message/feedback-report":
            payload = part.get_payload()
            first = payload[0] if isinstance(payload, list) and payload else None
            fields = first if isinstance(first, Message) else None
            if fields is None:
                text = part.get_payload(decode=True) or b""
                fields = email.message_from_bytes(bytes(text), policy=email.policy.default)
    if fields is None:
        return []
    feedback = str(fields.get("Feedback-Type", "abuse")).strip().lower()
    if not key and (verp := read_verp(str(fields.get("Original-Mail-From", "")))):
        key, edition = verp[0], edition or verp[1]
    candidates: Iterable[str] = [
        str(fields.get("Original-Rcpt-To", "")),
        str(fields.get("Removal-Recipient", "")),
        str(original.get("To", "")) if original is not None else "",
    ]
    address = next((a for a in map(_address, candidates) if a), None)
    if not (address or key):
        return []
    return [Finding(Kind.COMPLAINT, address, key, edition, f"feedback report: {feedback}")]


def _address(text: str) -> str | None:
    found = _ADDRESS.search(text)
    return found.group().strip(".,").lower() if found else None


def _auto_reply(msg: Message) -> bool:
    auto = str(msg.get("Auto-Submitted", "")).strip().lower()
    flagged = any(msg.get(h) for h in ("X-Autoreply", "X-Autorespond", "X-Auto-Response-Suppress"))
    precedence = str(msg.get("Precedence", "")).strip().lower() == "auto_reply"
    return (
        bool(auto and auto != "no")
        or flagged
        or precedence
        or bool(_AUTO.search(str(msg.get("Subject", ""))))
    )
