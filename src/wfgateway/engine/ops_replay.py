"""Rerun and restart in place, and clone as a new execution.

Rerun (Conductor semantics): only terminal executions; from the start, or from one task attempt —
that task and everything downstream of it run again while upstream outputs are kept.  Superseded
attempts stay in the history (``visible=False``); the rerun-from task keeps its public id.  A task
inside a sub-workflow child reruns the child in place and resumes every parent up the chain.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from wfgateway.core.errors import Conflict, InvalidArgument
from wfgateway.core.model import ITERATION, LOOP, Execution, TaskAttempt
from wfgateway.core.statuses import UNSUCCESSFUL_TERMINAL, ExecutionStatus, TaskStatus
from wfgateway.engine import ops_read
from wfgateway.engine.attempts import schedule
from wfgateway.engine.context import EngineContext
from wfgateway.engine.graph import Graph
from wfgateway.engine.looping import ITER_LOCAL, iterations, loop_output
from wfgateway.engine.scopes import child_graph, definition_graph
from wfgateway.engine.state import AttRec, ExecState, public_fields
from wfgateway.engine.store.base import ATT_IDX
from wfgateway.engine.unit import Unit, arm_deadline
from wfgateway.engine.util import new_id
from wfgateway.engine.watched import unwatched

_EXEC = ATT_IDX["execution_id"]


def _not_terminal(st: ExecState, what: str) -> Conflict:
    s = st.e.status.value
    return Conflict(f"Execution {st.e.id} is {s}; only a terminal execution can be {what}", details={"status": s})


def scope_of(st: ExecState, rec: AttRec) -> tuple[AttRec | None, Graph]:
    container = st.by_id.get(rec.a.parent_attempt_id) if rec.a.parent_attempt_id else None
    return container, (child_graph(container) if container is not None else definition_graph(st))


def _unhandled_failures(st: ExecState, scope: str | None, graph: Graph) -> set[str]:
    out = set()
    for ref in graph.order:
        r = st.cur.get((scope, ref))
        if r is not None and r.a.status in UNSUCCESSFUL_TERMINAL and r.a.branch != "error":
            out.add(ref)
    return out


def reopen(st: ExecState, rec: AttRec, now: int, *, retry: bool) -> None:
    """Open ``rec``'s scope again below ``rec``: what depends on it (and what failed beside it) will run
    again, then the enclosing dynamic containers go back IN_PROGRESS, up to the top.  ``retry`` marks
    failed and canceled tasks for a new attempt instead of superseding them."""
    while True:
        container, graph = scope_of(st, rec)
        scope = container.a.id if container is not None else None
        failures = _unhandled_failures(st, scope, graph) - {rec.local}
        for ref in (graph.descendants([rec.local, *failures]) | failures) - {rec.local}:
            cur = st.cur.get((scope, ref))
            if cur is None:
                continue
            if retry:
                if cur.a.status in UNSUCCESSFUL_TERMINAL and cur.a.branch != "error":
                    cur.retry_pending = True
            else:
                st.hide(scope, ref)
        if container is None:
            return
        if rec.a.kind == ITERATION:
            _back_to_iteration(st, container, rec)
        _reopen_attempt(container, now)
        if container.a.kind == LOOP:
            container.a.output = loop_output(st, container, int(rec.a.extra.get("iteration", 1)))
        rec = container


def _back_to_iteration(st: ExecState, loop: AttRec, it: AttRec) -> None:
    """Reopening pass n of a loop supersedes the passes after it: the loop goes on from pass n."""
    n = it.a.extra.get("iteration", 0)
    for later in iterations(st, loop):
        if later.a.extra.get("iteration", 0) > n:
            st._hide_one(later)
    st.cur[(loop.a.id, ITER_LOCAL)] = it


def _reopen_attempt(rec: AttRec, now: int) -> None:
    a = rec.a
    a.status = TaskStatus.IN_PROGRESS
    a.ended_ms = 0
    a.reason = None
    if a.kind != LOOP:  # a loop's output keeps its finished iterations (recomputed by the caller)
        a.output = {}
    a.updated_ms = now


def _run_again(st: ExecState, now: int) -> None:
    e = st.e
    e.status = ExecutionStatus.RUNNING
    e.reason = None
    if "failed_task" in e.extra:
        e.extra = {k: v for k, v in e.extra.items() if k != "failed_task"}
    st.needs_decide = True
    arm_deadline(st, now)


async def resume_parents(unit: Unit, st: ExecState, *, retry: bool) -> None:
    """A child runs again: its parent's sub-workflow task goes back IN_PROGRESS and the parent RUNNING."""
    while st.e.parent_execution_id:
        parent = await unit.load(st.e.parent_execution_id)
        rec = parent.by_id.get(st.e.parent_task_id or "") if parent is not None else None
        if parent is None or rec is None or rec.a.subworkflow_id != st.e.id:
            return
        _reopen_attempt(rec, unit.now)
        reopen(parent, rec, unit.now, retry=retry)
        if parent.e.status is not ExecutionStatus.PAUSED:
            _run_again(parent, unit.now)
        st = parent


