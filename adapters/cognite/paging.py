"""Opaque list cursors: the engine's own cursor, or an offset into a list the adapter assembled."""

from __future__ import annotations

import base64
from typing import Any

import orjson

from adapters.cognite.errors import bad_request


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


def page_of(items: list[Any], cursor: str | None, limit: int) -> tuple[list[Any], str | None]:
    """``limit`` items from the offset in ``cursor``, and the cursor of the rest (None at the end)."""
    start = int(decode(cursor).get("o", 0))
    chunk = items[start:start + limit]
    end = start + len(chunk)
    return chunk, encode({"o": end}) if end < len(items) else None
