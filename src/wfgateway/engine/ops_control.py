"""Operations on a running execution from outside it: skip a task not scheduled yet, reset the
callback delays of queued worker tasks, merge variables into it."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from wfgateway.core.errors import Conflict
from wfgateway.core.model import SKIPPED_ON_REQUEST, WORKER, Execution, TaskSpec
from wfgateway.core.statuses import ExecutionStatus, TaskStatus
from wfgateway.engine.attempts import skip
from wfgateway.engine.context import EngineContext
from wfgateway.engine.scopes import definition_graph
from wfgateway.engine.unit import Unit


def _nested_refs(specs: Iterable[TaskSpec]) -> set[str]:
    out: set[str] = set()
    for spec in specs:
        for inner in spec.body or ():
            out.add(inner.ref)
            out |= _nested_refs([inner])
    return out


async def skip_task(ctx: EngineContext, execution_id: str, ref: str, tenant: str | None,
                    input: dict[str, Any] | None, output: dict[str, Any] | None) -> Execution:
    async def op(unit: Unit) -> Callable[[], Execution]:
        st = await unit.require(execution_id, tenant)
        status = st.e.status
        if status is not ExecutionStatus.RUNNING:
            raise Conflict(f"Execution {execution_id} is {status.value}; only a RUNNING execution's tasks can be skipped",
                           details={"reason": "not_running", "status": status.value, "ref": ref})
        graph = definition_graph(st)
        spec = graph.by_ref.get(ref)
        if spec is None:
            nested = ref in _nested_refs(st.definition.tasks)
            raise Conflict(
                f"Task {ref} is inside a loop; only top-level tasks can be skipped" if nested
                else f"Task {ref} is not a task of the definition {st.definition.name}",
                details={"reason": "nested_ref" if nested else "unknown_ref", "ref": ref})
        if any(r.a.visible and r.a.parent_attempt_id is None and r.local == ref for r in st.all):
            raise Conflict(f"Task {ref} has already been scheduled; it cannot be skipped",
                           details={"reason": "already_processed", "ref": ref})
        rec = skip(st, unit, None, spec, None)
        a = rec.a
        a.extra = {SKIPPED_ON_REQUEST: True}
        a.input = dict(input or {})
        a.output = dict(output or {})
        st.needs_decide = True
        return st.execution

    return await ctx.run(op)


async def reset_callbacks(ctx: EngineContext, execution_id: str, tenant: str | None) -> list[str]:
    async def op(unit: Unit) -> Callable[[], list[str]]:
        st = await unit.require(execution_id, tenant)
        status = st.e.status
        if status.terminal:
            raise Conflict(f"Execution {execution_id} is {status.value}; it has no callbacks to reset",
                           details={"reason": "terminal", "status": status.value})
        now, reset = unit.now, []
        for r in st.all:
            a = r.a
            if a.visible and a.kind == WORKER and a.status is TaskStatus.SCHEDULED and a.callback_after_ms > now:
                a.callback_after_ms = now
                a.updated_ms = now
                st.notify.add((r.tenant, a.name))
                reset.append(a.id)
        return lambda: reset

    return await ctx.run(op)


async def set_variables(ctx: EngineContext, execution_id: str, variables: dict[str, Any],
                        tenant: str | None) -> Execution:
    """Merge ``variables`` into a non-terminal execution's (as a set task would) and decide again, so
    that what reads them next (a loop's condition, a task scheduled later) sees the new values."""
    async def op(unit: Unit) -> Callable[[], Execution]:
        st = await unit.require(execution_id, tenant)
        status = st.e.status
        if status.terminal:
            raise Conflict(f"Execution {execution_id} is {status.value}; its variables can no longer change",
                           details={"reason": "terminal", "status": status.value})
        if variables:
            st.e.variables = {**st.e.variables, **variables}
            st.needs_decide = True
        return st.execution

    return await ctx.run(op)
