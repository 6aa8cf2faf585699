"""Task-level operations: worker polling with leases, task results, task lookups and logs."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from wfgateway.core.errors import InvalidArgument, NotFound, Unavailable
from wfgateway.core.model import WORKER, TaskAttempt
from wfgateway.core.statuses import TaskStatus
from wfgateway.engine import ops_read
from wfgateway.engine.codec import LIMITS, limits_from
from wfgateway.engine.context import EngineContext
from wfgateway.engine.ending import finish
from wfgateway.engine.events import EngineEvent, deliver
from wfgateway.engine.state import AttRec, ExecState
from wfgateway.engine.store.base import ATT_IDX, Claim, Gate
from wfgateway.engine.unit import Unit
from wfgateway.engine.util import new_id, now_ms

_TENANT = ATT_IDX["tenant"]
_EXEC = ATT_IDX["execution_id"]


async def poll(ctx: EngineContext, tenant: str, name: str, worker_id: str | None, count: int, timeout_ms: int,
               lease_ms: int | None, domain: str | None) -> list[TaskAttempt]:
    """Claim up to ``count`` queued tasks; long-poll on the queue's event until ``timeout_ms`` passes."""
    if count <= 0:
        return []
    lease = ctx.worker_lease_ms if lease_ms is None else lease_ms
    ctx.pollers.polled(tenant, name, domain, now_ms())
    loop = asyncio.get_running_loop()
    deadline = loop.time() + max(timeout_ms, 0) / 1000
    while True:
        sig = ctx.queue_signal(tenant, name)
        fut = sig.waiter()
        try:
            got = await _claim(ctx, tenant, name, worker_id, count, lease, domain or None)
        except BaseException:
            sig.discard(fut)
            raise
        remaining = deadline - loop.time()
        if got or remaining <= 0:
            sig.discard(fut)
            return got
        # Another process sharing the database cannot wake us: look again at least every second.
        await sig.wait(fut, min(remaining, 1.0))


async def _claim(ctx: EngineContext, tenant: str, name: str, worker_id: str | None, count: int,
                 lease: int, domain: str | None) -> list[TaskAttempt]:
    """Claim rounds: a claim lost to a concurrent poller (another coroutine or process) is replaced by
    the next candidate, so a poll never comes back short while work is queued."""
    out: list[TaskAttempt] = []
    tried: set[str] = set()
    claims: list[Claim] = []
    for _ in range(5):
        need = count - len(out)
        try:
            rows = await ctx.store.poll_candidates(tenant, name, now_ms(), need * 2 + len(tried) + 2, domain)
            recs = [r for r in (AttRec.from_row(row) for row in rows) if r.key not in tried][:need]
            if not recs:
                break
            now = now_ms()  # the claim time: the tasks' start and what a rate limit counts
            round_claims = [_claim_of(r, worker_id, lease, now) for r in recs]
            tried.update(r.key for r in recs)
            got, held = await _apply(ctx, Gate(tenant, name, now), round_claims)
        except Unavailable:
            if not out:
                raise
            break  # the tasks claimed in earlier rounds are this worker's now: hand them over
        claims += [c for c in round_claims if c.key in got]
        out += [r.a for r in recs if r.key in got]
        if len(got) == len(recs) or held:  # a limit holds the rest back: they stay queued
            break
    return await _claimed(ctx, out, claims)


async def _apply(ctx: EngineContext, gate: Gate, claims: list[Claim]) -> tuple[set[str], bool]:
    """Claims whose tasks carry limits go through the name's gate; the rest need no lock beyond their own."""
    if any(c.limits is not None for c in claims):
        keys, held = await ctx.store.claim_gated(gate, claims)
        return set(keys), held
    return set(await ctx.store.claim(claims)), False


def _claim_of(r: AttRec, worker_id: str | None, lease: int, now: int) -> Claim:
    a = r.a
    a.status = TaskStatus.IN_PROGRESS
    a.worker_id = worker_id
    first = not a.started_ms
    a.started_ms = a.started_ms or now
    a.updated_ms = now
    a.lease_until_ms = now + lease
    a.poll_count += 1
    timers = [(new_id(), now + lease, a.execution_id, r.key, "lease", None)]
    timeout = (r.params or {}).get("timeout_ms")
    if first and timeout:
        timers.append((new_id(), now + int(timeout), a.execution_id, r.key, "timeout", None))
    return Claim(
        key=r.key, execution_id=a.execution_id, expect_status="SCHEDULED",
        sets={"status": "IN_PROGRESS", "worker_id": worker_id, "started_ms": a.started_ms, "updated_ms": now,
              "lease_until_ms": a.lease_until_ms, "poll_count": a.poll_count},
        timers=timers, limits=limits_from(r.params.get(LIMITS)) if r.params else None,
    )


