"""Bounces and complaints as email providers post them (``POST /hooks/bounce``), read into the
same :class:`~digest.bounces.Report` a returned message gives. Contains no I/O.

Two formats are built in:

- **Amazon SES** notifications (``notificationType`` Bounce, Complaint, DeliveryDelay; or
  ``eventType`` from a configuration set's event publishing), bare or inside the Amazon SNS
  envelope (``"Type": "Notification"`` with the notification as its ``Message`` string). Each
  is keyed by its ``feedbackId``, so SNS retrying a delivery records nothing twice. The return
  path the message was sent with (``mail.source``) names the subscriber when it is a VERP one,
  and the message's own id names the edition.
- **Postmark** bounce and spam-complaint webhooks (``RecordType`` Bounce or SpamComplaint),
  keyed by the bounce's ``ID``.

Anything else is :class:`Unrecognised`: a one-line reason naming what was missing.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from .bounces import EDITION_ID, Finding, Kind, Report, read_verp

# Postmark's bounce types (https://postmarkapp.com/developer/api/bounce-api#bounce-types)
_POSTMARK: Mapping[str, Kind] = {
    "HardBounce": Kind.HARD,
    "BadEmailAddress": Kind.HARD,
    "ManuallyDeactivated": Kind.HARD,
    "SoftBounce": Kind.SOFT,
    "Transient": Kind.SOFT,
    "DnsError": Kind.SOFT,
    "Blocked": Kind.SOFT,
    "SpamComplaint": Kind.COMPLAINT,
    "SpamNotification": Kind.COMPLAINT,
    "AutoResponder": Kind.AUTO_REPLY,
}


@dataclass(frozen=True, slots=True)
class Unrecognised:
    """A body that is none of the formats digest reads."""

    why: str
    report_id: str  # made of the body's bytes: the same body is recorded once

    def as_report(self) -> Report:
        """What is recorded of it: one unrecognised finding, under its id."""
        return Report(self.report_id, None, (Finding(Kind.UNRECOGNISED),), self.why)


@dataclass(frozen=True, slots=True)
class Confirmation:
    """Amazon SNS asking to confirm a subscription: someone must open ``url`` once."""

    topic: str
    url: str


@dataclass(frozen=True, slots=True)
class Ignored:
    """A notification with nothing to do (a delivery, an open)."""

    what: str


Hook = Report | Unrecognised | Confirmation | Ignored


def read_hook(body: bytes) -> Hook:
    """What a webhook's body says.

    Raises:
        ValueError: the body is not a JSON object (one line, for the 400 answer).
    """
    try:
        data = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"not JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise ValueError(f"not a JSON object but {type(data).__name__}")
    made_id = f"<sha256-{hashlib.sha256(body).hexdigest()}@hook>"
    try:
        return _read(data, made_id)
    except (TypeError, ValueError, KeyError, AttributeError) as exc:  # the right keys, wrong shapes
        return Unrecognised(f"a malformed notification: {type(exc).__name__}: {exc}", made_id)


def _read(data: dict[str, Any], made_id: str) -> Hook:
    if data.get("Type") == "SubscriptionConfirmation":
        return Confirmation(str(data.get("TopicArn", "")), str(data.get("SubscribeURL", "")))
    if data.get("Type") == "Notification" and isinstance(data.get("Message"), str):
        inner = json.loads(data["Message"])
        if not isinstance(inner, dict):
            return Unrecognised("an SNS notification whose Message is not a JSON object", made_id)
        sns_id = data.get("MessageId")  # the same on every retry of one notification
        return _read(inner, f"<sns-{sns_id}>" if isinstance(sns_id, str) and sns_id else made_id)
    if "notificationType" in data or "eventType" in data:
        return _ses(data, made_id)
    if "RecordType" in data:
        return _postmark(data, made_id)
    return Unrecognised("neither an Amazon SES nor a Postmark notification", made_id)


def _ses(data: dict[str, Any], made_id: str) -> Hook:
    kind = str(data.get("notificationType") or data.get("eventType"))
    mail = data.get("mail") or {}
    key, edition = read_verp(str(mail.get("source", ""))) or (None, None)
    edition = edition or _edition(mail)
    if kind == "Bounce":
        event = data["bounce"]
        severity = {"Permanent": Kind.HARD, "Transient": Kind.SOFT}.get(event.get("bounceType"), Kind.SOFT)
        said = f"{event.get('bounceType')} bounce, {event.get('bounceSubType', 'General')}"
        named, own = event.get("bouncedRecipients"), event.get("feedbackId")
    elif kind == "Complaint":
        event = data["complaint"]
        severity, said = Kind.COMPLAINT, f"complaint via SES: {event.get('complaintFeedbackType') or 'abuse'}"
        named, own = event.get("complainedRecipients"), event.get("feedbackId")
    elif kind == "DeliveryDelay":
        event = data["deliveryDelay"]
        severity, said = Kind.DELAYED, f"delayed: {event.get('delayType', 'General')}"
        named, own = event.get("delayedRecipients"), None
    else:
        return Ignored(f"an SES {kind} notification")
    findings = [
        Finding(
            severity,
            _lower(r.get("emailAddress")),
            key,
            edition,
            said if severity is Kind.COMPLAINT else _words(r.get("diagnosticCode") or said),
        )
        for r in named or []
    ]
    when = event.get("timestamp")
    if not findings:
        return Unrecognised(f"an SES {kind} notification naming no recipient", made_id)
    report_id = f"<ses-{own}>" if own else made_id
    return Report(report_id, _when(when), tuple(findings))


def _postmark(data: dict[str, Any], made_id: str) -> Hook:
    record = str(data["RecordType"])
    if record not in ("Bounce", "SpamComplaint"):
        return Ignored(f"a Postmark {record} notification")
    kind = _POSTMARK.get(str(data.get("Type", "")), Kind.UNRECOGNISED)
    if record == "SpamComplaint":
        kind = Kind.COMPLAINT
    address = _lower(data.get("Email"))
    if not address:
        return Unrecognised(f"a Postmark {record} naming no Email", made_id)
    diagnostic = _words(data.get("Details") or data.get("Description") or data.get("Name"))
    if kind is Kind.COMPLAINT:
        diagnostic = f"complaint via Postmark: {diagnostic or 'spam complaint'}"
    metadata = data.get("Metadata") or {}
    edition = metadata.get("edition") if isinstance(metadata, dict) else None
    own = data.get("ID")
    report_id = f"<postmark-{own}>" if own is not None else made_id
    when = data.get("BouncedAt")
    return Report(report_id, _when(when), (Finding(kind, address, None, edition, diagnostic),))


def _edition(mail: Mapping[str, Any]) -> str | None:
    """The edition from the sent message's own Message-ID (SES keeps it among the headers)."""
    common = mail.get("commonHeaders") or {}
    ids = [str(common.get("messageId", ""))]
    ids += [
        str(h.get("value", ""))
        for h in mail.get("headers") or []
        if h.get("name", "").lower() == "message-id"
    ]
    for value in ids:
        found = EDITION_ID.match(value.strip())
        if found:
            return found.group(1)
    return None


def _when(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        found = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        # Postmark writes seven digits of fractions of a second; Python reads six
        trimmed = re.sub(r"(\.\d{6})\d+", r"\1", value.replace("Z", "+00:00"))
        try:
            found = datetime.fromisoformat(trimmed)
        except ValueError:
            return None
    return found if found.tzinfo else None


def _lower(value: Any) -> str | None:
    return value.strip().lower() if isinstance(value, str) and "@" in value else None


def _words(value: Any) -> str:
    return " ".join(str(value or "").split())[:500]
