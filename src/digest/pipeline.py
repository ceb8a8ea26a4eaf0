"""The one place where stages, the store and the adapters meet.

Read top-down, :func:`run_edition` is the whole job: subscribers -> gather -> select ->
condense -> seal and plan -> send (render and deliver, :mod:`digest.sending`), recording each
step in the store. Every stage is a plain function or object from its own module; this module
only wires them together. Every entry point takes one :class:`~digest.context.RunContext`.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .condense import Condenser
from .config import Settings, human
from .context import Progress, RunContext
from .deliver import open_transport, shown_transport
from .errors import CondenseError, ConfigError, HeaderError, InputError, TemplateError
from .gather import gather, group_stories
from .lease import Lease
from .models import Edition, EditionStory, Subscriber
from .render import EditionRenderer, RenderedMessage, clip
from .runs import RunSummary, recorded_run
from .select import select_stories
from .sending import apply_send, send_edition
from .store import Store
from .subscribers import CsvFingerprint, CsvReading, iter_subscribers_csv, merge, normalize_email
from .waves import first_wave, open_days, send_time, wave_at

log = logging.getLogger(__name__)

__all__ = [
    "Progress",
    "RunContext",
    "RunSummary",
    "Wave",
    "approve_edition",
    "edition_day",
    "edition_waves",
    "prepare_edition",
    "preview_edition",
    "run_edition",
    "send_test",
    "send_waves",
]


def edition_day(now: datetime, settings: Settings) -> date:
    """The scheduled day an instant belongs to, in the configured timezone."""
    return now.astimezone(settings.zone).date()


def import_subscribers(store: Store, csv_path: Path | None, summary: RunSummary) -> None:
    """Merge a subscribers CSV into the store, streaming (invalid rows reported and skipped),
    unless it is the very file merged last time: same size and modification time, or, when
    those changed, the same bytes. A million unchanged rows then cost a stat."""
    if csv_path is None:
        return
    key = f"subscribers_csv:{csv_path.resolve()}"
    seen = CsvFingerprint.loads(store.get_meta(key))
    now = CsvFingerprint.of(csv_path, hashed=False)
    if seen is not None and now is not None and seen.same_file(now):
        summary.subscribers_csv = "unchanged"
        return
    now = CsvFingerprint.of(csv_path, hashed=True)
    if seen is not None and now is not None and seen.sha256 == now.sha256:
        store.set_meta(key, now.dumps())  # touched, not changed
        summary.subscribers_csv = "unchanged"
        return
    reading = CsvReading(csv_path)
    store.merge_subscribers(iter_subscribers_csv(csv_path, reading), combine=merge)
    summary.subscriber_errors.extend(reading.errors)
    if reading.error_count > len(reading.errors):
        summary.subscriber_errors.append(f"… and {reading.error_count - len(reading.errors)} more")
    summary.subscribers_csv = f"merged {reading.valid} of {reading.rows} rows"
    if now is not None:
        store.set_meta(key, now.dumps())


async def gather_into_store(ctx: RunContext, summary: RunSummary) -> None:
    """Fetch every feed and record new entries and feed health in the store."""
    settings, store, now, progress = ctx.settings, ctx.store, ctx.now, ctx.progress
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
    summary.full_text_abandoned = result.full_text_abandoned


def build_edition(ctx: RunContext, *, day: date, summary: RunSummary) -> Edition:
    """Select the window's stories, condense each, and return the (unsaved) edition."""
    settings, store, now, progress = ctx.settings, ctx.store, ctx.now, ctx.progress
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
    with Condenser(settings.condense, cache=store, environ=ctx.environ) as condenser:
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


def current_edition(ctx: RunContext, *, day: date, summary: RunSummary) -> Edition:
    """The edition on record for ``day``, or a new one built and recorded now.

    Once recorded, an edition does not change: a rerun (after a crash, or a second
    ``digest run``) sends exactly what the first run sent.
    """
    existing = ctx.store.edition(day.isoformat())
    if existing is not None:
        summary.reused_edition = True
        summary.stories = len(existing.stories)
        return existing
    edition = build_edition(ctx, day=day, summary=summary)
    if edition.stories:
        edition = fit_to_clip(ctx, edition, summary, recorded=False)
    summary.stories = len(edition.stories)
    if edition.stories:
        edition = ctx.store.save_edition(edition)  # another run's, if it recorded one first
    return edition


