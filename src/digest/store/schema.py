"""The store's schema, in one place, with versioned migrations.

Portable SQL through SQLAlchemy Core, so the same code runs on SQLite (the default) and on
PostgreSQL. Timestamps are stored as timezone-aware values in UTC. Each migration is a
function of a connection; the version applied is recorded in ``digest_schema``.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import (
    Boolean,
    Column,
    Connection,
    DateTime,
    Float,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    bindparam,
    func,
    inspect,
    select,
    text,
    update,
)
from sqlalchemy.schema import DefaultClause

from ..tokens import new_key

metadata = MetaData()

schema_version = Table(
    "digest_schema",
    metadata,
    Column("version", Integer, primary_key=True),
    Column("name", String(200), nullable=False),
    Column("applied", DateTime(timezone=True), nullable=False),
)

feeds = Table(
    "feeds",
    metadata,
    Column("url", String(2048), primary_key=True),
    Column("name", String(500), nullable=False, default=""),
    Column("etag", String(1000)),
    Column("last_modified", String(200)),
    Column("moved_to", String(2048)),  # target of a permanent redirect
    Column("last_success", DateTime(timezone=True)),
    Column("last_error", Text),
    Column("last_error_at", DateTime(timezone=True)),
    Column("failures", Integer, nullable=False, default=0),  # consecutive
)

entries = Table(
    "entries",
    metadata,
    Column("id", String(2048), primary_key=True),
    Column("feed_url", String(2048), nullable=False),
    Column("feed_name", String(500), nullable=False, default=""),
    Column("title", Text, nullable=False, default=""),
    Column("link", String(4096), nullable=False, default=""),
    Column("published", DateTime(timezone=True), nullable=False),
    Column("first_seen", DateTime(timezone=True), nullable=False),
    Column("html", Text, nullable=False, default=""),
    Column("text", Text, nullable=False, default=""),
    Column("topic", String(200)),
    Column("weight", Float, nullable=False, default=1.0),
    Column("content_hash", String(64), nullable=False, default=""),
    Index("ix_entries_published", "published"),
    Index("ix_entries_content_hash", "content_hash"),
)

condensations = Table(
    "condensations",
    metadata,
    Column("key", String(128), primary_key=True),  # content hash + backend
    Column("backend", String(50), nullable=False),
    Column("data", Text, nullable=False),  # JSON of Condensed
    Column("created", DateTime(timezone=True), nullable=False),
)

subscribers = Table(
    "subscribers",
    metadata,
    Column("email", String(320), primary_key=True),
    Column("name", String(500), nullable=False, default=""),
    Column("status", String(20), nullable=False, default="active"),
    Column("timezone", String(100)),
    Column("topics", Text, nullable=False, default=""),  # comma-separated; empty = all
    Column("hard_failures", Integer, nullable=False, default=0),
    Column("created", DateTime(timezone=True), nullable=False),
    Column("updated", DateTime(timezone=True), nullable=False),
    Column("first_name", String(200), nullable=False, server_default=""),  # migration 4
    # migration 6: an opaque random id (tokens.new_key) that the links in the emails name
    # instead of the address; given at insert and never changed
    Column("key", String(32), default=new_key),
    # migration 7: why the status is what it is ("hard bounce: 550 5.1.1 …", "complaint …"),
    # and since when (a reactivation starts the count of bounces again)
    Column("status_reason", Text),
    Column("status_changed", DateTime(timezone=True)),
    Index("ix_subscribers_key", "key", unique=True),
)

# migration 7: what came back (bounces, complaints), one row per reader a returned message is
# about; a message read again adds nothing (its id and the finding's place are the key)
bounce_events = Table(
    "bounce_events",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("report_id", String(500), nullable=False),  # the returned message's Message-ID
    Column("position", Integer, nullable=False),  # which of the readers it names
    Column("kind", String(20), nullable=False),  # hard, soft, complaint, delayed, auto-reply, unrecognised
    Column("email", String(320)),  # the subscriber it was matched to (None: nobody known)
    Column("named", String(320)),  # the address the report names
    Column("edition_id", String(50)),
    Column("diagnostic", Text),
    Column("received", DateTime(timezone=True)),  # the report's own date
    Column("recorded", DateTime(timezone=True), nullable=False),
    Column("source", String(500), nullable=False),  # "bounces.mbox#12", "webhook ses", …
    UniqueConstraint("report_id", "position"),
    Index("ix_bounce_events_email", "email", "kind"),
    Index("ix_bounce_events_edition", "edition_id", "kind"),
)

editions = Table(
    "editions",
    metadata,
    Column("id", String(50), primary_key=True),
    Column("created", DateTime(timezone=True), nullable=False),
    Column("data", Text, nullable=False),  # JSON: the stories as condensed, so a rerun sends the same
    # review (migration 2): each save bumps the revision; an edit withdraws an approval;
    # sealed when sending starts, after which the edition no longer changes
    Column("revision", Integer, nullable=False, server_default="1"),
    Column("updated", DateTime(timezone=True)),
    Column("updated_by", String(200)),
    Column("approved_at", DateTime(timezone=True)),
    Column("approved_by", String(200)),
    Column("approved_revision", Integer),
    Column("held_at", DateTime(timezone=True)),  # a send found it unapproved
    Column("sealed_at", DateTime(timezone=True)),
)

edition_events = Table(
    "edition_events",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("edition_id", String(50), nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("actor", String(200), nullable=False),  # "desk", "cli", "schedule", an editor's name
    Column("action", Text, nullable=False),
    Index("ix_edition_events_edition", "edition_id", "id"),
)

deliveries = Table(
    "deliveries",
    metadata,
    Column("edition_id", String(50), primary_key=True),
    Column("email", String(320), primary_key=True),
    Column("state", String(20), nullable=False),  # pending, sending, sent, failed
    Column("message_id", String(500), nullable=False, default=""),
    Column("attempts", Integer, nullable=False, default=0),
    Column("permanent", Boolean, nullable=False, default=False),
    Column("code", Integer),
    Column("reason", Text),
    Column("updated", DateTime(timezone=True), nullable=False),
    # migration 2: who claimed it; migration 3: the id of the worker (its lease) sending it
    Column("claimed_by", String(300)),
    # migration 5: when it may go out (local-time sending: the reader's own morning); at once
    # otherwise. Workers claim only what is due.
    Column("due", DateTime(timezone=True)),
    # migration 3: workers take their batches from here (pending, by edition), and look here
    # for the claims of workers whose lease ran out (sending); migration 5: in the order due
    Index("ix_deliveries_queue", "state", "edition_id", "email"),
    Index("ix_deliveries_due", "state", "edition_id", "due", "email"),
)

runs = Table(
    "runs",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("edition_id", String(50), nullable=False),
    Column("started", DateTime(timezone=True), nullable=False),
    Column("finished", DateTime(timezone=True)),
    Column("status", String(20), nullable=False, default="running"),
    Column("summary", Text, nullable=False, default="{}"),  # JSON
    Column("worker_id", String(64)),  # migration 3: its lease; a run whose lease ran out is dead
    UniqueConstraint("id"),
)

# migration 3: every process that runs or sends holds a lease, which its heartbeat extends;
# the claims of a worker whose lease ran out go back to pending, and its runs are marked dead
workers = Table(
    "workers",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("host", String(255), nullable=False),
    Column("pid", Integer, nullable=False),
    Column("started", DateTime(timezone=True), nullable=False),
    Column("heartbeat", DateTime(timezone=True), nullable=False),
    Column("lease_until", DateTime(timezone=True), nullable=False),
    Column("finished", DateTime(timezone=True)),
    Column("status", String(20), nullable=False),  # running, stopped, dead
    Column("sent", Integer, nullable=False, server_default="0"),
    Column("failed", Integer, nullable=False, server_default="0"),
    Index("ix_workers_status", "status", "lease_until"),
)

# migration 3: send rates shared by every worker: the next free slot of a pace (GCRA), and
# the messages sent per minute for a cap over a sliding window
rate_slots = Table(
    "rate_slots",
    metadata,
    Column("key", String(100), primary_key=True),
    Column("next_at", DateTime(timezone=True), nullable=False),
)
rate_minutes = Table(
    "rate_minutes",
    metadata,
    Column("key", String(100), primary_key=True),
    Column("minute", DateTime(timezone=True), primary_key=True),
    Column("count", Integer, nullable=False),
)

meta = Table(
    "meta",
    metadata,
    Column("key", String(200), primary_key=True),
    Column("value", Text, nullable=False),
)


def _initial(conn: Connection) -> None:
    for table in (meta, feeds, entries, condensations, subscribers, editions, deliveries, runs):
        table.create(conn, checkfirst=True)


def _add_columns(conn: Connection, table: Table, names: tuple[str, ...]) -> None:
    """Add the named columns of ``table`` that the database does not have yet."""
    have = {c["name"] for c in inspect(conn).get_columns(table.name)}
    for col in table.columns:
        if col.name in names and col.name not in have:
            kind = col.type.compile(dialect=conn.dialect)
            server = col.server_default
            default = f" DEFAULT {server.arg}" if isinstance(server, DefaultClause) else ""
            null = "" if col.nullable else " NOT NULL"
            conn.execute(text(f"ALTER TABLE {table.name} ADD COLUMN {col.name} {kind}{default}{null}"))


def _review(conn: Connection) -> None:
    """Editions gain a revision, an approval, a hold and a seal; editors' actions are logged;
    a delivery being sent records which process claimed it."""
    _add_columns(
        conn,
        editions,
        ("revision", "updated", "updated_by", "approved_at", "approved_by", "approved_revision", "held_at"),
    )
    _add_columns(conn, editions, ("sealed_at",))
    _add_columns(conn, deliveries, ("claimed_by",))
    edition_events.create(conn, checkfirst=True)
    # editions that earlier versions began sending are final, as sealing makes new ones
    started = select(func.min(deliveries.c.updated)).where(deliveries.c.edition_id == editions.c.id)
    conn.execute(
        update(editions)
        .where(editions.c.sealed_at.is_(None), editions.c.id.in_(select(deliveries.c.edition_id)))
        .values(sealed_at=func.coalesce(started.scalar_subquery(), editions.c.created))
    )


def _workers(conn: Connection) -> None:
    """Leases instead of host and pid: workers and their heartbeats, runs that name their
    worker, shared send rates, and the queue index workers claim batches from."""
    for table in (workers, rate_slots, rate_minutes):
        table.create(conn, checkfirst=True)
    _add_columns(conn, runs, ("worker_id",))
    conn.execute(text("DROP INDEX IF EXISTS ix_deliveries_state"))
    next(i for i in deliveries.indexes if i.name == "ix_deliveries_queue").create(conn, checkfirst=True)
    # claims written by host and pid name no lease: whoever sends next takes them over
    conn.execute(
        update(deliveries).where(deliveries.c.state == "sending").values(state="pending", claimed_by=None)
    )


def _first_name(conn: Connection) -> None:
    """Subscribers gain a first name for the greeting ("" = the first word of the name)."""
    if "first_name" not in {c["name"] for c in inspect(conn).get_columns(subscribers.name)}:
        conn.execute(text("ALTER TABLE subscribers ADD COLUMN first_name VARCHAR(200) DEFAULT '' NOT NULL"))


def _due(conn: Connection) -> None:
    """Deliveries gain the time they are due (local-time sending); those planned before are due
    when they were planned."""
    _add_columns(conn, deliveries, ("due",))
    next(i for i in deliveries.indexes if i.name == "ix_deliveries_due").create(conn, checkfirst=True)
    conn.execute(update(deliveries).where(deliveries.c.due.is_(None)).values(due=deliveries.c.updated))


def _subscriber_keys(conn: Connection) -> None:
    """Subscribers gain a key, which the links in emails name instead of the address: every
    known subscriber gets one now, in batches along the primary key."""
    _add_columns(conn, subscribers, ("key",))
    email, key = subscribers.c.email, subscribers.c.key
    fill = update(subscribers).where(email == bindparam("who")).values(key=bindparam("new"))
    last = ""
    while batch := list(
        conn.scalars(select(email).where(email > last, key.is_(None)).order_by(email).limit(5000))
    ):
        conn.execute(fill, [{"who": e, "new": new_key()} for e in batch])
        last = batch[-1]
    next(i for i in subscribers.indexes if i.name == "ix_subscribers_key").create(conn, checkfirst=True)


def _bounces(conn: Connection) -> None:
    """What came back is kept: bounce and complaint events; subscribers gain why and since when
    their status is what it is."""
    bounce_events.create(conn, checkfirst=True)
    _add_columns(conn, subscribers, ("status_reason", "status_changed"))


Migration = Callable[[Connection], None]

# Append only: (version, name, function). Never edit a migration that has been released.
MIGRATIONS: list[tuple[int, str, Migration]] = [
    (1, "initial", _initial),
    (2, "review", _review),
    (3, "workers", _workers),
    (4, "first name", _first_name),
    (5, "due", _due),
    (6, "subscriber keys", _subscriber_keys),
    (7, "bounces", _bounces),
]
