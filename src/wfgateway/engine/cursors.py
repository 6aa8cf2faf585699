"""Opaque list cursors: base64url of an offset (definitions) or of "created_ms|id" (executions)."""

from __future__ import annotations

import base64

from wfgateway.core.errors import InvalidArgument


def encode(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def _decode(cursor: str) -> str:
    try:
        return base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except Exception:
        raise InvalidArgument("Malformed cursor") from None


def decode_offset(cursor: str | None) -> int:
    if not cursor:
        return 0
    text = _decode(cursor)
    if not (text.isascii() and text.isdigit()):
        raise InvalidArgument("Malformed cursor")
    return int(text)


def decode_position(cursor: str | None) -> tuple[int, str] | None:
    if not cursor:
        return None
    text = _decode(cursor)
    created, sep, eid = text.partition("|")
    if not sep or not (created.isascii() and created.isdigit()):
        raise InvalidArgument("Malformed cursor")
    return int(created), eid
