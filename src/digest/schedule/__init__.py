"""The scheduler behind ``digest schedule``: the edition on the config's cron, in its timezone.

The decisions are pure and take ``now`` (:func:`plan_job`, :func:`edition_day`,
:func:`missed_send`, :func:`describe`); :class:`EditionScheduler` is the edge that owns
APScheduler, and :func:`serve` the one that owns the process's signals. Jobs persist in the
store (table ``schedule_jobs``), so after downtime APScheduler itself decides whether a missed
send is still within ``misfire_grace`` (it then runs once, however many times were missed) or
not (skipped, logged and recorded as missed). One scheduler per store: :func:`hold_lock`.
"""

from ..config import human
from ..crontab import cron_trigger, crontab_weekdays
from .cron import (
    KINDS,
    EditionTrigger,
    Kind,
    edition_day,
    grace,
    last_fire_time,
    review_day,
    triggers,
)
from .lock import hold_lock, lock_path, shown_store
from .plan import JobPlan, counts_as_sent, describe, missed_send, plan_job
from .runner import HEARTBEAT, JOBS_TABLE, Editions, EditionScheduler, PipelineEditions, serve

__all__ = [
    "HEARTBEAT",
    "JOBS_TABLE",
    "KINDS",
    "EditionScheduler",
    "EditionTrigger",
    "Editions",
    "JobPlan",
    "Kind",
    "PipelineEditions",
    "counts_as_sent",
    "cron_trigger",
    "crontab_weekdays",
    "describe",
    "edition_day",
    "grace",
    "hold_lock",
    "human",
    "last_fire_time",
    "lock_path",
    "missed_send",
    "plan_job",
    "review_day",
    "serve",
    "shown_store",
    "triggers",
]
