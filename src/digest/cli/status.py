"""``digest status``: recent runs, delivery counts, failed addresses, feed health."""

from __future__ import annotations

import json
import os
import socket
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import click
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from ..config import Settings
from ..errors import StoreMissing
from ..models import FeedState
from ..pipeline import Wave, edition_waves, reader_zones
from ..schedule.cron import review_day
from ..store import Store
from ..store.bounces import BOUNCE_WARN, COMPLAINT_WARN, Rates
from ..store.ledger import DeliveryRecord
from ..store.review import EditionReview
from ..store.runs import RunRecord
from ..store.workers import WorkerRecord
from .common import config_option, console, handle_errors, setup, shown_store, store_db_option
from .display import counts_in_words, review_line


@dataclass(slots=True)
class Facts:
    """What ``digest status`` reads from the store (nothing, when there is no store yet)."""

    runs: list[RunRecord] = field(default_factory=list)
    counts: dict[str, dict[str, int]] = field(default_factory=dict)
    failed: list[DeliveryRecord] = field(default_factory=list)
    feeds: dict[str, FeedState] = field(default_factory=dict)
    reviews: list[EditionReview] = field(default_factory=list)
    scheduler: dict[str, Any] | None = None
    workers: list[WorkerRecord] = field(default_factory=list)
    wave_day: str | None = None  # local-time sending: the edition whose waves are shown
    waves: list[Wave] = field(default_factory=list)
    mail: list[Rates] = field(default_factory=list)  # bounces and complaints of recent editions

    @classmethod
    def read(cls, store: Store, limit: int, settings: Settings, now: datetime) -> Facts:
        wave_day, waves = None, []
        if settings.local_time:
            zones = list(reader_zones(settings, store).values())
            day = review_day(settings, now, zones)
            wave_day, waves = day.isoformat(), edition_waves(settings, store, day)
        runs = store.recent_runs(limit)
        editions = list(dict.fromkeys(r.edition_id for r in runs))
        found = store.delivery_counts_of(editions)
        reviews = store.edition_reviews(limit=5)
        recent = sorted({r.id for r in reviews} | set(editions), reverse=True)[:RATES_SHOWN]
        return cls(
            runs=runs,
            counts={e: found.get(e, {}) for e in editions},
            failed=store.failed_deliveries(limit=100),
            feeds=store.feed_states(),
            reviews=reviews,
            scheduler=_scheduler_state(store.get_meta("scheduler")),
            workers=store.workers(limit=WORKERS_SHOWN),
            wave_day=wave_day,
            waves=waves,
            mail=[r for r in store.bounce_rates(recent) if r.sent],
        )


