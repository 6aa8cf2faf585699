"""Stored timers: one asyncio task sleeps until the earliest due timer, then fires what is due.

Timer rows (task timeouts, retry delays, waits, leases, execution timeouts) live in the store, so they
survive a restart.  Firing a timer deletes its row in the same transaction as its effect; a timer that
no longer applies (its attempt finished or was superseded) is simply dropped.

The loop is supervised (core/loops.py): a store that cannot answer ends the pass, the supervisor
backs off and starts it again, and the timers it could not fire stay stored and fire then.  Only a
timer whose firing fails for another reason (a bug, logged with its traceback) is removed.
"""

from __future__ import annotations

import logging
from typing import Any

from wfgateway.core.loops import LoopState, Supervised
from wfgateway.core.model import HTTP, WAIT, WORKER, TaskSpec
from wfgateway.core.statuses import ExecutionStatus, TaskStatus
from wfgateway.engine.attempts import begin
from wfgateway.engine.context import EngineContext
from wfgateway.engine.ending import cancel_open, end_execution, finish, mark_failure
from wfgateway.engine.scopes import child_graph, definition_graph
from wfgateway.engine.state import AttRec, ExecState
from wfgateway.engine.store.base import Changeset, StoreError
from wfgateway.engine.unit import Unit
from wfgateway.engine.util import Signal, now_ms

log = logging.getLogger("wfgateway.engine")


class TimerLoop:
    def __init__(self, ctx: EngineContext) -> None:
        self.ctx = ctx
        self._next: int | None = None
        self._wake = Signal()
        self._supervisor = Supervised("engine-timers", self._loop)

    def start(self) -> None:
        self._wake = Signal()
        self._supervisor.start()

    async def stop(self) -> None:
        await self._supervisor.stop()

    def arm(self, due: int) -> None:
        if self._next is None or due < self._next:
            self._next = due
            self._wake.fire()

    async def _loop(self, state: LoopState) -> None:
        store = self.ctx.store
        self._next = await store.next_timer_due()
        # Timers another process stores cannot wake us: look at the table at least every second.
        idle_cap = 1.0
        while True:
            state.beat()
            fut = self._wake.waiter()
            now = now_ms()
            if self._next is not None and self._next <= now:
                self._next = None
                for row in await store.timers_due(now, 200):
                    await self._fire_safely(row)
                nxt = await store.next_timer_due()
                if nxt is not None and (self._next is None or nxt < self._next):
                    self._next = nxt
                self._wake.discard(fut)
                continue
            wait = None if self._next is None else (self._next - now) / 1000
            wait = idle_cap if wait is None else min(wait, idle_cap)
            if not await self._wake.wait(fut, wait):
                nxt = await store.next_timer_due()
                if nxt is not None and (self._next is None or nxt < self._next):
                    self._next = nxt

    async def _fire_safely(self, row: tuple[Any, ...]) -> None:
        try:
            await fire(self.ctx, row)
        except StoreError:
            raise  # the store is down or busy: the timer stays stored and fires on the next pass
        except Exception:
            log.exception("timer %s cannot be fired (a permanent error); removing it", row[0])
            try:
                await self.ctx.store.commit(Changeset(timer_claims=[row[0]]))
            except Exception:
                pass


def _spec_and_container(st: ExecState, rec: AttRec) -> tuple[TaskSpec | None, AttRec | None]:
    container = st.by_id.get(rec.a.parent_attempt_id) if rec.a.parent_attempt_id else None
    if rec.spec is not None:
        return rec.spec, container
    graph = child_graph(container) if container is not None else definition_graph(st)
    return graph.by_ref.get(rec.local), container


async def fire(ctx: EngineContext, row: tuple[Any, ...]) -> None:
    timer_id, due, execution_id, key, kind, payload = row

    async def op(unit: Unit) -> None:
        unit.timer_claims.append(timer_id)
        st = await unit.load(execution_id)
        if st is None:
            return
        now = unit.now
        if kind == "exec_timeout":
            e = st.e
            if not e.status.terminal and st.rec.deadline_ms and now >= st.rec.deadline_ms:
                cancel_open(st, unit)
                timeout = st.definition.timeout_ms
                end_execution(st, unit, ExecutionStatus.TIMED_OUT, f"Workflow timed out after {timeout} ms")
                mark_failure(st)
            return
        rec = next((r for r in st.all if r.key == key), None)
        if rec is None or not rec.a.visible:
            return
        a = rec.a
        if kind in ("start", "wake"):
            if a.status is not TaskStatus.SCHEDULED:
                return
            if a.kind == WORKER:
                st.notify.add((rec.tenant, a.name))
            elif a.kind == HTTP:
                st.dispatch.append(key)
            else:
                spec, container = _spec_and_container(st, rec)
                if spec is not None:
                    begin(st, unit, container, spec, rec, rec.params or {})
                    st.needs_decide = True
        elif kind == "wait":
            if a.kind == WAIT and a.status is TaskStatus.IN_PROGRESS:
                finish(rec, TaskStatus.COMPLETED, now, output=dict(a.input))
                st.needs_decide = True
        elif kind == "timeout":
            if not a.status.terminal:
                spec, _ = _spec_and_container(st, rec)
                limit = spec.timeout_ms if spec is not None else None
                finish(rec, TaskStatus.TIMED_OUT, now, reason=f"Task timed out after {limit} ms")
                a.lease_until_ms = 0
                if a.subworkflow_id:
                    st.terminate_children.append(a.subworkflow_id)
                if a.kind == "dynamic":
                    cancel_open(st, unit, a.id)
                st.needs_decide = True
        elif kind == "lease":
            if a.status is not TaskStatus.IN_PROGRESS or a.kind not in (WORKER, HTTP):
                return
            if a.lease_until_ms > now:
                st.timers.append((a.lease_until_ms, "lease", key, None))
                return
            a.status = TaskStatus.SCHEDULED
            a.worker_id = None
            a.lease_until_ms = 0
            a.updated_ms = now
            if a.kind == WORKER:
                st.notify.add((rec.tenant, a.name))
            else:
                st.dispatch.append(key)

    await ctx.run(op)
