"""The ``conductor`` event queue: what EVENT tasks publish, consumed by the tenant's event handlers.

As on the OSS server (Event task -> ConductorObservableQueue -> DefaultEventProcessor), publishing and
handling are apart: the EVENT task ends when its message is queued, and the handlers run afterwards,
in the background.  A message is the task's output as JSON, its id the task's id; its event is the
task's ``event_produced`` (``conductor:<workflow name>:<task reference or queue>``).

Delivery is at least once.  The message is kept in the persistence home until every action of every
matching active handler has run, and a message whose processing was cut short (a restart, a store
outage) is taken up again once its lease runs out (``event_lease_ms``), by this process or another
one sharing the store (a compare-and-set on the message claims it).  Each action that ran is recorded
under (message, handler, action), so a repeated delivery skips it, as the server's event executions
do; an action cut short between running and being recorded runs again -- a ``start_workflow`` then
finds the run it started (its id is derived from message, handler and action).  A store outage
while acting (Unavailable) is transient: the message stays and is retried; any other failure is
recorded as that action's failure and not retried, as the server does.  The message is removed once
handled.  What is not durable: the message is queued by an engine listener right after the task's
commit, so a crash in that instant loses that one event (the engine has no outbox to commit it with
the task).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from wfgateway.adapters.conductor.event_actions import (
    Actions,
    Delivery,
    Script,
    condition_holds,
)
from wfgateway.adapters.conductor.event_handlers import SEP, HandlerStore

from wfgateway.core.errors import EvaluationFailed, GatewayError, Unavailable
from wfgateway.core.loops import LoopState, Supervised
from wfgateway.core.statuses import TaskStatus
from wfgateway.engine.events import EngineEvent
from wfgateway.engine.store.kv import KeyValue

log = logging.getLogger("wfgateway.conductor.events")

MESSAGES, DONE = "message", "done"
QUEUE_TYPE = "conductor"
COMPUTE = "compute"  # the engine kind EVENT runs on
DEFAULT_LEASE_MS = 60_000  # how long a claimed message waits before another pass may take it up again
RETRY_MS = 1_000  # a transient failure is retried this much later
BATCH = 100


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def published(event: EngineEvent) -> tuple[str, str, dict[str, Any]] | None:
    """(tenant, event, payload) when ``event`` is an EVENT task of this queue publishing: on COMPLETED,
    or on IN_PROGRESS for an asyncComplete task (its later completion publishes nothing again)."""
    task = event.task
    if event.kind != "task" or task is None or task.kind != COMPUTE:
        return None
    output, given = task.output or {}, task.input or {}
    queue = output.get("event_produced")
    if not isinstance(queue, str) or not queue.startswith(QUEUE_TYPE + ":") or "sink" not in given:
        return None
    first = event.status == TaskStatus.IN_PROGRESS.value or (
        event.status == TaskStatus.COMPLETED.value and event.previous_status != TaskStatus.IN_PROGRESS.value)
    return (event.execution.tenant, queue, dict(output)) if first else None


class EventQueue:
    """Queued messages (``message`` rows) and the actions already run for them (``done`` rows)."""

    def __init__(self, kv: KeyValue, handlers: HandlerStore, actions: Actions, script: Script, *,
                 poll_s: float = 1.0, lease_ms: int = DEFAULT_LEASE_MS,
                 clock: Callable[[], int] = now_ms) -> None:
        self.kv, self.handlers, self.actions, self.script = kv, handlers, actions, script
        self.poll_s, self.lease_ms, self.clock = poll_s, lease_ms, clock
        self._wake = asyncio.Event()
        self._loop = Supervised("conductor-events", self._run, stale_after_s=max(30.0, 10 * poll_s))

    # -- publishing --------------------------------------------------------------------------
    def on_event(self, event: EngineEvent) -> Awaitable[None] | None:
        """Engine listener: queue what an EVENT task published."""
        found = published(event)
        if found is None or event.task is None:
            return None
        tenant, queue, payload = found
        return self.publish(tenant, event.task.id, queue, payload)

    async def publish(self, tenant: str, message_id: str, event: str, payload: dict[str, Any]) -> None:
        """Queue a message once (a second publish of the same id is the same message)."""
        await self.kv.insert(MESSAGES, f"{tenant}{SEP}{message_id}",
                             {"tenant": tenant, "id": message_id, "event": event, "payload": payload, "lease": 0})
        self._wake.set()

    # -- consuming ---------------------------------------------------------------------------
    def start(self) -> None:
        self._loop.start()

    async def stop(self) -> None:
        await self._loop.stop()

    async def _run(self, state: LoopState) -> None:
        while True:
            self._wake.clear()
            await self.drain()
            state.beat()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.poll_s)

    async def drain(self) -> int:
        """Handle every message due now (claimed first); how many were handled to the end."""
        handled, after = 0, None
        while True:
            rows = await self.kv.scan(MESSAGES, "", after=after, limit=BATCH)
            for key, message in rows:
                if isinstance(message, dict) and await self._claim(key, message):
                    handled += await self.handle(key, message)
            if len(rows) < BATCH:
                return handled
            after = rows[-1][0]

    async def _claim(self, key: str, message: dict[str, Any]) -> bool:
        now = self.clock()
        if int(message.get("lease") or 0) > now:
            return False
        claimed = {**message, "lease": now + self.lease_ms}
        if not await self.kv.replace(MESSAGES, key, message, claimed):
            return False  # another process took it, or it was handled meanwhile
        message["lease"] = claimed["lease"]
        return True

    async def handle(self, key: str, message: dict[str, Any]) -> int:
        """Run the matching active handlers' actions; 1 when the message is done with, 0 when it stays
        for a retry (a transient failure)."""
        delivery = Delivery(str(message["tenant"]), str(message["event"]), str(message["id"]), message.get("payload"))
        transient = False
        for handler in await self.handlers.for_event(delivery.tenant, delivery.event, True):
            try:
                if not condition_holds(handler, delivery.payload, self.script):
                    continue
            except EvaluationFailed as exc:
                log.warning("event handler %s: condition failed for message %s: %s",
                            handler.get("name"), delivery.message_id, exc.message)
                continue
            for index, action in enumerate(handler.get("actions") or []):
                if isinstance(action, Mapping):
                    transient |= not await self._act(handler, index, action, delivery)
        if transient:
            await self.kv.replace(MESSAGES, key, message, {**message, "lease": self.clock() + RETRY_MS})
            return 0
        await self.kv.delete(MESSAGES, key)
        await self._forget(delivery)
        return 1

    async def _act(self, handler: Mapping[str, Any], index: int, action: Mapping[str, Any],
                   delivery: Delivery) -> bool:
        """Run one action unless it ran before; False on a transient failure (nothing recorded)."""
        slot = f"{delivery.message_id}{SEP}{handler.get('name')}{SEP}{index}"
        done_key = f"{delivery.tenant}{SEP}{slot}"
        if await self.kv.get(DONE, done_key) is not None:
            return True  # a repeated delivery: the server's "Duplicate delivery/execution of message"
        record: dict[str, Any] = {"name": handler.get("name"), "event": delivery.event,
                                  "messageId": delivery.message_id, "action": action.get("action"),
                                  "created": self.clock()}
        try:
            record.update(status="COMPLETED", output=await self.actions.run(action, delivery, slot))
        except Unavailable:
            return False
        except Exception as exc:  # ActionFailed, a refused start or update, a bug: that action fails, not the loop
            message = exc.message if isinstance(exc, GatewayError) else str(exc) or type(exc).__name__
            log.warning("event handler %s: action %s failed for message %s: %s",
                        handler.get("name"), action.get("action"), delivery.message_id, message)
            record.update(status="FAILED", output={"exception": message})
        await self.kv.put(DONE, done_key, record)
        return True

    async def _forget(self, delivery: Delivery) -> None:
        prefix = f"{delivery.tenant}{SEP}{delivery.message_id}{SEP}"
        for key, _ in await self.kv.scan(DONE, prefix, limit=10_000):
            await self.kv.delete(DONE, key)
