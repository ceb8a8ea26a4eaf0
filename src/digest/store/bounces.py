"""What came back, recorded: each returned message's findings, matched to subscribers, and what
they do. A hard bounce counts towards ``bounced`` (``hard_after``, 1 by default), soft bounces
over separate editions too (``soft_after``, 3), and a complaint unsubscribes at once. Reading
the same message again changes nothing: its findings are keyed by its Message-ID.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime

from sqlalchemy import Connection, func, select, update

from ..bounces import Finding, Kind, Report
from ..models import SubscriberStatus
from . import schema
from ._sql import db_now, insert_ignore
from .base import StoreBase, chunks

_B = schema.bounce_events
_S = schema.subscribers
_D = schema.deliveries
_SUPPRESSING = (Kind.HARD, Kind.SOFT, Kind.COMPLAINT)
COMPLAINED = "complaint: "  # how the reason of a reader unsubscribed by a complaint begins

# Above these, the big mailbox providers start to distrust a sender (Gmail's and Yahoo's rules
# for bulk senders keep complaints under 0.3%; the ESPs warn long before).
BOUNCE_WARN = 0.02
COMPLAINT_WARN = 0.001


@dataclass(slots=True)
class Processed:
    """What recording returned messages did."""

    counts: dict[str, int] = field(default_factory=dict)  # kind -> findings recorded now
    suppressed: list[tuple[str, str, str]] = field(default_factory=list)  # (email, status, why)
    unrecognised: list[str] = field(default_factory=list)  # "report id: why"
    seen_before: int = 0  # findings of messages recorded earlier: nothing done again

    def add(self, other: Processed) -> None:
        for kind, n in other.counts.items():
            self.counts[kind] = self.counts.get(kind, 0) + n
        self.suppressed += other.suppressed
        self.unrecognised += other.unrecognised
        self.seen_before += other.seen_before


@dataclass(frozen=True, slots=True)
class Rates:
    """One edition's deliveries and what came back of them."""

    edition_id: str
    sent: int  # readers it was sent to (or refused, when sent, for good)
    bounced: int  # readers whose address bounced for good (hard): the rate providers judge
    complained: int

    def share(self, n: int) -> float:
        return n / self.sent if self.sent else 0.0

    @property
    def bounce_rate(self) -> float:
        return self.share(self.bounced)

    @property
    def complaint_rate(self) -> float:
        return self.share(self.complained)

    def warnings(self) -> list[str]:
        """What is too high, in words; empty when all is well."""
        found = []
        if self.bounce_rate > BOUNCE_WARN:
            found.append(
                f"edition {self.edition_id}: {self.bounce_rate:.1%} of readers bounced (over "
                f"{BOUNCE_WARN:.0%}): check where the list's addresses came from"
            )
        if self.complaint_rate > COMPLAINT_WARN:
            found.append(
                f"edition {self.edition_id}: {self.complaint_rate:.2%} of readers complained (over "
                f"{COMPLAINT_WARN:.1%}): mailbox providers file senders above it as spam"
            )
        return found