def _fresh(st: ExecState, now: int) -> None:
    """Supersede every attempt: the execution starts over (rerun from the start, restart)."""
    for r in st.all:
        if r.a.visible:
            r.a.visible = False
            r.retry_pending = False
    if not st.attempts_loaded:
        st.hide_all = True
    st.cur.clear()
    st.by_id.clear()
    st.e.variables = {}
    _run_again(st, now)


async def rerun(ctx: EngineContext, execution_id: str, tenant: str | None, from_task_id: str | None,
                task_input: dict[str, Any] | None, workflow_input: dict[str, Any] | None,
                correlation_id: str | None) -> Execution:
    if task_input is not None and not isinstance(task_input, dict):
        raise InvalidArgument("taskInput must be a JSON object")
    if workflow_input is not None and not isinstance(workflow_input, dict):
        raise InvalidArgument("workflowInput must be a JSON object")

    async def op(unit: Unit) -> Callable[[], Execution]:
        st = await unit.require(execution_id, tenant, attempts=from_task_id is not None)
        if not st.e.status.terminal:
            raise _not_terminal(st, "rerun")
        if workflow_input is not None:
            st.e.input = workflow_input
        if correlation_id is not None:
            st.e.correlation_id = correlation_id
        if from_task_id is None:
            _fresh(st, unit.now)
            await resume_parents(unit, st, retry=False)
            return st.execution
        target = st
        rec = st.by_id.get(from_task_id)
        if rec is None:
            target, rec = await _find_in_children(ctx, unit, st, from_task_id)
        _rerun_from(target, rec, unit, task_input)
        if target is not st:
            await resume_parents(unit, target, retry=False)
        elif st.e.parent_execution_id:
            await resume_parents(unit, st, retry=False)
        return st.execution

    return await ctx.run(op)


async def _find_in_children(ctx: EngineContext, unit: Unit, top: ExecState, task_id: str) -> tuple[ExecState, AttRec]:
    row = await ctx.store.attempt_by_id(task_id)
    if row is None:
        raise InvalidArgument(f"Task {task_id} not found")
    child = await unit.load(row[_EXEC])
    node = child
    while node is not None and node is not top:
        node = await unit.load(node.e.parent_execution_id) if node.e.parent_execution_id else None
    if node is None or child is None or task_id not in child.by_id:
        raise InvalidArgument(f"Task {task_id} not found")
    if not child.e.status.terminal:
        raise _not_terminal(child, "rerun")
    return child, child.by_id[task_id]


def _rerun_from(st: ExecState, rec: AttRec, unit: Unit, task_input: dict[str, Any] | None) -> None:
    container, graph = scope_of(st, rec)
    spec = rec.spec if rec.spec is not None else graph.by_ref.get(rec.local)
    if spec is None:
        raise InvalidArgument(f"Task {rec.a.id} not found in the execution's definition")
    reopen(st, rec, unit.now, retry=False)
    _run_again(st, unit.now)
    st.hide(rec.a.parent_attempt_id, rec.local)
    schedule(st, unit, container, spec, reuse=rec, input_override=task_input)


