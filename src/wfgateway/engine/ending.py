"""How attempts and executions end: finish an attempt, cancel what is open, fail, complete or end an
execution (and mark it for its on-failure workflow).  Every other part of the decider ends things
through these, so an ended execution always carries its end time, reason and propagation flag."""

from __future__ import annotations

from typing import Any

from wfgateway.core.model import SUBWORKFLOW
from wfgateway.core.statuses import ExecutionStatus, TaskStatus
from wfgateway.engine.env import Env
from wfgateway.engine.graph import Graph
from wfgateway.engine.resolve import StateContext
from wfgateway.engine.state import AttRec, ExecState
from wfgateway.engine.templates import resolve


def finish(rec: AttRec, status: TaskStatus, now: int, *, output: dict[str, Any] | None = None,
           reason: str | None = None) -> None:
    a = rec.a
    a.status = status
    if output is not None:
        a.output = output
    if reason is not None:
        a.reason = reason
    if not a.started_ms:
        a.started_ms = now
    a.ended_ms = now
    a.updated_ms = now


def cancel_open(st: ExecState, env: Env, scope: str | None | bool = False) -> None:
    """CANCEL every non-terminal visible attempt (of one container's scope when ``scope`` is an id)."""
    now = env.now
    for r in st.all:
        a = r.a
        if not a.visible:
            continue
        if r.retry_pending:
            r.retry_pending = False
        if a.status.terminal:
            continue
        if scope is not False and not _within(st, r, scope):
            continue
        finish(r, TaskStatus.CANCELED, now)
        if a.kind == SUBWORKFLOW and a.subworkflow_id:
            st.terminate_children.append(a.subworkflow_id)


def _within(st: ExecState, r: AttRec, scope: str | None | bool) -> bool:
    p = r.a.parent_attempt_id
    while p is not None:
        if p == scope:
            return True
        parent = st.by_id.get(p)
        p = parent.a.parent_attempt_id if parent is not None else None
    return False


def fail_container(st: ExecState, env: Env, container: AttRec, failed: AttRec, *, timed_out: bool) -> None:
    cancel_open(st, env, container.a.id)
    status = TaskStatus.TIMED_OUT if timed_out else TaskStatus.FAILED
    finish(container, status, env.now, reason=failed.a.reason or f"Task {failed.a.ref} {failed.a.status.value}")


def mark_failure(st: ExecState) -> None:
    """The execution failed by itself: its on_failure workflow (if any) starts in this unit of work."""
    if st.definition.on_failure:
        st.failure_pending = True


def fail_execution(st: ExecState, env: Env, failed: AttRec, *, timed_out: bool | None = None) -> None:
    """End the execution because ``failed`` failed for good: TIMED_OUT when ``timed_out`` (by
    default: when the task timed out), FAILED otherwise."""
    e = st.e
    a = failed.a
    cancel_open(st, env)
    if timed_out is None:
        timed_out = a.status is TaskStatus.TIMED_OUT
    status = ExecutionStatus.TIMED_OUT if timed_out else ExecutionStatus.FAILED
    end_execution(st, env, status, a.reason)
    mark_failure(st)
    failed_task = {"id": a.id, "ref": a.ref, "status": a.status.value, "reason": a.reason}
    if "child" in a.extra:  # a sub-workflow task: what its child ended with (see Unit._propagate)
        failed_task["child"] = a.extra["child"]
    e.extra = {**e.extra, "failed_task": failed_task}


def end_unscheduled(st: ExecState, env: Env, rec: AttRec, reason: str) -> None:
    """End the execution FAILED with ``reason`` because ``rec`` could not be scheduled: the attempt is not
    kept (never written), what else is open is canceled and the on_failure workflow starts."""
    finish(rec, TaskStatus.FAILED, env.now, reason=reason)
    st.discard(rec)
    cancel_open(st, env)
    end_execution(st, env, ExecutionStatus.FAILED, reason)
    mark_failure(st)


def end_execution(st: ExecState, env: Env, status: ExecutionStatus, reason: str | None, *,
                  output: dict[str, Any] | None = None) -> None:
    e = st.e
    e.status = status
    e.reason = reason
    if output is not None:
        e.output = output
    e.ended_ms = env.now
    e.updated_ms = env.now
    st.propagate = True


def workflow_output(st: ExecState, graph: Graph) -> dict[str, Any]:
    if st.definition.output:
        try:
            out = resolve(st.definition.output, StateContext(st, None))
        except Exception:  # pragma: no cover - templates were validated
            out = {}
        return out if isinstance(out, dict) else {"output": out}
    merged: dict[str, Any] = {}
    sinks = (st.cur.get((None, ref)) for ref in graph.sinks)
    ran = [r for r in sinks if r is not None and r.a.status is not TaskStatus.SKIPPED]
    if len(ran) == 1:
        return ran[0].a.output if isinstance(ran[0].a.output, dict) else {"output": ran[0].a.output}
    for r in ran:
        if isinstance(r.a.output, dict):
            merged = {**merged, **r.a.output}
    return merged


def complete_execution(st: ExecState, env: Env, graph: Graph) -> None:
    e = st.e
    end_execution(st, env, ExecutionStatus.COMPLETED, None, output=workflow_output(st, graph))
    if "failed_task" in e.extra:
        e.extra = {k: v for k, v in e.extra.items() if k != "failed_task"}
