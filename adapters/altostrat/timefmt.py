"""Timestamps the way Altostrat writes them: ``2025-10-31T12:00:00.000000Z`` (UTC, microseconds)."""

from __future__ import annotations

from datetime import UTC, datetime

from wfgateway.core.utc_text import utc_millis_text


def iso(ms: int | None) -> str | None:
    """Epoch milliseconds as Altostrat's timestamp string (None for 0 / None)."""
    if not ms:
        return None
    text = utc_millis_text(ms)
    if text is not None:
        return text + "000Z"
    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_ms(text: str) -> int:
    """An RFC 3339 timestamp as epoch milliseconds; ValueError when it is not one."""
    value = text.strip()
    if value.endswith(("Z", "z")):
        value = value[:-1] + "+00:00"
    parsed = datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return int(parsed.timestamp() * 1000)