@click.command()
@config_option
@store_db_option
@click.option(
    "--runs", "limit", type=click.IntRange(1, 1000), default=10, show_default=True, help="How many runs."
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of tables.")
@handle_errors
def status(config_path: Path | None, db: str | None, limit: int, as_json: bool) -> None:
    """Show the scheduler, recent runs, where recent editions stand (draft, approved, held,
    sent), what each delivered, what came back of it (bounces and complaints, with a warning
    above 2% and 0.1%), failed addresses with the server's reply, and feed health."""
    used = setup(config_path, db, store_only=True)
    s = used.settings
    names = feed_names(s)
    now = datetime.now(UTC)
    try:
        with used.open(announce=not as_json, read_only=True) as store:
            facts = Facts.read(store, limit, s, now)
    except StoreMissing:  # nothing has run here yet; a read-only command creates nothing
        facts = Facts()
        if not as_json:
            console().print(f"No store at {shown_store(used.store_url)} yet: nothing has run.", markup=False)
    runs, counts, failed, feeds = facts.runs, facts.counts, facts.failed, facts.feeds
    reviews, scheduler, workers = facts.reviews, facts.scheduler, facts.workers
    data: dict[str, Any] = {
        "runs": [
            {
                "id": r.id,
                "edition": r.edition_id,
                "started": r.started.isoformat(),
                "finished": r.finished.isoformat() if r.finished else None,
                "status": r.status,
                "trigger": r.summary.get("trigger"),
                "worker": r.worker_id,
            }
            for r in runs
        ],
        "waves": {
            "edition": facts.wave_day,
            "waves": [
                {"at": w.at.isoformat(), "zones": list(w.zones), "deliveries": w.counts} for w in facts.waves
            ],
        }
        if facts.wave_day
        else None,
        "bounces": [
            {
                "edition": r.edition_id,
                "sent": r.sent,
                "bounced": r.bounced,
                "complained": r.complained,
                "bounce_rate": round(r.bounce_rate, 6),
                "complaint_rate": round(r.complaint_rate, 6),
                "warnings": r.warnings(),
            }
            for r in facts.mail
        ],
        "workers": [
            {
                "id": w.id,
                "name": w.name,
                "host": w.host,
                "pid": w.pid,
                "status": w.status,
                "started": w.started.isoformat(),
                "heartbeat": w.heartbeat.isoformat(),
                "sent": w.sent,
                "failed": w.failed,
                "holding": w.holding,
            }
            for w in workers
        ],
        "reviews": [
            {
                "edition": r.id,
                "state": r.state,
                "revision": r.revision,
                "stories": r.stories,
                "approved_by": r.approved_by,
                "approved_at": _iso(r.approved_at),
                "held_at": _iso(r.held_at),
                "sealed_at": _iso(r.sealed_at),
            }
            for r in reviews
        ],
        "scheduler": scheduler,
        "editions": counts,
        "failed": [
            {
                "edition": f.edition_id,
                "email": f.email,
                "code": f.code,
                "reason": f.reason,
                "permanent": f.permanent,
            }
            for f in failed
        ],
        "feeds": [
            {
                "name": names(f.url),
                "url": f.url,
                "last_success": f.last_success.isoformat() if f.last_success else None,
                "last_error": f.last_error,
                "failures": f.failures,
            }
            for f in feeds.values()
        ],
    }
    if as_json:
        click.echo(json.dumps(data, indent=2))
        return
    out = console(stderr=False)
    _print_scheduler(out, scheduler, s.approval)
    if not runs:
        out.print("No runs recorded yet.")
    t = Table(title="Recent runs", title_justify="left")
    for col in ("run", "edition", "started", "by", "status", "delivered"):
        t.add_column(col)
    for r in runs:
        c = counts.get(r.edition_id, {})
        t.add_row(
            str(r.id),
            r.edition_id,
            r.started.strftime("%Y-%m-%d %H:%M:%S %Z"),
            escape(str(r.summary.get("trigger") or "cli")),
            r.status,
            counts_in_words(c) if c else "-",
        )
    if runs:
        out.print(t)
    if facts.waves:
        out.print(_waves_table(facts.wave_day or "", facts.waves, s.zone, now))
    if workers:
        out.print(_workers_table(workers))
    if reviews:
        et = Table(title="Editions", title_justify="left")
        for col in ("edition", "stories", "state"):
            et.add_column(col)
        for rv in reviews:
            et.add_row(rv.id, str(rv.stories), review_line(rv).strip())
        out.print(et)
    if facts.mail:
        out.print(_mail_table(facts.mail))
        for warning in (w for r in facts.mail for w in r.warnings()):
            out.print(f"[yellow]warning:[/yellow] {escape(warning)}")
    if failed:
        ft = Table(title="Failed addresses", title_justify="left")
        for col in ("edition", "address", "code", "reply"):
            ft.add_column(col)
        for rec in failed:
            reply = (rec.reason or "") + (" (permanent)" if rec.permanent else "")
            ft.add_row(rec.edition_id, escape(rec.email), str(rec.code or ""), escape(reply))
        out.print(ft)
    if feeds:
        out.print(_feeds_table(feeds.values(), names))


def _waves_table(day: str, waves: Iterable[Wave], zone: ZoneInfo, now: datetime) -> Table:
    """Local-time sending: the edition's waves, each at its readers' morning; those that left
    with what they delivered, the next marked."""
    upcoming = [w.at for w in waves if w.at > now]
    table = Table(title=f"Waves of edition {day} (each reader at the send time in their own zone)")
    for col in ("leaves", "here", "readers in", "sent", "pending", "missed"):
        table.add_column(col, justify="right" if col in ("sent", "pending", "missed") else "left")
    for w in waves:
        mark = " (next)" if upcoming and w.at == upcoming[0] else ""
        table.add_row(
            w.at.strftime("%Y-%m-%d %H:%M UTC") + mark,
            w.at.astimezone(zone).strftime("%a %H:%M %Z"),
            escape(", ".join(w.zones)) or "-",
            str(w.counts.get("sent", 0)),
            str(w.counts.get("pending", 0) + w.counts.get("sending", 0)) if w.at <= now else "-",
            str(w.counts.get("missed", 0)),
        )
    return table


def _mail_table(rates: Iterable[Rates]) -> Table:
    """What came back of recent editions: bounces and complaints, as shares of those sent to."""
    table = Table(title="Bounces and complaints (digest bounces, /hooks/bounce)", title_justify="left")
    for col in ("edition", "sent", "bounced", "complained"):
        table.add_column(col, justify="left" if col == "edition" else "right")
    for r in rates:
        bounced = f"{r.bounced} ({r.bounce_rate:.1%})"
        complained = f"{r.complained} ({r.complaint_rate:.2%})"
        table.add_row(
            r.edition_id,
            str(r.sent),
            f"[yellow]{bounced}[/yellow]" if r.bounce_rate > BOUNCE_WARN else bounced,
            f"[yellow]{complained}[/yellow]" if r.complaint_rate > COMPLAINT_WARN else complained,
        )
    return table


RATES_SHOWN = 5  # the latest editions whose bounces and complaints are shown
WORKERS_SHOWN = 10  # the latest processes that ran or sent: a run, a worker, the scheduler's runs


def _workers_table(workers: Iterable[WorkerRecord]) -> Table:
    """Who ran or sent lately, their last heartbeat and their share: a worker whose heartbeat
    stopped shows as dead (its claims go to the others once its lease runs out)."""
    table = Table(title="Workers", title_justify="left")
    for col in ("worker", "status", "last heartbeat", "sent", "failed", "holding"):
        table.add_column(col, justify="right" if col in ("sent", "failed", "holding") else "left")
    for w in workers:
        status = {"dead": "[red]dead[/red]", "running": "[green]running[/green]"}.get(w.status, w.status)
        table.add_row(
            escape(w.name),
            status,
            w.heartbeat.strftime("%Y-%m-%d %H:%M:%S %Z"),
            str(w.sent),
            str(w.failed),
            str(w.holding),
        )
    return table


def _feeds_table(feeds: Iterable[FeedState], names: Callable[[str], str]) -> Table:
    """Feed health, one row per feed by its name: long URLs and paths, cut to the terminal's
    width, would all look alike."""
    table = Table(title="Feeds", title_justify="left")
    for col in ("feed", "last success", "consecutive failures", "last error"):
        table.add_column(col)
    for f in sorted(feeds, key=lambda f: names(f.url).casefold()):
        table.add_row(
            escape(names(f.url)),
            f.last_success.strftime("%Y-%m-%d %H:%M") if f.last_success else "never",
            str(f.failures),
            escape(f.last_error or ""),
        )
    return table


def feed_names(s: Settings) -> Callable[[str], str]:
    """A feed's name by its URL (as the store keeps it): as the config names it, else the
    shortest telling part of the URL (a local feed's file name, a web one's host and path)."""
    named = {spec.url: spec.name for spec in s.feed_specs if spec.name != spec.url}

    def name(url: str) -> str:
        if url in named:
            return named[url]
        if "://" not in url:
            return Path(url.removeprefix("file:")).name or url
        parts = urlsplit(url)
        return f"{parts.hostname or ''}{parts.path}" or url

    return name


def _iso(t: datetime | None) -> str | None:
    return t.isoformat() if t else None


def _scheduler_state(raw: str | None) -> dict[str, Any] | None:
    """What the scheduler last wrote about itself, with ``alive``: its process still exists on
    this host and its heartbeat is recent."""
    if not raw:
        return None
    try:
        state = json.loads(raw)
    except json.JSONDecodeError:
        return None
    if not isinstance(state, dict):
        return None
    beat = state.get("heartbeat") or state.get("started")
    try:
        age = (datetime.now(UTC) - datetime.fromisoformat(beat)).total_seconds() if beat else None
    except (TypeError, ValueError):
        age = None
    state["alive"] = bool(
        not state.get("stopped") and age is not None and age < HEARTBEAT_STALE and _process_exists(state)
    )
    return state


HEARTBEAT_STALE = 300  # seconds; the scheduler refreshes its heartbeat every minute


def _process_exists(state: dict[str, Any]) -> bool:
    if state.get("host") != socket.gethostname():
        return True  # another machine's: trust the heartbeat
    try:
        os.kill(int(state.get("pid", 0)), 0)
    except (ProcessLookupError, ValueError, TypeError):
        return False
    except PermissionError:
        return True
    return True


def _print_scheduler(out: Console, state: dict[str, Any] | None, approval: str) -> None:
    if state is None:
        out.print("Scheduler: never started against this store (`digest schedule`).")
        return
    if state.get("stopped"):
        who = f"pid {state.get('pid')} on {state.get('host')}"
        out.print(f"Scheduler: stopped at {state['stopped']} ({escape(who)}).")
        return
    if not state["alive"]:
        out.print(
            f"Scheduler: [yellow]not running[/yellow]: it did not stop cleanly"
            f" (last seen {state.get('heartbeat') or '?'})."
        )
        return
    who = escape(f"pid {state.get('pid')} on {state.get('host')}")
    line = f"Scheduler: running, {who}; next send {state.get('next_send')}"
    if state.get("next_prepare"):
        line += f", prepared for review at {state['next_prepare']}"
    if approval == "required":
        line += "; approval required"
    out.print(line)