async def prepare_edition(
    ctx: RunContext, *, day: date | None = None, subscribers_csv: Path | None = None
) -> RunSummary:
    """Gather and condense the day's edition and record it as a draft for editors; send nothing.

    The scheduler calls this ``review`` before the send time; the desk's "prepare" button too.
    An edition already on record is left as it is (editors may have corrected it). A stop
    (SIGTERM) set while gathering skips the condensing.
    """
    day = day or edition_day(ctx.now, ctx.settings)
    summary = RunSummary(edition_id=day.isoformat(), trigger=ctx.trigger, kind="prepare")
    with recorded_run(ctx, summary):
        edition = await _draft(ctx, summary, day=day, subscribers_csv=subscribers_csv, gather_first=False)
        if edition is not None and edition.stories and not summary.reused_edition:
            ctx.store.log_edition_event(edition.id, actor=ctx.trigger, action="prepared for review")
    return summary


async def _draft(
    ctx: RunContext, summary: RunSummary, *, day: date, subscribers_csv: Path | None, gather_first: bool
) -> Edition | None:
    """Subscribers merged, feeds gathered (always with ``gather_first``, else only while the
    day has no edition on record), and the day's edition: recorded, or built and recorded now.
    ``None`` when a stop came first."""
    import_subscribers(ctx.store, subscribers_csv or ctx.settings.subscribers_path, summary)
    if gather_first or ctx.store.edition(summary.edition_id) is None:
        await gather_into_store(ctx, summary)
    if ctx.stopping:
        summary.stopped = True
        return None
    return current_edition(ctx, day=day, summary=summary)


async def run_edition(
    ctx: RunContext,
    *,
    day: date | None = None,
    subscribers_csv: Path | None = None,
    gather_first: bool = True,
    planned_only: bool = False,
) -> RunSummary:
    """Gather, condense, seal, plan and send one edition, to those it has not reached yet.

    Every path that sends an edition (``digest run``, the scheduler, the desk's approve
    button) comes through here. The sending is :func:`digest.sending.send_edition`: this
    process sends as one worker among any others (``digest worker``) on the same store.

    Args:
        ctx: settings, store, now, environ, transport, progress, trigger and stop.
        day: the edition's day; default: ``ctx.now``'s date in the configured timezone.
        subscribers_csv: a CSV merged into the store first; default: the config's.
        gather_first: fetch the feeds even when the edition is on record (keeps feed health
            and tomorrow's articles current); the desk's approve button skips it.
        planned_only: send only to subscribers an earlier run of the edition planned (the
            desk's retry of an unfinished send), never to those who subscribed since.

    An edition already on record is sent as recorded (editors may have corrected it). With
    ``approval = "required"`` an unapproved edition is held: nothing is sent, and approving it
    later (the desk, ``digest edition approve``) sends it.
    """
    day = day or edition_day(ctx.now, ctx.settings)
    summary = RunSummary(edition_id=day.isoformat(), trigger=ctx.trigger)
    with recorded_run(ctx, summary) as (_, lease):
        await _send(
            ctx,
            summary,
            lease,
            day=day,
            subscribers_csv=subscribers_csv,
            gather_first=gather_first,
            planned_only=planned_only,
        )
    return summary


async def _send(
    ctx: RunContext,
    summary: RunSummary,
    lease: Lease,
    *,
    day: date,
    subscribers_csv: Path | None,
    gather_first: bool,
    planned_only: bool,
) -> None:
    """The body of :func:`run_edition`, filling in ``summary``."""
    store, settings = ctx.store, ctx.settings
    edition = await _draft(ctx, summary, day=day, subscribers_csv=subscribers_csv, gather_first=gather_first)
    if edition is None or not edition.stories:
        return
    # a malformed transport URL stops the run before the edition is sealed: editors can still
    # correct it, and nothing claims to have started sending
    open_transport(ctx.transport, settings.delivery, environ=ctx.environ)
    summary.destination = shown_transport(ctx.transport)
    edition = fit_to_clip(ctx, edition, summary, recorded=True)
    if not store.seal_or_hold(
        edition.id, require_approval=settings.approval == "required", actor=ctx.trigger
    ):
        summary.held = True
        return
    # sealed: from here on no editor's change is accepted; send the edition as it now stands
    edition = store.edition(edition.id) or edition
    summary.stories = len(edition.stories)
    due = waves_due(ctx, day)
    await asyncio.to_thread(store.plan_edition, edition.id, new_readers=not planned_only, due=due, at=ctx.now)
    if due is not None:  # local-time sending: a wave that passed beyond the grace is missed
        late = f"its wave passed more than {human(settings.misfire_grace)} (misfire_grace) ago"
        summary.missed = store.miss_overdue(edition.id, before=ctx.now - settings.misfire_grace, reason=late)
    counts = store.delivery_counts(edition.id, active_only=True)
    summary.subscribers_active = store.count_subscribers(active_only=True)
    summary.already_sent = counts.get("sent", 0)
    todo = sum(store.waiting(edition.id, due_by=ctx.due_by).values())
    if todo:
        if ctx.progress.stage:
            ctx.progress.stage("deliver", todo)
        apply_send(summary, await send_edition(ctx, edition, lease))
    summary.waiting = store.waiting(edition.id, due_by=ctx.due_by)
    summary.stopped = ctx.stopping and bool(summary.waiting)