class BounceStore(StoreBase):
    def record_report(
        self, report: Report, *, source: str, hard_after: int = 1, soft_after: int = 3
    ) -> Processed:
        """Record what one returned message says, and act on it, in one transaction."""
        done = Processed()
        with self.begin() as conn:
            now = db_now(conn)  # one clock for every machine on the store
            for position, finding in enumerate(report.findings):
                email = self._match(conn, finding)
                edition = finding.edition or (email and self._last_sent(conn, email, report.received))
                kind = (
                    finding.kind
                    if email or finding.kind in (Kind.AUTO_REPLY, Kind.DELAYED)
                    else Kind.UNRECOGNISED
                )
                row = {
                    "report_id": report.message_id,
                    "position": position,
                    "kind": kind.value,
                    "email": email,
                    "named": finding.address,
                    "edition_id": edition or None,
                    "diagnostic": finding.diagnostic[:2000] or None,
                    "received": report.received,
                    "recorded": now,
                    "source": source[:500],
                }
                if not insert_ignore(conn, _B, [row]):
                    done.seen_before += 1
                    continue
                done.counts[kind.value] = done.counts.get(kind.value, 0) + 1
                if kind is Kind.UNRECOGNISED:
                    why = report.why or "names no subscriber digest knows"
                    done.unrecognised.append(f"{report.message_id}: {why}")
                elif email and kind in _SUPPRESSING:
                    if edition and not finding.edition:
                        finding = replace(finding, edition=edition)
                    limits = {"hard_after": hard_after, "soft_after": soft_after}
                    outcome = self._act(conn, email, finding, now=now, **limits)
                    if outcome:
                        done.suppressed.append((email, *outcome))
        return done

    @staticmethod
    def _match(conn: Connection, finding: Finding) -> str | None:
        """The subscriber a finding is about: by the VERP key, else by the address it names."""
        if finding.key:
            found = conn.scalar(select(_S.c.email).where(_S.c.key == finding.key))
            if found:
                return str(found)
        if finding.address:
            found = conn.scalar(select(_S.c.email).where(_S.c.email == finding.address.lower()))
            if found:
                return str(found)
        return None

    @staticmethod
    def _last_sent(conn: Connection, email: str, before: datetime | None) -> str | None:
        """The edition a report that does not say answered: the last one sent to the reader
        before the report was written (an email provider's webhook names its own message
        ids), else (the report's clock is off) the last one sent to them at all."""
        query = select(_D.c.edition_id).where(_D.c.email == email, _D.c.state == "sent")
        latest = query.order_by(_D.c.updated.desc()).limit(1)
        found = conn.scalar(latest.where(_D.c.updated <= before)) if before is not None else None
        found = found or conn.scalar(latest)
        return None if found is None else str(found)

    def _act(
        self,
        conn: Connection,
        email: str,
        finding: Finding,
        *,
        now: datetime,
        hard_after: int,
        soft_after: int,
    ) -> tuple[str, str] | None:
        """Suppress the subscriber when this finding tips them over; (status, why) when it did."""
        since = conn.scalar(select(_S.c.status_changed).where(_S.c.email == email))
        mine = [_B.c.email == email, _B.c.kind == finding.kind.value]
        if since is not None:  # a reactivation starts the count again
            mine.append(_B.c.recorded > since)
        edition = f" (edition {finding.edition})" if finding.edition else ""
        if finding.kind is Kind.COMPLAINT:
            why = f"{COMPLAINED}{finding.diagnostic or 'marked as spam'}{edition}"
            return self._suppress(conn, email, SubscriberStatus.UNSUBSCRIBED, why, now)
        if finding.kind is Kind.HARD:
            n = conn.scalar(select(func.count()).select_from(_B).where(*mine)) or 0
            if n >= hard_after:
                why = f"hard bounce: {finding.diagnostic}{edition}"
                return self._suppress(conn, email, SubscriberStatus.BOUNCED, why, now)
            return None
        editions = conn.scalar(select(func.count(func.distinct(_B.c.edition_id))).where(*mine)) or 0
        if editions >= soft_after:
            why = f"soft bounces in {editions} editions, the last: {finding.diagnostic}{edition}"
            return self._suppress(conn, email, SubscriberStatus.BOUNCED, why, now)
        return None

    @staticmethod
    def _suppress(
        conn: Connection, email: str, status: SubscriberStatus, why: str, now: datetime
    ) -> tuple[str, str] | None:
        """Take an active subscriber off the list, saying why; ``None`` if they were off already."""
        res = conn.execute(
            update(_S)
            .where(_S.c.email == email, _S.c.status == SubscriberStatus.ACTIVE.value)
            .values(
                status=status.value,
                status_reason=why[:2000],
                status_changed=now,
                updated=now,
            )
        )
        return (status.value, why) if res.rowcount else None

    def reactivate(self, email: str, *, actor: str) -> str | None:
        """Put a bounced or complained subscriber back on the list (an editor's decision); the
        count of bounces starts again. Returns why they were off; ``None`` when they were not
        suppressed (unknown, active, or unsubscribed by their own hand: only they may come back)."""
        with self.begin() as conn:
            row = conn.execute(select(_S.c.status, _S.c.status_reason).where(_S.c.email == email)).first()
            if row is None:
                return None
            complained = row.status == SubscriberStatus.UNSUBSCRIBED.value and (
                row.status_reason or ""
            ).startswith(COMPLAINED)
            if row.status != SubscriberStatus.BOUNCED.value and not complained:
                return None
            now = db_now(conn)
            conn.execute(
                update(_S)
                .where(_S.c.email == email)
                .values(
                    status=SubscriberStatus.ACTIVE.value,
                    status_reason=f"reactivated by {actor}",
                    status_changed=now,
                    hard_failures=0,
                    updated=now,
                )
            )
            return str(row.status_reason or row.status)

    def suppression_reasons(self, emails: Iterable[str]) -> dict[str, str]:
        """Why each of these subscribers has their status (those with a reason on record)."""
        found: dict[str, str] = {}
        with self.begin() as conn:
            for part in chunks(list(emails)):
                rows = conn.execute(
                    select(_S.c.email, _S.c.status_reason).where(
                        _S.c.email.in_(part), _S.c.status_reason.is_not(None)
                    )
                )
                found.update((r.email, r.status_reason) for r in rows)
        return found

    def bounce_rates(self, edition_ids: Iterable[str]) -> list[Rates]:
        """Each edition's readers mailed, and of them how many bounced for good (a reply of a
        hard bounce, or a refusal when sent; a soft bounce is a full mailbox, which says
        nothing of the list) and how many complained."""
        ids = list(edition_ids)
        with self.begin() as conn:
            mailed = conn.execute(
                select(_D.c.edition_id, _D.c.state, func.count())
                .where(
                    _D.c.edition_id.in_(ids),
                    (_D.c.state == "sent") | ((_D.c.state == "failed") & _D.c.permanent),
                )
                .group_by(_D.c.edition_id, _D.c.state)
            ).all()
            came_back = conn.execute(
                select(_B.c.edition_id, _B.c.kind, func.count(func.distinct(_B.c.email)))
                .where(_B.c.edition_id.in_(ids), _B.c.email.is_not(None))
                .group_by(_B.c.edition_id, _B.c.kind)
            ).all()
        sent: dict[str, int] = {}
        bounced: dict[str, int] = {}
        complained: dict[str, int] = {}
        for edition, state, n in mailed:
            sent[edition] = sent.get(edition, 0) + n
            if state == "failed":  # refused at RCPT or DATA for good: a bounce too
                bounced[edition] = bounced.get(edition, 0) + n
        for edition, kind, n in came_back:
            if kind == Kind.HARD.value:
                bounced[edition] = bounced.get(edition, 0) + n
            elif kind == Kind.COMPLAINT.value:
                complained[edition] = complained.get(edition, 0) + n
        return [Rates(e, sent.get(e, 0), bounced.get(e, 0), complained.get(e, 0)) for e in ids]
