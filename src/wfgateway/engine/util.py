"""Small helpers the engine shares: clock, ids, JSON."""

from __future__ import annotations

import asyncio
import os
import random
import time
from collections import OrderedDict
from typing import Any, Generic, TypeVar

from wfgateway.core.errors import GatewayError
from wfgateway.exact_json import dumps_text, loads_stored

K = TypeVar("K")
V = TypeVar("V")


class BoundedCache(Generic[K, V]):
    """At most ``size`` entries, the least recently used dropped first: a long-running process sees
    ever more distinct keys (definitions, ids), and its caches must not grow with them."""

    def __init__(self, size: int) -> None:
        self.size = max(1, size)
        self._items: OrderedDict[K, V] = OrderedDict()

    def get(self, key: K) -> V | None:
        value = self._items.get(key)
        if value is not None:
            self._items.move_to_end(key)
        return value

    def put(self, key: K, value: V) -> None:
        self._items[key] = value
        self._items.move_to_end(key)
        if len(self._items) > self.size:
            self._items.popitem(last=False)

    def __contains__(self, key: object) -> bool:
        return key in self._items

    def __len__(self) -> int:
        return len(self._items)


def now_ms() -> int:
    return time.time_ns() // 1_000_000


_last_ms = 0
_counter = 0
_rng = random.Random(os.urandom(32))  # ids need uniqueness, not secrecy; seeded from the OS per process
os.register_at_fork(after_in_child=lambda: _rng.seed(os.urandom(32)))


def new_id() -> str:
    """A time-ordered UUID (version 7): rows inserted together land on the same index pages, so a
    commit writes a few pages instead of one random page per new row."""
    global _last_ms, _counter
    ms = time.time_ns() // 1_000_000
    if ms > _last_ms:
        _last_ms, _counter = ms, _rng.getrandbits(8)
    else:
        ms = _last_ms
        _counter += 1
        if _counter > 0xFFF:
            _last_ms = ms = ms + 1
            _counter = 0
    n = (ms << 80) | (0x7 << 76) | (_counter << 64) | (0b10 << 62) | _rng.getrandbits(62)
    h = f"{n:032x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def dumps(value: Any) -> str:
    """Compact JSON text to store (orjson); unknown objects are stringified rather than failing a commit,
    and integers beyond 64 bits are kept exact (wfgateway.exact_json)."""
    return dumps_text(value)


def loads(text: str | bytes | None) -> Any:
    if text is None:
        return None
    return loads_stored(text)


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


def reason_of(exc: BaseException) -> str:
    """What a failed task or workflow records of an exception from adapter code: a GatewayError's
    message (no status, no details), else the exception's text."""
    return exc.message if isinstance(exc, GatewayError) else str(exc)