def waves_due(ctx: RunContext, day: date) -> list[tuple[str | None, datetime]] | None:
    """With ``local_time``, when the readers of each timezone whose morning of ``day`` has come
    are due (see :mod:`digest.waves`); those yet to come are planned by a later run. ``None``:
    everyone, now."""
    s = ctx.settings
    if not s.local_time:
        return None
    at = send_time(s.schedule)
    found = [(name, wave_at(day, zone, at)) for name, zone in reader_zones(s, ctx.store).items()]
    return [(name, when) for name, when in found if when <= ctx.now]


@dataclass(frozen=True, slots=True)
class Wave:
    """One wave of an edition (local-time sending): when it leaves, whose morning it is, and
    where its deliveries stand (none yet: it has not left)."""

    at: datetime
    zones: tuple[str, ...]
    counts: dict[str, int]


def edition_waves(settings: Settings, store: Store, day: date) -> list[Wave]:
    """The waves of edition ``day``, in time order: those that left, from the ledger, and those
    still to come, from the readers' timezones (``digest status``, the desk)."""
    at = send_time(settings.schedule)
    zones: dict[datetime, list[str]] = {}
    for name, zone in reader_zones(settings, store).items():
        zones.setdefault(wave_at(day, zone, at), []).append(name or settings.timezone)
    counts = dict(store.waves(day.isoformat()))
    return [
        Wave(when, tuple(sorted(set(zones.get(when, [])))), counts.get(when, {}))
        for when in sorted(set(zones) | set(counts))
    ]


def _wave_work(ctx: RunContext, day: date, waves: list[datetime]) -> bool:
    """Whether a tick has work on edition ``day``: a wave within the grace not planned yet (it
    is just leaving, or left while the scheduler was down), or deliveries due and unsent. An
    edition held for approval waits for it; one that came out empty is tried again an hour
    later, not every quarter hour."""
    store, now, grace = ctx.store, ctx.now, ctx.settings.misfire_grace
    review = store.edition_review(day.isoformat())
    if review is not None and review.state == "held":
        return False  # awaiting approval: approving it sends it (to every wave due by then)
    if review is None:
        empty = store.get_meta(f"empty_edition:{day.isoformat()}")
        if empty and now - datetime.fromisoformat(empty) < timedelta(hours=1):
            return False
    planned = {due for due, _ in store.waves(day.isoformat())}
    if any(now - grace <= w <= now and w not in planned for w in waves):
        return True
    return bool(store.waiting(day.isoformat(), due_by=now))


def reader_zones(settings: Settings, store: Store) -> dict[str | None, ZoneInfo]:
    """The timezones of the active readers (``None``: those who named none, read as the
    configured one), each with its ZoneInfo (one no longer known is read as the configured one)."""
    zones: dict[str | None, ZoneInfo] = {}
    for name in store.subscriber_zones():
        try:
            zones[name] = ZoneInfo(name) if name else settings.zone
        except (ZoneInfoNotFoundError, ValueError):
            zones[name] = settings.zone
    return zones or {None: settings.zone}


async def send_waves(ctx: RunContext, *, subscribers_csv: Path | None = None) -> list[RunSummary]:
    """One tick of local-time sending (the scheduler's, every quarter hour): send each open
    edition to the readers whose morning has come, and, with a review window, prepare the next
    edition that long before its first wave. An edition with nothing new to do records no run.
    """
    s, store, now = ctx.settings, ctx.store, ctx.now
    merged = RunSummary(edition_id="")
    import_subscribers(store, subscribers_csv or s.subscribers_path, merged)  # their zones first
    for error in merged.subscriber_errors:
        log.warning("subscriber skipped: %s", error)
    zones = list(reader_zones(s, store).values())
    at = send_time(s.schedule)
    done: list[RunSummary] = []
    for day in open_days(s.schedule, zones, now, grace=s.misfire_grace):
        if _wave_work(ctx, day, [wave_at(day, zone, at) for zone in zones]):
            summary = await run_edition(ctx, day=day, gather_first=False, subscribers_csv=subscribers_csv)
            if not summary.stories:  # no news at all: not again for an hour
                store.set_meta(f"empty_edition:{day.isoformat()}", now.isoformat())
            done.append(summary)
    if s.review > timedelta(0):
        for day in open_days(s.schedule, zones, now, grace=s.misfire_grace, lead=s.review):
            if first_wave(day, zones, at) > now and store.edition(day.isoformat()) is None:
                done.append(await prepare_edition(ctx, day=day, subscribers_csv=subscribers_csv))
    return done


