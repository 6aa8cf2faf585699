"""The engine as its operation modules, the timer loop and the HTTP task runner see it.

A declared interface instead of the ``Engine`` object: the modules behind the façade (engine.py) depend
on this Protocol, never on engine.py, so the engine's import graph has no circle.  ``runtime.Runtime``
implements it; a test may hand the modules anything else that does.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, Protocol, TypeVar, overload

from wfgateway.engine.domains import Pollers
from wfgateway.engine.hooks import Hooks
from wfgateway.engine.snapshots import Snapshots
from wfgateway.engine.store.base import Store
from wfgateway.engine.unit import Unit
from wfgateway.engine.util import Signal

T = TypeVar("T")


class Alarm(Protocol):
    def arm(self, due: int) -> None:
        """Wake the timer loop no later than ``due`` (epoch ms): a timer row due then was just stored."""


class EngineContext(Protocol):
    @property
    def store(self) -> Store: ...

    @property
    def snapshots(self) -> Snapshots: ...

    @property
    def hooks(self) -> Hooks: ...

    @property
    def timers(self) -> Alarm: ...

    @property
    def instance_id(self) -> str:
        """This engine's id (the owner of the HTTP tasks it claims)."""

    @property
    def pollers(self) -> Pollers:
        """Recent worker polls per domain, which the units this engine runs consult."""

    @property
    def worker_lease_ms(self) -> int:
        """How long a polled task stays with its worker before it is queued again."""

    @property
    def recover_inflight(self) -> bool:
        """True when in-flight HTTP tasks found at start-up were ours (no other process shares the store)."""

    def unit(self) -> Unit:
        """A fresh unit of work (for reads; writes go through ``run``)."""

    @overload
    async def run(self, op: Callable[[Unit], Awaitable[Callable[[], T]]]) -> T: ...

    @overload
    async def run(self, op: Callable[[Unit], Awaitable[None]]) -> None: ...

    async def run(self, op: Callable[[Unit], Awaitable[Any]]) -> Any:
        """Run ``op`` in a unit of work, settle, commit; re-run it from a fresh read on a version
        conflict.  ``op`` returns a callable whose result (computed after settling) is the answer, or
        None.  Conflict after too many conflicts in a row."""

    def changed(self, execution_id: str) -> None:
        """Wake whoever waits on the execution (``wait_until``)."""

    def watch(self, execution_id: str) -> Signal:
        """The signal ``changed`` fires for the execution."""

    def queue_signal(self, tenant: str, name: str) -> Signal:
        """The signal fired when work is queued for the task name (long-polling workers)."""

    def spawn(self, coro: Coroutine[Any, Any, Any]) -> None:
        """Run ``coro`` in the background until the engine stops."""
