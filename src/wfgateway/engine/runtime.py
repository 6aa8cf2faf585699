"""The engine's running parts: the unit-of-work runner and what a commit wakes.

Every operation is one unit of work (``unit.Unit``): read, decide in memory, commit one transaction
checked by ``row_version``; on a conflict the operation is re-run from a fresh read.  After a commit the
runtime wakes what the commit made runnable: long-polling workers, HTTP tasks, the timer loop, waiters
and listeners.  Nothing is acknowledged before it is committed.  ``Runtime`` is the ``EngineContext``
the operation modules run on.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, TypeVar, overload

from wfgateway import tracing
from wfgateway.core.errors import Conflict
from wfgateway.engine import events
from wfgateway.engine.domains import Pollers
from wfgateway.engine.hooks import Hooks
from wfgateway.engine.http_task import HttpRunner
from wfgateway.engine.snapshots import Snapshots
from wfgateway.engine.store.base import ClaimLost, Store, VersionConflict
from wfgateway.engine.timers import TimerLoop
from wfgateway.engine.unit import Unit
from wfgateway.engine.util import Signal, new_id

T = TypeVar("T")
DEFAULT_HTTP_ALLOW = ["127.0.0.0/8", "::1/128", "localhost"]
RUN_ATTEMPTS = 60  # conflicting commits in a row before an operation gives up with Conflict


class Runtime:
    def __init__(self, store: Store, *, http_allow: list[str] | None, http_timeout_ms: int,
                 worker_lease_ms: int, recover_inflight: bool, definition_cache: int = 512) -> None:
        self.store = store
        self.snapshots = Snapshots(store, definition_cache)
        self.hooks = Hooks()
        self.pollers = Pollers()
        self.worker_lease_ms = worker_lease_ms
        self.recover_inflight = recover_inflight
        self.instance_id = new_id()
        self._queues: dict[tuple[str, str], Signal] = {}
        self._watchers: dict[str, Signal] = {}
        self._background: set[asyncio.Future[Any]] = set()
        self.http = HttpRunner(self, DEFAULT_HTTP_ALLOW if http_allow is None else http_allow, http_timeout_ms)
        self.dispatch_http = True  # False (a sandbox): HTTP tasks wait for complete_task as worker tasks do
        self.timers = TimerLoop(self)

    # -- lifecycle ---------------------------------------------------------------------------
    async def start(self) -> None:
        """Start the timer loop and the HTTP client, re-dispatch work a stopped process left (the store
        is open)."""
        await self.http.open()
        self.timers.start()
        await self.http.recover()

    async def close(self, *, close_store: bool) -> None:
        await self.timers.stop()
        for t in list(self._background):
            t.cancel()
        if self._background:
            await asyncio.gather(*self._background, return_exceptions=True)
        await self.http.close()
        if close_store:
            await self.store.close()

    def spawn(self, coro: Coroutine[Any, Any, Any]) -> None:
        task = asyncio.ensure_future(coro)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    # -- the unit-of-work runner -------------------------------------------------------------
    def unit(self) -> Unit:
        return Unit(self.store, self.snapshots, self.hooks, self.pollers)

    @overload
    async def run(self, op: Callable[[Unit], Awaitable[Callable[[], T]]]) -> T: ...

    @overload
    async def run(self, op: Callable[[Unit], Awaitable[None]]) -> None: ...

    async def run(self, op: Callable[[Unit], Awaitable[Any]]) -> Any:
        if tracing.TRACER is None:
            return await self._run(op)
        with tracing.span("engine.operation", {"code.function": op.__qualname__.split(".<locals>")[0]}):
            return await self._run(op)

    async def _run(self, op: Callable[[Unit], Awaitable[Any]]) -> Any:
        for n in range(RUN_ATTEMPTS):
            unit = self.unit()
            try:
                result = await op(unit)
                await unit.settle()
                cs = unit.changeset()
                if not cs.empty():
                    with tracing.span("store.commit"):
                        await self.store.commit(cs)
            except VersionConflict:
                await asyncio.sleep(0 if n < 3 else min(0.001 * n, 0.02))
                continue
            except ClaimLost:  # a timer another process fired first: nothing to do
                return None
            self._after_commit(unit)
            return result() if callable(result) else result
        raise Conflict("The execution is being changed concurrently; try again", details={"reason": "contention"})

    def _after_commit(self, unit: Unit) -> None:
        earliest: int | None = None
        for st in unit.states.values():
            if st.removed:
                self.changed(st.e.id)  # waiters see it gone
                continue
            if self.dispatch_http:
                for key in st.dispatch:
                    self.spawn(self.http.run(key))
            for q in st.notify:
                self.notify_queue(*q)
            for t in st.timers:
                if earliest is None or t[0] < earliest:
                    earliest = t[0]
            self.changed(st.e.id)
        if earliest is not None:
            self.timers.arm(earliest)
        if self.hooks.listeners:
            events.deliver(self.hooks.listeners, events.collect(unit.states.values(), unit.now))

    # -- wake-ups ----------------------------------------------------------------------------
    def notify_queue(self, tenant: str, name: str) -> None:
        sig = self._queues.pop((tenant, name), None)
        if sig is not None:
            sig.fire()

    def queue_signal(self, tenant: str, name: str) -> Signal:
        sig = self._queues.get((tenant, name))
        if sig is None:
            sig = self._queues[(tenant, name)] = Signal()
        return sig

    def changed(self, execution_id: str) -> None:
        sig = self._watchers.pop(execution_id, None)
        if sig is not None:
            sig.fire()

    def watch(self, execution_id: str) -> Signal:
        sig = self._watchers.get(execution_id)
        if sig is None:
            sig = self._watchers[execution_id] = Signal()
        return sig