async def approve_edition(ctx: RunContext, *, day: date, revision: int | None) -> RunSummary | None:
    """Approve the day's edition as of ``revision`` on behalf of ``ctx.trigger``; when a send
    already held it, send it now.

    Returns the run's summary when it was sent, ``None`` when it waits for its send time.
    """
    review = ctx.store.approve_edition(day.isoformat(), revision=revision, actor=ctx.trigger)
    if review.held_at is None:
        return None
    return await run_edition(ctx, day=day, gather_first=False)


TEST_SUBJECT_PREFIX = "[Test] "


async def send_test(ctx: RunContext, *, day: date, address: str) -> str:
    """Send one copy of the recorded edition to ``address``, subject marked "[Test]", on behalf
    of ``ctx.trigger``.

    Not a delivery: the ledger and the subscriber list are untouched. Returns the Message-ID.

    Raises:
        InputError: no edition on record for the day, or ``address`` is not an email address.
        DeliveryError: the transport refused it.
    """
    store, settings = ctx.store, ctx.settings
    edition = store.edition(day.isoformat())
    if edition is None or not edition.stories:
        raise InputError(f"edition {day.isoformat()}: none on record to send a test of")
    try:
        reader = Subscriber(email=normalize_email(address))
    except ValueError as exc:
        raise InputError(f"test address {address!r}: {exc}") from exc
    secret = store.signing_secret(ctx.environ, settings.secret_env)
    renderer = EditionRenderer(
        edition, settings, secret=secret, now=ctx.now, subject_prefix=TEST_SUBJECT_PREFIX
    )
    message = renderer.message(reader)  # an active reader of every topic: never None
    assert message is not None
    async with open_transport(ctx.transport, settings.delivery, environ=ctx.environ) as transport:
        await transport.send(message)
    store.log_edition_event(edition.id, actor=ctx.trigger, action=f"test copy sent to {reader.email}")
    return message.message_id


SAMPLE_SUBSCRIBER = Subscriber(email="reader@example.org", name="Sample Reader")


async def preview_edition(
    ctx: RunContext, *, day: date | None = None, subscriber: Subscriber | None = None
) -> tuple[Edition, Subscriber, RenderedMessage | None]:
    """The edition as a given subscriber (default: the first active one) would get it; sends nothing.

    The edition is recorded, so what the editor previews is exactly what ``digest run`` sends.
    """
    day = day or edition_day(ctx.now, ctx.settings)
    summary = RunSummary(edition_id=day.isoformat())
    edition = await _draft(ctx, summary, day=day, subscribers_csv=None, gather_first=False)
    assert edition is not None  # only a stop gives None
    if subscriber is None:
        active = ctx.store.subscribers(active_only=True, limit=1)
        subscriber = active[0] if active else SAMPLE_SUBSCRIBER
    if not edition.stories:
        return edition, subscriber, None
    secret = ctx.store.signing_secret(ctx.environ, ctx.settings.secret_env)
    renderer = EditionRenderer(edition, ctx.settings, secret=secret, now=ctx.now)
    return edition, subscriber, renderer.preview(subscriber)


def fit_to_clip(ctx: RunContext, edition: Edition, summary: RunSummary, *, recorded: bool) -> Edition:
    """The edition within Gmail's clip for every active reader (:mod:`digest.render.clip`):
    past ``render.clip_limit_kb`` the run warns and, with ``render.trim_to_fit``, the
    lowest-ranked stories are dropped.

    A new edition is trimmed before it is recorded. A recorded one (editors may have made it
    longer) is trimmed as an editor's change would be (a new revision, logged) while it is
    open, unless an editor approved it as it is (the desk warned them first): what was approved
    is what goes out. A sealed edition is only measured. Readers are measured per set of
    topics, with the longest name and address among them (:meth:`Store.longest_readers`), so
    a million readers cost one query.
    """
    store, settings = ctx.store, ctx.settings
    review = store.edition_review(edition.id) if recorded else None
    open_ = review is None or (review.sealed_at is None and not review.approved)
    trim = settings.render.trim_to_fit and open_
    secret = store.signing_secret(ctx.environ, settings.secret_env)
    try:
        fitted, check = clip.fit(
            edition, settings, secret=secret, now=ctx.now, subscribers=store.longest_readers(), trim=trim
        )
    except (TemplateError, HeaderError, ConfigError) as exc:
        # the renderer meets the same error where it always did (the desk's preview, the send)
        summary.warnings.append(f"the email's size could not be measured: {exc}")
        return edition
    summary.warnings.extend(check.warnings())
    if check.dropped and review is not None:
        note = f"dropped {len(check.dropped)} stories: {check.warnings()[0]}"
        store.revise_edition(fitted, revision=review.revision, actor=ctx.trigger, action=note)
    summary.stories = len(fitted.stories)
    return fitted
