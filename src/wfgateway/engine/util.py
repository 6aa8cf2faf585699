"""Small helpers the engine shares: clock, ids, JSON."""

from __future__ import annotations

import asyncio
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


class Signal:
    """Wake-ups without asyncio.Event + wait_for (which can swallow a cancellation on Python 3.11).

    Take a ``waiter()`` BEFORE checking the condition, then ``wait(waiter, timeout)``: a ``fire()`` in
    between is never lost.  Each waiter has its own future, so cancelling one never disturbs another.
    """

    __slots__ = ("_waiters",)

    def __init__(self) -> None:
        self._waiters: set[asyncio.Future[bool]] = set()

    def waiter(self) -> asyncio.Future[bool]:
        fut: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._waiters.add(fut)
        return fut

    def fire(self) -> None:
        for fut in self._waiters:
            if not fut.done():
                fut.set_result(True)
        self._waiters.clear()

    def discard(self, fut: asyncio.Future[bool]) -> None:
        self._waiters.discard(fut)
        if not fut.done():
            fut.cancel()

    @property
    def idle(self) -> bool:
        return not self._waiters

    async def wait(self, fut: asyncio.Future[bool], timeout: float | None) -> bool:
        """True if fired, False on timeout."""
        handle = None
        if timeout is not None:
            handle = asyncio.get_running_loop().call_later(max(timeout, 0), _expire, fut)
        try:
            return await fut
        finally:
            self._waiters.discard(fut)
            if handle is not None:
                handle.cancel()


def _expire(fut: asyncio.Future[bool]) -> None:
    if not fut.done():
        fut.set_result(False)
