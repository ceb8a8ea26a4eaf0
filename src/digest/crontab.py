"""Crontab lines (minute hour day month weekday) read as crontab reads them, as APScheduler
triggers. Below both the configuration (which validates the ``schedule`` line) and the
scheduler (which runs it). Contains no I/O."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from apscheduler.triggers.cron import CronTrigger

_WEEKDAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")


def _weekday(token: str) -> int:
    if token.isdigit() and int(token) <= 7:
        return int(token)
    if token in _WEEKDAYS:
        return _WEEKDAYS.index(token)
    raise ValueError(f"day of week {token!r}: not 0-7 or a day name")


def crontab_weekdays(field: str) -> str:
    """A crontab day-of-week field in APScheduler 3's terms. Contains no I/O.

    crontab counts from Sunday (0, or 7); APScheduler 3 from Monday, so there ``1-5`` would be
    Tuesday to Saturday, and a range of names from Sunday (``sun-thu``) would run backwards.
    Every day is read as crontab reads it, and given back as a list of day names.
    """
    field = field.lower()
    if field == "*":
        return field
    days: set[int] = set()
    for part in field.split(","):
        span, slash, step_text = part.partition("/")
        if slash and (not step_text.isdigit() or int(step_text) == 0):
            raise ValueError(f"day of week {part!r}: the step must be a positive number")
        step = int(step_text) if slash else 1
        if span == "*":
            low, high = 0, 6
        elif "-" in span:
            first, _, last = span.partition("-")
            low, high = _weekday(first), _weekday(last)
            if high == 0 and low > 0:
                high = 7  # a range ending on Sunday ("sat-sun", "mon-sun") ends the week, as 7 does
        else:
            low = _weekday(span)
            high = 7 if slash else low
        if low > high:
            raise ValueError(f"day of week {part!r}: the range runs backwards")
        days.update(d % 7 for d in range(low, high + 1, step))
    return ",".join(_WEEKDAYS[d] for d in sorted(days))


def cron_trigger(expr: str, zone: ZoneInfo) -> CronTrigger:
    """A crontab line (minute hour day month weekday) as an APScheduler trigger in ``zone``.

    Raises:
        ValueError: not five fields, or a field that cannot be read.
    """
    fields = expr.split()
    if len(fields) != 5:
        raise ValueError(f"wrong number of fields: got {len(fields)}, expected 5")
    minute, hour, day, month, weekday = fields
    return CronTrigger(
        minute=minute, hour=hour, day=day, month=month, day_of_week=crontab_weekdays(weekday), timezone=zone
    )
