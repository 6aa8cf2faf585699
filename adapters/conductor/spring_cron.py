"""Conductor's cron expressions: Spring's ``CronExpression`` (six fields, seconds first).

``second minute hour day-of-month month day-of-week``, with Quartz's ``?``, ``L``, ``W`` and ``#``,
month and day names, and the macros ``@yearly`` .. ``@hourly``.  As in Spring, a restricted day of
month and a restricted day of week must both match (Unix cron takes either).  Times are epoch
milliseconds; an expression is evaluated in its zone (``zoneId``, default UTC).
"""

from __future__ import annotations

from datetime import UTC, datetime, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import CroniterBadDateError, croniter

from wfgateway.core.errors import InvalidArgument

INVALID_CRON = "Invalid cron expression"  # the OSS SchedulerService's message
_MACROS = {
    "@yearly": "0 0 0 1 1 *", "@annually": "0 0 0 1 1 *", "@monthly": "0 0 0 1 * *",
    "@weekly": "0 0 0 * * 0", "@daily": "0 0 0 * * *", "@midnight": "0 0 0 * * *", "@hourly": "0 0 * * * *",
}


def expand(cron: str | None) -> str:
    """The six-field form of ``cron``; 400 ``Invalid cron expression`` unless Spring would parse it."""
    text = (cron or "").strip()
    text = _MACROS.get(text.lower(), text)
    if len(text.split()) != 6 or not croniter.is_valid(text, second_at_beginning=True):
        raise InvalidArgument(INVALID_CRON)
    return text


def zone(zone_id: str | None) -> tzinfo:
    """The zone named by ``zone_id`` (default UTC); 400 with Java's message for an unknown one."""
    if not zone_id or zone_id in ("UTC", "Z"):
        return UTC
    try:
        return ZoneInfo(zone_id)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise InvalidArgument(f"Unknown time-zone ID: {zone_id}") from exc


def next_after(cron: str, zone_id: str | None, after_ms: int) -> int | None:
    """The first fire time (ms) strictly after ``after_ms`` (Spring truncates to the second first), or
    None when there is none (a date that never comes, such as 30 February, or a time past the calendar)."""
    expression, tz = expand(cron), zone(zone_id)
    try:
        start = datetime.fromtimestamp((after_ms // 1000), tz=tz)
        it = croniter(expression, start, second_at_beginning=True, day_or=False, max_years_between_matches=30)
        return int(it.get_next(datetime).timestamp() * 1000)
    except (CroniterBadDateError, OverflowError, ValueError, OSError):
        return None
