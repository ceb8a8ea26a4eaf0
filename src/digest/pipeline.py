"""The one place where stages, the store and the adapters meet.

Read top-down, :func:`run_edition` is the whole job: subscribers -> gather -> select ->
condense -> render -> deliver, recording each step in the store. Every stage is a plain
function or object from its own module; this module only wires them together.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from .condense import Condenser
from .config import Settings
from .deliver import DeliveryReport, deliver, open_transport
from .errors import CondenseError, ConfigError, HeaderError, InputError, TemplateError
from .gather import FeedOutcome, gather, group_stories
from .models import Edition, EditionStory, OutgoingMessage, Subscriber
from .render import EditionRenderer, RenderedMessage, clip
from .select import select_stories
from .store import Store
from .store.ledger import DeliveryState, claimant
from .subscribers import normalize_email, read_subscribers_csv


@dataclass(frozen=True, slots=True)
class Progress:
    """Callbacks a front end (the CLI's progress bars) may hook; all optional."""

    feed_done: Callable[[FeedOutcome], None] | None = None
    stage: Callable[[str, int], None] | None = None  # (stage name, total items) when a stage starts
    advance: Callable[[], None] | None = None  # one item of the current stage done


@dataclass(slots=True)
class RunSummary:
    """What a run did, for the CLI's summary, ``digest status`` and the exit code."""

    edition_id: str
    feeds: list[FeedOutcome] = field(default_factory=list)
    feed_failures: dict[str, int] = field(default_factory=dict)  # consecutive failures, by URL
    new_articles: int = 0
    stories: int = 0
    reused_edition: bool = False
    condense: dict[str, Any] = field(default_factory=dict)
    subscriber_errors: list[str] = field(default_factory=list)
    subscribers_active: int = 0
    already_sent: int = 0
    skipped_empty: int = 0
    render_failed: list[str] = field(default_factory=list)
    delivery: DeliveryReport | None = None
    warnings: list[str] = field(default_factory=list)
    destination: str = ""
    trigger: str = "cli"  # who started the run: "cli", "schedule", "desk"
    kind: str = "send"  # "send" (run_edition) or "prepare" (prepare_edition: nothing is sent)
    held: bool = False  # approval is required and missing: nothing was sent
    stopped: bool = False  # a stop was requested (SIGTERM): the rest waits for the next run

    @property
    def feeds_failed(self) -> int:
        return sum(1 for f in self.feeds if f.status == "error")

    @property
    def exit_code(self) -> int:
        """0 all delivered (or held for approval), 1 some feeds or deliveries failed, or stopped."""
        d = self.delivery
        failed = (d.failed if d else 0) + len(self.render_failed)
        return 1 if (self.feeds_failed or failed or (d and d.aborted) or self.stopped) else 0

    @property
    def status(self) -> str:
        """The run's status as ``digest status`` shows it."""
        if self.stopped:
            return "stopped"
        if self.held:
            return "held"
        if self.exit_code != 0:
            return "partial"
        return "prepared" if self.kind == "prepare" else "ok"

    def as_dict(self) -> dict[str, Any]:
        return {
            "edition": self.edition_id,
            "feeds": {
                "total": len(self.feeds),
                "failed": self.feeds_failed,
                "errors": {f.url: f.error for f in self.feeds if f.status == "error"},
                "consecutive_failures": self.feed_failures,
            },
            "new_articles": self.new_articles,
            "stories": self.stories,
            "reused_edition": self.reused_edition,
            "condense": self.condense,
            "subscriber_errors": self.subscriber_errors,
            "subscribers_active": self.subscribers_active,
            "already_sent": self.already_sent,
            "skipped_empty": self.skipped_empty,
            "render_failed": self.render_failed,
            "delivery": self.delivery.as_dict() if self.delivery else None,
            "warnings": self.warnings,
            "destination": self.destination,
            "trigger": self.trigger,
            "kind": self.kind,
            "held": self.held,
            "stopped": self.stopped,
        }


@contextmanager
def recorded_run(store: Store, summary: RunSummary) -> Iterator[int]:
    """Record the run in the store: "running" now, then its status, or "failed" if it raised
    (a crashed send must not look finished: the scheduler resumes unfinished ones). Yields the
    run's id."""
    run_id = store.start_run(summary.edition_id)
    try:
        yield run_id
    except BaseException:
        store.finish_run(run_id, "failed", summary.as_dict())
        raise
    store.finish_run(run_id, summary.status, summary.as_dict())


def edition_day(now: datetime, settings: Settings) -> date:
    """The scheduled day an instant belongs to, in the configured timezone."""
    return now.astimezone(settings.zone).date()


def import_subscribers(store: Store, csv_path: Path | None, summary: RunSummary) -> None:
    """Merge a subscribers CSV into the store (invalid rows reported and skipped)."""
    if csv_path is None:
        return
    result = read_subscribers_csv(csv_path, skip_invalid=True)
    summary.subscriber_errors.extend(result.errors)
    store.merge_subscribers(result.subscribers)


async def gather_into_store(
    settings: Settings, store: Store, *, now: datetime, progress: Progress, summary: RunSummary
) -> None:
    """Fetch every feed and record new entries and feed health in the store."""
    specs = settings.feed_specs
    states = store.feed_states(s.url for s in specs)
    if progress.stage:
        progress.stage("gather", len(specs))
    result = await gather(
        specs,
        config=settings.gather,
        states=states,
        seen=store.seen_ids,
        now=now,
        progress=progress.feed_done,
    )
    store.add_articles(result.articles, now=now)
    store.save_feed_states(result.states, names={s.url: s.name for s in specs})
    summary.feeds = list(result.outcomes)
    summary.feed_failures = {st.url: st.failures for st in result.states if st.failures}
    summary.new_articles = len(result.articles)


def build_edition(
    settings: Settings,
    store: Store,
    *,
    day: date,
    now: datetime,
    environ: Mapping[str, str],
    progress: Progress,
    summary: RunSummary,
) -> Edition:
    """Select the window's stories, condense each, and return the (unsaved) edition."""
    window = timedelta(hours=settings.window_hours)
    # an article that an earlier edition carried is not news again, however wide the window
    sent = store.published_article_ids(since=now - window - timedelta(days=1), before=day.isoformat())
    articles = [a for a in store.articles_since(now - window) if a.id not in sent]
    stories = group_stories(articles, threshold=settings.gather.group_threshold)
    chosen = select_stories(
        stories,
        now=now,
        window=window,
        max_stories=settings.max_stories,
        max_per_topic=settings.gather.max_per_topic,
    )
    placed: list[EditionStory] = []
    if progress.stage:
        progress.stage("condense", len(chosen))
    with Condenser(settings.condense, cache=store, environ=environ) as condenser:
        for story in chosen:
            try:
                placed.append(EditionStory(story=story, condensed=condenser.condense_story(story)))
            except CondenseError as exc:
                summary.warnings.append(f"story {story.lead.link or story.id}: {exc}")
            if progress.advance:
                progress.advance()
    summary.condense = condenser.report.as_dict()
    return Edition(
        id=day.isoformat(),
        day=day,
        title=settings.title,
        stories=tuple(placed),
        created=now,
        intro=settings.render.intro,
    )


def current_edition(
    settings: Settings,
    store: Store,
    *,
    day: date,
    now: datetime,
    environ: Mapping[str, str],
    progress: Progress,
    summary: RunSummary,
) -> Edition:
    """The edition on record for ``day``, or a new one built and recorded now.

    Once recorded, an edition does not change: a rerun (after a crash, or a second
    ``digest run``) sends exactly what the first run sent.
    """
    existing = store.edition(day.isoformat())
    if existing is not None:
        summary.reused_edition = True
        summary.stories = len(existing.stories)
        return existing
    edition = build_edition(
        settings, store, day=day, now=now, environ=environ, progress=progress, summary=summary
    )
    if edition.stories:
        readers = store.subscribers(active_only=True)
        edition = fit_to_clip(settings, store, edition, readers, environ=environ, now=now, summary=summary)
    summary.stories = len(edition.stories)
    if edition.stories:
        edition = store.save_edition(edition)
    return edition


def pending_subscribers(
    store: Store, edition_id: str, summary: RunSummary, *, planned_only: bool = False
) -> list[Subscriber]:
    """Active subscribers this edition has not yet reached; with ``planned_only``, only those an
    earlier run of it planned (a retry does not send an old edition to newer subscribers)."""
    active = store.subscribers(active_only=True)
    states = store.delivery_states(edition_id)
    todo = [
        s
        for s in active
        if states.get(s.email) is not DeliveryState.SENT and (not planned_only or s.email in states)
    ]
    summary.subscribers_active = len(active)
    summary.already_sent = sum(1 for s in active if states.get(s.email) is DeliveryState.SENT)
    return todo


def _messages(
    renderer: EditionRenderer,
    subscribers: Sequence[Subscriber],
    *,
    store: Store,
    edition_id: str,
    summary: RunSummary,
) -> Iterator[OutgoingMessage]:
    """Render lazily; a subscriber whose message cannot be built is recorded as failed, and the
    others go on."""
    for sub in subscribers:
        try:
            message = renderer.message(sub)
        except (HeaderError, TemplateError) as exc:
            store.mark_failed(edition_id, sub.email, reason=str(exc), code=None, permanent=True)
            summary.render_failed.append(f"{sub.email}: {exc}")
            continue
        if message is None:
            summary.skipped_empty += 1
            continue
        yield message


async def prepare_edition(
    settings: Settings,
    store: Store,
    *,
    now: datetime,
    day: date | None = None,
    subscribers_csv: Path | None = None,
    environ: Mapping[str, str],
    progress: Progress | None = None,
    trigger: str = "cli",
    stop: threading.Event | None = None,
) -> RunSummary:
    """Gather and condense the day's edition and record it as a draft for editors; send nothing.

    The scheduler calls this ``review`` before the send time; the desk's "prepare" button too.
    An edition already on record is left as it is (editors may have corrected it). ``stop``
    (SIGTERM) set while gathering skips the condensing.
    """
    progress = progress or Progress()
    day = day or edition_day(now, settings)
    summary = RunSummary(edition_id=day.isoformat(), trigger=trigger, kind="prepare")
    with recorded_run(store, summary):
        edition = await _draft(
            settings,
            store,
            summary,
            now=now,
            day=day,
            subscribers_csv=subscribers_csv,
            environ=environ,
            progress=progress,
            stop=stop,
            gather_first=False,
        )
        if edition is not None and edition.stories and not summary.reused_edition:
            store.log_edition_event(edition.id, actor=trigger, action="prepared for review")
    return summary


async def _draft(
    settings: Settings,
    store: Store,
    summary: RunSummary,
    *,
    now: datetime,
    day: date,
    subscribers_csv: Path | None,
    environ: Mapping[str, str],
    progress: Progress,
    stop: threading.Event | None,
    gather_first: bool,
) -> Edition | None:
    """Subscribers merged, feeds gathered (always with ``gather_first``, else only while the
    day has no edition on record), and the day's edition: recorded, or built and recorded now.
    ``None`` when a stop came first."""
    import_subscribers(store, subscribers_csv or settings.subscribers_path, summary)
    if gather_first or store.edition(summary.edition_id) is None:
        await gather_into_store(settings, store, now=now, progress=progress, summary=summary)
    if stop is not None and stop.is_set():
        summary.stopped = True
        return None
    return current_edition(
        settings, store, day=day, now=now, environ=environ, progress=progress, summary=summary
    )


async def run_edition(
    settings: Settings,
    store: Store,
    *,
    now: datetime,
    day: date | None = None,
    transport_url: str | None = None,
    subscribers_csv: Path | None = None,
    environ: Mapping[str, str],
    progress: Progress | None = None,
    trigger: str = "cli",
    stop: threading.Event | None = None,
    gather_first: bool = True,
    planned_only: bool = False,
) -> RunSummary:
    """Gather, condense, render and deliver one edition, to those it has not reached yet.

    Every path that sends an edition (``digest run``, the scheduler, the desk's approve
    button) comes through here.

    Args:
        settings: the validated configuration.
        store: the open store (records entries, the edition, the ledger, the run).
        now: the current instant (timezone-aware); passed in, never read here.
        day: the edition's day; default: ``now``'s date in the configured timezone.
        transport_url: overrides ``[delivery] transport``.
        subscribers_csv: a CSV merged into the store first; default: the config's.
        environ: where secrets come from.
        progress: optional callbacks for progress display.
        trigger: who asked ("cli", "schedule", "desk"), recorded with the run.
        stop: when set (SIGTERM), sending stops after the messages in flight, each recorded in
            the ledger; the rest stay pending for the next run.
        gather_first: fetch the feeds even when the edition is on record (keeps feed health
            and tomorrow's articles current); the desk's approve button skips it.
        planned_only: send only to subscribers an earlier run of the edition planned (the
            desk's retry of an unfinished send), never to those who subscribed since.

    An edition already on record is sent as recorded (editors may have corrected it). With
    ``approval = "required"`` an unapproved edition is held: nothing is sent, and approving it
    later (the desk, ``digest edition approve``) sends it.
    """
    progress = progress or Progress()
    day = day or edition_day(now, settings)
    summary = RunSummary(edition_id=day.isoformat(), trigger=trigger)
    with recorded_run(store, summary) as run_id:
        await _send(
            settings,
            store,
            summary,
            now=now,
            day=day,
            transport_url=transport_url,
            subscribers_csv=subscribers_csv,
            environ=environ,
            progress=progress,
            stop=stop,
            gather_first=gather_first,
            planned_only=planned_only,
            ledger=_RunLedger(store, claimant(run_id)),
        )
    return summary


@dataclass(frozen=True, slots=True)
class _RunLedger:
    """The store as one run's delivery ledger: its claims name the run, so that another run
    can tell them from those of a run that is gone (:meth:`Store.release_sending`)."""

    store: Store
    claimed_by: str

    def mark_sending(self, edition_id: str, email: str, message_id: str) -> bool:
        return self.store.mark_sending(edition_id, email, message_id, claimed_by=self.claimed_by)

    def mark_sent(self, edition_id: str, email: str) -> None:
        self.store.mark_sent(edition_id, email)

    def mark_failed(
        self, edition_id: str, email: str, *, reason: str, code: int | None, permanent: bool
    ) -> bool:
        return self.store.mark_failed(edition_id, email, reason=reason, code=code, permanent=permanent)

    def record_hard_failure(self, email: str, *, bounce_after: int) -> bool:
        return self.store.record_hard_failure(email, bounce_after=bounce_after)


async def _send(
    settings: Settings,
    store: Store,
    summary: RunSummary,
    *,
    now: datetime,
    day: date,
    transport_url: str | None,
    subscribers_csv: Path | None,
    environ: Mapping[str, str],
    progress: Progress,
    stop: threading.Event | None,
    gather_first: bool,
    planned_only: bool,
    ledger: _RunLedger,
) -> None:
    """The body of :func:`run_edition`, filling in ``summary``."""
    trigger = summary.trigger
    edition = await _draft(
        settings,
        store,
        summary,
        now=now,
        day=day,
        subscribers_csv=subscribers_csv,
        environ=environ,
        progress=progress,
        stop=stop,
        gather_first=gather_first,
    )
    if edition is None or not edition.stories:
        return
    if not store.seal_or_hold(edition.id, require_approval=settings.approval == "required", actor=trigger):
        summary.held = True
        return
    # sealed: from here on no editor's change is accepted; send the edition as it now stands
    edition = store.edition(edition.id) or edition
    summary.stories = len(edition.stories)
    # rows a killed run left "sending" are claimable again: their readers may get a copy
    # twice (at most one per connection that was in flight), and nobody none; a run still
    # sending (in another process, or in this one) keeps its rows
    store.release_sending(edition.id)
    todo = pending_subscribers(store, edition.id, summary, planned_only=planned_only)
    url = transport_url or settings.transport_url()
    summary.destination = url
    if todo:
        edition = fit_to_clip(settings, store, edition, todo, environ=environ, now=now, summary=summary)
        store.plan_deliveries(edition.id, [s.email for s in todo])
        secret = store.signing_secret(environ, settings.secret_env)
        renderer = EditionRenderer(edition, settings, secret=secret, now=now)
        if progress.stage:
            progress.stage("deliver", len(todo))
        async with open_transport(url, settings.delivery, environ=environ) as transport:
            summary.delivery = await deliver(
                _messages(renderer, todo, store=store, edition_id=edition.id, summary=summary),
                transport=transport,
                ledger=ledger,
                config=settings.delivery,
                progress=progress.advance,
                stop=stop.is_set if stop is not None else None,
            )
        summary.stopped = bool(stop is not None and stop.is_set() and summary.delivery.aborted)


async def approve_edition(
    settings: Settings,
    store: Store,
    *,
    day: date,
    revision: int | None,
    actor: str,
    now: datetime,
    environ: Mapping[str, str],
    transport_url: str | None = None,
    progress: Progress | None = None,
) -> RunSummary | None:
    """Approve the day's edition as of ``revision``; when a send already held it, send it now.

    Returns the run's summary when it was sent, ``None`` when it waits for its send time.
    """
    review = store.approve_edition(day.isoformat(), revision=revision, actor=actor)
    if review.held_at is None:
        return None
    return await run_edition(
        settings,
        store,
        now=now,
        day=day,
        transport_url=transport_url,
        environ=environ,
        progress=progress,
        trigger=actor,
        gather_first=False,
    )


TEST_SUBJECT_PREFIX = "[Test] "


async def send_test(
    settings: Settings,
    store: Store,
    *,
    day: date,
    address: str,
    now: datetime,
    environ: Mapping[str, str],
    transport_url: str | None = None,
    actor: str = "desk",
) -> str:
    """Send one copy of the recorded edition to ``address``, subject marked "[Test]".

    Not a delivery: the ledger and the subscriber list are untouched. Returns the Message-ID.

    Raises:
        InputError: no edition on record for the day, or ``address`` is not an email address.
        DeliveryError: the transport refused it.
    """
    edition = store.edition(day.isoformat())
    if edition is None or not edition.stories:
        raise InputError(f"edition {day.isoformat()}: none on record to send a test of")
    try:
        reader = Subscriber(email=normalize_email(address))
    except ValueError as exc:
        raise InputError(f"test address {address!r}: {exc}") from exc
    secret = store.signing_secret(environ, settings.secret_env)
    renderer = EditionRenderer(edition, settings, secret=secret, now=now, subject_prefix=TEST_SUBJECT_PREFIX)
    message = renderer.message(reader)  # an active reader of every topic: never None
    assert message is not None
    url = transport_url or settings.transport_url()
    async with open_transport(url, settings.delivery, environ=environ) as transport:
        await transport.send(message)
    store.log_edition_event(edition.id, actor=actor, action=f"test copy sent to {reader.email}")
    return message.message_id


SAMPLE_SUBSCRIBER = Subscriber(email="reader@example.org", name="Sample Reader")


async def preview_edition(
    settings: Settings,
    store: Store,
    *,
    now: datetime,
    day: date | None = None,
    subscriber: Subscriber | None = None,
    environ: Mapping[str, str],
    progress: Progress | None = None,
) -> tuple[Edition, Subscriber, RenderedMessage | None]:
    """The edition as a given subscriber (default: the first active one) would get it; sends nothing.

    The edition is recorded, so what the editor previews is exactly what ``digest run`` sends.
    """
    progress = progress or Progress()
    day = day or edition_day(now, settings)
    summary = RunSummary(edition_id=day.isoformat())
    edition = await _draft(
        settings,
        store,
        summary,
        now=now,
        day=day,
        subscribers_csv=None,
        environ=environ,
        progress=progress,
        stop=None,
        gather_first=False,
    )
    assert edition is not None  # only a stop gives None
    if subscriber is None:
        active = store.subscribers(active_only=True)
        subscriber = active[0] if active else SAMPLE_SUBSCRIBER
    if not edition.stories:
        return edition, subscriber, None
    secret = store.signing_secret(environ, settings.secret_env)
    renderer = EditionRenderer(edition, settings, secret=secret, now=now)
    return edition, subscriber, renderer.preview(subscriber)


def fit_to_clip(
    settings: Settings,
    store: Store,
    edition: Edition,
    readers: Sequence[Subscriber],
    *,
    environ: Mapping[str, str],
    now: datetime,
    summary: RunSummary,
) -> Edition:
    """The edition within Gmail's clip for every one of ``readers`` (:mod:`digest.render.clip`):
    past ``render.clip_limit_kb`` the run warns and, with ``render.trim_to_fit``, the
    lowest-ranked stories are dropped.

    A new edition is trimmed before it is recorded. A recorded one (editors may have made it
    longer) is trimmed only while nobody has it yet, and recorded so trimmed: every reader of an
    edition gets the same stories. Otherwise it is only measured.
    """
    if not edition.stories:
        return edition
    recorded = store.edition(edition.id) is not None
    counts = store.delivery_counts(edition.id) if recorded else {}
    trim = settings.render.trim_to_fit and not counts.get("sent") and not counts.get("sending")
    secret = store.signing_secret(environ, settings.secret_env)
    try:
        fitted, check = clip.fit(edition, settings, secret=secret, now=now, subscribers=readers, trim=trim)
    except (TemplateError, HeaderError, ConfigError) as exc:
        # the renderer meets the same error where it always did (the desk's preview, the send)
        summary.warnings.append(f"the email's size could not be measured: {exc}")
        return edition
    summary.warnings.extend(check.warnings())
    if check.dropped and recorded:
        store.save_edition(fitted, replace=True)
        store.log_edition_event(
            edition.id,
            actor=summary.trigger,
            action=f"dropped {len(check.dropped)} stories: {check.warnings()[0]}",
        )
    summary.stories = len(fitted.stories)
    return fitted
