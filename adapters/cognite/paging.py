"""Opaque list cursors: the engine's own cursor, or an offset into a list the adapter assembled."""

from __future__ import annotations

import base64
from typing import Any

import orjson
from wfgateway.adapters.cognite.errors import bad_request


def encode(state: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(orjson.dumps(state)).decode().rstrip("=")


def decode(cursor: str | None) -> dict[str, Any]:
    """The state inside a cursor this gateway issued; 400 for anything else."""
    if not cursor:
        return {}
    try:
        state = orjson.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (ValueError, orjson.JSONDecodeError) as exc:
        raise bad_request(f"Invalid cursor: {cursor[:40]}") from exc
    if not isinstance(state, dict):
        raise bad_request(f"Invalid cursor: {cursor[:40]}")
    return state


def field(cursor: str | None, name: str, kind: type) -> Any:
    """The ``name`` entry of a cursor this gateway issued (None without a cursor); 400 when it is
    missing or of another type -- a cursor made up to look like ours is refused, never a 500."""
    if not cursor:
        return None
    value = decode(cursor).get(name)
    if not isinstance(value, kind) or isinstance(value, bool) or (kind is int and value < 0):
        raise bad_request(f"Invalid cursor: {cursor[:40]}")
    return value


def page_of(items: list[Any], cursor: str | None, limit: int) -> tuple[list[Any], str | None]:
    """``limit`` items from the offset in ``cursor``, and the cursor of the rest (None at the end)."""
    start = field(cursor, "o", int) or 0
    chunk = items[start:start + limit]
    end = start + len(chunk)
    return chunk, encode({"o": end}) if end < len(items) else None
