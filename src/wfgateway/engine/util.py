"""Small helpers the engine shares: clock, ids, JSON."""

from __future__ import annotations

import time
import uuid
from typing import Any

import orjson

_OPTS = orjson.OPT_NON_STR_KEYS


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def new_id() -> str:
    return str(uuid.uuid4())


def dumps(value: Any) -> str:
    """Compact JSON text (orjson); unknown objects are stringified rather than failing a commit."""
    return orjson.dumps(value, option=_OPTS, default=str).decode()


def loads(text: str | bytes | None) -> Any:
    if text is None:
        return None
    return orjson.loads(text)
