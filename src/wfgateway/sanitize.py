"""Text built from upstream or client data, made safe for the two places it leaves the gateway:
an HTTP header value (no CR, LF or NUL can split or end it) and a log line (one JSON object, whatever
the data holds)."""

from __future__ import annotations

import json
from typing import Any

import orjson

# Control characters (and DEL) become visible escapes; so does anything outside ASCII.
_ESCAPES = {c: f"\\x{c:02x}" for c in (*range(0x20), 0x7F)}


def header_value(text: str, limit: int = 500) -> bytes:
    """``text`` as a header value: printable ASCII only, escapes for the rest, at most ``limit`` bytes."""
    safe = text.translate(_ESCAPES).encode("ascii", "backslashreplace")
    return safe[:limit]


def json_line(record: dict[str, Any]) -> str:
    """One JSON object on one line; values JSON cannot hold are written as text, never dropped or raised."""
    try:
        return orjson.dumps(record, default=str).decode()
    except (orjson.JSONEncodeError, TypeError):  # lone surrogates, non-str keys, huge ints
        try:
            return json.dumps(record, default=str, ensure_ascii=True, separators=(",", ":"))
        except (TypeError, ValueError):
            return json.dumps({"unserializable_record": repr(record)}, ensure_ascii=True)
