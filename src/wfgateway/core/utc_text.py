"""Epoch milliseconds as UTC calendar text, cheaply: a listing of 100 runs writes some 300 timestamps, and
``datetime.fromtimestamp(ms / 1000, UTC).strftime(...)`` costs several µs each.  Here the date is read
from a cache of calendar days and the time of day from small tables of ready-made text (~1 µs).

Only 1970-01-01 .. 2106-02-07 (0 <= ms < 2**32 s) is answered; callers format other values as they did
before.  In that range ``ms / 1000`` as a float is within half a microsecond of the exact value, so the
datetime path gives exactly ``ms // 1000`` seconds and ``ms % 1000 * 1000`` microseconds too: both
paths write the same text (tests/crossdialect/test_listing_answers.py compares them).
"""

from __future__ import annotations

from datetime import UTC, datetime
from functools import lru_cache

FAST_RANGE_END_MS = 2**32 * 1000
_DAY_S = 86_400
_HOUR_MINUTE = [f"{h:02d}:{m:02d}:" for h in range(24) for m in range(60)]  # by minute of the day
_SECOND = [f"{s:02d}." for s in range(60)]
_MILLI = [f"{ms:03d}" for ms in range(1000)]


@lru_cache(maxsize=4096)
def _day(day: int) -> str:
    """``YYYY-MM-DDT`` of the ``day``-th day after 1970-01-01."""
    return datetime.fromtimestamp(day * _DAY_S, tz=UTC).strftime("%Y-%m-%dT")


def utc_millis_text(ms: int) -> str | None:
    """``YYYY-MM-DDTHH:MM:SS.mmm`` of ``ms`` in UTC, or None outside 1970 .. 2106."""
    if not 0 <= ms < FAST_RANGE_END_MS:
        return None
    seconds, milli = divmod(ms, 1000)
    day, second = divmod(seconds, _DAY_S)
    return f"{_day(day)}{_HOUR_MINUTE[second // 60]}{_SECOND[second % 60]}{_MILLI[milli]}"
