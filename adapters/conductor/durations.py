"""WAIT task timing: Conductor's ``duration`` ("10s", "1m 30s", "2 hours") and ``until`` dates."""

from __future__ import annotations

import re
from datetime import UTC, datetime

_PART = re.compile(r"(\d+)\s*(days?|d|hours?|hrs?|h|minutes?|mins?|m|seconds?|secs?|s)(?![A-Za-z])", re.IGNORECASE)
_UNIT_MS = {"d": 86_400_000, "h": 3_600_000, "m": 60_000, "s": 1000}
_UNTIL_FORMATS = ("%Y-%m-%d %H:%M %Z", "%Y-%m-%d %H:%M %z", "%Y-%m-%d %H:%M", "%Y-%m-%d")


MAX_MS = 2**53  # far beyond any real timeout; keeps every stored number a safe 64-bit (and JSON) integer


def seconds_to_ms(seconds: object) -> int:
    """Seconds from a request as milliseconds, clamped to [0, MAX_MS] (huge values mean "never")."""
    try:
        value = int(seconds)  # type: ignore[call-overload]
    except (TypeError, ValueError, OverflowError):
        return 0
    return max(0, min(value * 1000, MAX_MS))


class BadDuration(ValueError):
    """A WAIT duration or until value Conductor would not parse."""


def parse_duration_ms(text: str) -> int:
    """Milliseconds of a Conductor duration (at most MAX_MS); BadDuration if it is not one."""
    stripped = text.strip()
    total, end = 0, 0
    for match in _PART.finditer(stripped):
        if stripped[end:match.start()].strip(" ,"):
            raise BadDuration(f"invalid duration {text!r}")
        unit = match.group(2).lower()
        key = "m" if unit.startswith("mi") or unit == "m" else unit[0]
        total += int(match.group(1)) * _UNIT_MS[key]
        end = match.end()
    if end == 0 or stripped[end:].strip():
        raise BadDuration(f"invalid duration {text!r}")
    return min(total, MAX_MS)  # a duration past any real one waits for good, as a huge timeout does


def parse_until_ms(text: str) -> int:
    """Epoch milliseconds of an ``until`` value (``yyyy-MM-dd HH:mm[ zone]``, UTC if no zone)."""
    value = text.strip()
    for fmt in _UNTIL_FORMATS:
        try:
            parsed = datetime.strptime(value, fmt)
        except ValueError:
            continue
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=UTC)
        return int(parsed.timestamp() * 1000)
    raise BadDuration(f"invalid until value {text!r}; use yyyy-MM-dd HH:mm[ zone]")