async def restart(ctx: EngineContext, execution_id: str, tenant: str | None, use_latest_definition: bool
                  ) -> Execution:
    latest = None
    if use_latest_definition:
        probe = await ops_read.get(ctx, execution_id, tenant, False)
        latest = await ctx.snapshots.stored_body(probe.tenant, probe.definition_name, None)

    async def op(unit: Unit) -> Callable[[], Execution]:
        st = await unit.require(execution_id, tenant, attempts=False)
        if not st.e.status.terminal:
            raise _not_terminal(st, "restarted")
        if not st.definition.restartable and st.e.status is ExecutionStatus.COMPLETED:
            raise Conflict(f"Workflow {st.e.definition_name} is not restartable", details={"reason": "non_restartable"})
        if latest is not None:
            digest, d = unit.use_definition(latest)
            st.rec.def_hash = digest
            st.definition = st.e.definition = d
            st.e.definition_version = d.version
        _fresh(st, unit.now)
        st.e.output = {}
        st.e.started_ms = unit.now
        st.e.ended_ms = 0
        st.e.last_retried_ms = 0
        await resume_parents(unit, st, retry=False)
        return st.execution

    return await ctx.run(op)


async def clone(ctx: EngineContext, execution_id: str, tenant: str | None, resume_from_ref: str | None,
                execution_id_new: str | None, input: dict[str, Any] | None) -> Execution:
    if input is not None and not isinstance(input, dict):
        raise InvalidArgument("The workflow input must be a JSON object")

    async def op(unit: Unit) -> Callable[[], Execution]:
        src = await unit.require(execution_id, tenant)
        e = src.e
        st = unit.new_execution(
            tenant=e.tenant, definition=src.definition, def_hash=src.rec.def_hash,
            input=dict(e.input) if input is None else input, execution_id=execution_id_new,
            correlation_id=e.correlation_id, metadata=unwatched(e.metadata), dialect=e.dialect, priority=e.priority,
            cloned_from=e.id,
        )
        if resume_from_ref is not None:
            _copy_upstream(src, st, resume_from_ref)
        return st.execution

    return await ctx.run(op)


def _copy_upstream(src: ExecState, st: ExecState, ref: str) -> None:
    graph = definition_graph(src)
    if ref not in graph.by_ref:
        raise InvalidArgument(f"Task {ref} not found")
    cur = src.cur.get((None, ref))
    if cur is None or cur.a.status is not TaskStatus.COMPLETED:
        status = "never ran" if cur is None else f"is {cur.a.status.value}"
        raise Conflict(f"Task {ref} did not complete ({status}); resume from a completed task",
                       details={"reason": "task_not_completed"})
    keep = graph.ancestors(ref) | {ref}
    st.e.variables = dict(src.e.variables)
    mapping: dict[str, str] = {}
    for r in sorted((r for r in src.all if r.a.visible), key=lambda r: r.a.seq):
        top = r
        while top.a.parent_attempt_id is not None:
            parent = src.by_id.get(top.a.parent_attempt_id)
            if parent is None:
                break
            top = parent
        if top.a.parent_attempt_id is not None or src.cur.get((None, top.local)) is not top or top.local not in keep:
            continue
        if r.a.parent_attempt_id is not None and r.a.parent_attempt_id not in mapping:
            continue
        new = _copy_attempt(r, st, mapping)
        st.add(new)


def _copy_attempt(r: AttRec, st: ExecState, mapping: dict[str, str]) -> AttRec:
    a = r.a
    nid = new_id()
    mapping[a.id] = nid
    copy = TaskAttempt(**{**public_fields(a), "id": nid, "execution_id": st.e.id, "seq": st.next_seq(),
                          "parent_attempt_id": mapping.get(a.parent_attempt_id) if a.parent_attempt_id else None,
                          "retried_from": None, "retried": False, "visible": True, "logs": [],
                          "extra": {**a.extra, "copied_from": a.id}})
    rec = AttRec(copy, nid, st.e.tenant)
    rec.retry_base = r.retry_base
    rec.spec, rec.children, rec.params = r.spec, r.children, r.params
    return rec