async def _claimed(ctx: EngineContext, out: list[TaskAttempt], claims: list[Claim]) -> list[TaskAttempt]:
    now = now_ms()
    if out:
        for c in claims:
            for t in c.timers:
                ctx.timers.arm(t[1])
        for a in out:
            ctx.changed(a.execution_id)
        listeners = ctx.hooks.listeners
        if listeners:
            evs = []
            for a in out:
                try:
                    e = await ops_read.get(ctx, a.execution_id, None, False)
                except (NotFound, Unavailable):  # the claim is committed: the poll still answers with it
                    continue
                e.tasks = []
                evs.append(EngineEvent("task", e, a, a.status.value, "SCHEDULED", now))
            deliver(listeners, evs)
    return out


async def _find(ctx: EngineContext, unit: Unit, task_id: str, tenant: str | None,
                execution_id: str | None = None) -> tuple[ExecState, AttRec]:
    row = await ctx.store.attempt_by_id(task_id)
    if row is None or (tenant is not None and row[_TENANT] != tenant) or (
        execution_id is not None and row[_EXEC] != execution_id
    ):
        raise NotFound(f"No such task {task_id}", details={"task_id": task_id})
    st = await unit.load(row[_EXEC])
    rec = st.by_id.get(task_id) if st is not None else None
    if st is None or rec is None:
        raise NotFound(f"No such task {task_id}", details={"task_id": task_id})
    return st, rec


async def complete(ctx: EngineContext, task_id: str, status: TaskStatus, tenant: str | None, execution_id: str | None,
                   output: dict[str, Any] | None, reason: str | None, worker_id: str | None, extend_lease: bool,
                   callback_after_ms: int, logs: list[str] | None) -> TaskAttempt:
    status = TaskStatus(status)
    if status is TaskStatus.SCHEDULED:
        raise InvalidArgument("A task result cannot be SCHEDULED")
    if output is not None and not isinstance(output, dict):
        raise InvalidArgument("Task output must be a JSON object")

    async def op(unit: Unit) -> Callable[[], TaskAttempt]:
        st, rec = await _find(ctx, unit, task_id, tenant, execution_id)
        a, now = rec.a, unit.now
        if st.e.status.terminal or a.status.terminal:
            return lambda: rec.a  # late or repeated results are ignored
        if logs:
            a.logs = [*a.logs, *({"message": str(m), "created_ms": now} for m in logs)]
        if output is not None:
            a.output = output
        if worker_id:
            a.worker_id = worker_id
        a.updated_ms = now
        if status is TaskStatus.IN_PROGRESS:
            if extend_lease or a.kind != WORKER:
                if a.kind == WORKER:
                    a.lease_until_ms = now + ctx.worker_lease_ms
                    st.timers.append((a.lease_until_ms, "lease", rec.key, None))
                if a.status is TaskStatus.SCHEDULED:
                    a.status = TaskStatus.IN_PROGRESS
                    a.started_ms = a.started_ms or now
            else:  # back in the queue, visible to pollers after the callback delay
                a.status = TaskStatus.SCHEDULED
                a.callback_after_ms = now + max(callback_after_ms, 0)
                a.lease_until_ms = 0
                if callback_after_ms > 0:
                    st.timers.append((a.callback_after_ms, "wake", rec.key, None))
                else:
                    st.notify.add((rec.tenant, a.name))
            return lambda: rec.a
        finish(rec, status, now, reason=reason)
        a.lease_until_ms = 0
        if rec.params and LIMITS in rec.params:  # a slot is free: local pollers held back by it look again
            st.notify.add((rec.tenant, a.name))
        st.needs_decide = True
        return lambda: rec.a

    return await ctx.run(op)


async def get_task(ctx: EngineContext, task_id: str, tenant: str | None) -> TaskAttempt:
    row = await ctx.store.attempt_by_id(task_id)
    if row is None or (tenant is not None and row[_TENANT] != tenant):
        raise NotFound(f"No such task {task_id}", details={"task_id": task_id})
    return AttRec.from_row(row).a


async def add_log(ctx: EngineContext, task_id: str, message: str, tenant: str | None) -> None:
    async def op(unit: Unit) -> None:
        _, rec = await _find(ctx, unit, task_id, tenant)
        rec.a.logs = [*rec.a.logs, {"message": str(message), "created_ms": unit.now}]

    await ctx.run(op)
