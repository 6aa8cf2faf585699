"""Waiting for an execution to change, also when another replica changes it, without polling where it can.

Synchronous APIs (start a workflow and answer once it ends or blocks, also inside its sub-workflows)
wait here.  Changes committed in this process wake a waiter through the engine's listeners.  On a
shared store (PostgreSQL, several gateway replicas) the replica that commits a change of a *watched*
execution (engine/watched.py) publishes its id and those of its watched ancestors with ``NOTIFY``,
and every replica ``LISTEN``s, so a waiter also wakes when a worker polling another replica
completes a task of a sub-workflow at any depth, or another replica's timers move it on.  An
execution started with ``metadata[WATCHED] = True`` is watched, and so are the sub-workflows it
starts; a wait on one that is not yet watched marks it and its running sub-workflows first (one
commit).  Only watched executions cost a notification.

If the listening connection drops, every waiter is woken to re-read (nothing is lost), and the
connection is opened again.  Worker processes sharing one SQLite file have no such channel: there a
waiter also re-reads every ``recheck_s``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import Any, Protocol, runtime_checkable

from wfgateway.core.model import Execution
from wfgateway.engine.events import EngineEvent
from wfgateway.engine.util import Signal
from wfgateway.engine.watched import WATCHED, ancestors

__all__ = ["WATCHED", "ExecutionWatch"]

log = logging.getLogger("wfgateway.engine.watch")
_RECONNECT_S = 1.0
_PARENTS_KEPT = 10_000  # sub-workflow -> parent links remembered to wake a waiter on any ancestor
_MAX_DEPTH = 32  # as deep as the signal and execute waits look into sub-workflows


@runtime_checkable
class SharedStore(Protocol):
    """A store several processes share (what the watch needs to listen on it)."""

    single_process: bool
    dsn: str
    schema: str | None


class ListeningEngine(Protocol):
    @property
    def store(self) -> Any: ...

    def register_listener(self, fn: Callable[[EngineEvent], Any]) -> None: ...

    async def watch_execution(self, execution_id: str) -> None: ...


class ExecutionWatch:
    """``wait(execution_id, load, done, timeout_s)``: re-read with ``load`` after every change until
    ``done`` holds or the time runs out."""

    def __init__(self, engine: ListeningEngine, recheck_s: float | None = None) -> None:
        """``recheck_s``: re-read a waited-on execution at least this often -- for processes that share a
        store without telling each other of their commits (``serve --workers N`` on one SQLite file)."""
        self._recheck_s = recheck_s
        self._signals: dict[str, Signal] = {}
        self._parents: OrderedDict[str, str] = OrderedDict()  # sub-workflow id -> its parent's id
        self._pending: set[str] = set()
        self._flushing = False
        self._tasks: set[asyncio.Task[None]] = set()
        self._listener: asyncio.Task[None] | None = None
        self._publisher: Any = None  # the psycopg connection NOTIFYs go out on
        store = engine.store
        self._shared = store if isinstance(store, SharedStore) and not store.single_process else None
        self.channel = "wfgateway_changes" + (f"_{self._shared.schema}" if self._shared and self._shared.schema else "")
        self._engine = engine
        self._listening = False
        if self._shared is not None:  # every replica publishes its watched executions' changes
            self._listen_to_engine()

    def _listen_to_engine(self) -> None:
        """Subscribe to the engine's commits: at once on a shared store, else on the first wait (a
        gateway that never waits costs its engine nothing)."""
        if not self._listening:
            self._listening = True
            self._engine.register_listener(self._on_event)

    # -- lifecycle ---------------------------------------------------------------------------
    async def start(self) -> None:
        if self._shared is not None and self._listener is None:
            self._listener = asyncio.ensure_future(self._listen())

    async def stop(self) -> None:
        if self._listener is not None:
            self._listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._listener
            self._listener = None
        if self._publisher is not None:
            with contextlib.suppress(Exception):
                await self._publisher.close()
            self._publisher = None

    # -- waiting -----------------------------------------------------------------------------
    async def wait(self, execution_id: str, load: Callable[[], Awaitable[Execution]],
                   done: Callable[[Execution], Awaitable[bool]], timeout_s: float) -> tuple[Execution, bool]:
        """The execution once ``done`` holds (True), or as it is when ``timeout_s`` ran out (False)."""
        self._listen_to_engine()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        marked = self._shared is None  # only other replicas need the mark to tell this one
        while True:
            sig = self._signals.get(execution_id)
            if sig is None:
                sig = self._signals[execution_id] = Signal()
            fut = sig.waiter()
            try:
                execution = await load()
                if await done(execution):
                    return execution, True
                if not marked:
                    marked = True
                    if not execution.metadata.get(WATCHED) and await self._mark(execution.id):
                        continue  # re-read: a change committed before the mark published nothing
                remaining = deadline - loop.time()
                if remaining <= 0:
                    return await load(), False  # as it is now, even if it just got done
                await sig.wait(fut, remaining if self._recheck_s is None else min(remaining, self._recheck_s))
            finally:
                sig.discard(fut)
                if sig.idle and self._signals.get(execution_id) is sig:
                    del self._signals[execution_id]

    async def _mark(self, execution_id: str) -> bool:
        try:
            await self._engine.watch_execution(execution_id)
            return True
        except Exception as exc:  # the wait's own timeout still answers
            log.warning("could not watch execution %s: %s", execution_id, exc)
            return False

    def wake(self, execution_id: str) -> None:
        sig = self._signals.pop(execution_id, None)
        if sig is not None:
            sig.fire()

    def _wake_all(self) -> None:
        signals, self._signals = self._signals, {}
        for sig in signals.values():
            sig.fire()

    # -- this process's commits --------------------------------------------------------------
    def _on_event(self, event: EngineEvent) -> None:
        execution = event.execution
        self.wake(execution.id)
        self._wake_ancestors(execution.id, execution.parent_execution_id)
        if self._shared is None:
            return
        if execution.metadata.get(WATCHED):
            above = ancestors(execution.metadata)
            for ancestor in above:  # a sub-workflow started by another replica: no link in _parents
                self.wake(ancestor)
            self._pending.add(execution.id)
            self._pending.update(above)
            if not self._flushing:
                self._flushing = True
                task = asyncio.ensure_future(self._publish())
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)

    def note_parent(self, execution_id: str, parent_id: str) -> None:
        """Remember that ``execution_id`` is a sub-workflow of ``parent_id`` (bounded), so a change
        of it, however deep, also wakes a waiter on any of its ancestors.  Events name the parent of
        the execution they change; a waiter that looks into sub-workflows notes the links it walks,
        which also covers ancestors that have not changed since this process started listening."""
        self._parents[execution_id] = parent_id
        self._parents.move_to_end(execution_id)
        if len(self._parents) > _PARENTS_KEPT:
            self._parents.popitem(last=False)

    def _wake_ancestors(self, execution_id: str, parent_id: str | None) -> None:
        if parent_id is None:
            return
        self.note_parent(execution_id, parent_id)
        hops = 0
        while parent_id is not None and hops < _MAX_DEPTH:
            self.wake(parent_id)
            parent_id, hops = self._parents.get(parent_id), hops + 1

    async def _publish(self) -> None:
        """Every watched execution changed since the last flush, in one statement."""
        try:
            ids, self._pending = sorted(self._pending), set()
            self._flushing = False
            if not ids:
                return
            conn = await self._publishing_connection()
            await conn.execute("SELECT pg_notify(%s, x) FROM unnest(%s::text[]) AS x", (self.channel, ids))
        except Exception as exc:  # the waiter's own timeout still answers; never break the engine
            log.warning("could not publish execution changes: %s", exc)
            if self._publisher is not None:
                with contextlib.suppress(Exception):
                    await self._publisher.close()
                self._publisher = None

    async def _publishing_connection(self) -> Any:
        if self._publisher is None or self._publisher.closed:
            self._publisher = await _connect(self._shared)
        return self._publisher

    # -- other replicas' commits -------------------------------------------------------------
    async def _listen(self) -> None:
        from psycopg import sql

        while True:
            try:
                conn = await _connect(self._shared)
                try:
                    await conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(self.channel)))
                    self._wake_all()  # anything missed while not listening is re-read now
                    async for note in conn.notifies():
                        self.wake(note.payload)
                finally:
                    with contextlib.suppress(Exception):
                        await conn.close()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("execution change listener lost its connection (%s); reconnecting", exc)
                self._wake_all()
                await asyncio.sleep(_RECONNECT_S)


async def _connect(store: Any) -> Any:
    from psycopg import AsyncConnection

    return await AsyncConnection.connect(store.dsn, autocommit=True)
