"""Loops (the engine's LOOP kind): each pass is an ITERATION container whose children are the loop's
body; after a pass ends the loop's condition decides whether another starts."""

from __future__ import annotations

from typing import Any

from wfgateway.core.errors import EvaluationFailed
from wfgateway.core.model import ITERATION, TaskSpec
from wfgateway.core.statuses import TaskStatus
from wfgateway.engine.ending import finish
from wfgateway.engine.env import Env, evaluate
from wfgateway.engine.scopes import definition_graph
from wfgateway.engine.state import AttRec, ExecState, new_attempt
from wfgateway.engine.util import new_id

ITER_LOCAL = "#iteration"  # the local name every iteration attempt of a loop shares (the latest is current)
LOOP_LIMIT = 1000  # iterations a loop may run unless its params.max_iterations says otherwise


def loop_spec(st: ExecState, loop: AttRec) -> TaskSpec | None:
    if loop.spec is not None:
        return loop.spec
    return definition_graph(st).by_ref.get(loop.local)


def start_iteration(st: ExecState, env: Env, loop: AttRec, spec: TaskSpec, n: int) -> AttRec:
    """Open pass ``n`` of ``loop``: a container attempt whose children are the loop's body."""
    now = env.now
    a = new_attempt(new_id(), st.e.id, f"{loop.a.ref}#{n}", loop.a.name, ITERATION, TaskStatus.IN_PROGRESS,
                    st.next_seq(), 0, None, loop.a.id, now,
                    {"local_ref": ITER_LOCAL, "iteration": n, "loop_id": loop.a.id})
    a.started_ms = now
    rec = AttRec(a, a.id, st.e.tenant)
    rec.spec = TaskSpec(ref=ITER_LOCAL, kind=ITERATION, name=loop.a.name)
    rec.children = spec.body
    st.add(rec)
    return rec


def iterations(st: ExecState, loop: AttRec) -> list[AttRec]:
    """The loop's visible iteration attempts, in order."""
    its = [r for r in st.all if r.a.visible and r.a.kind == ITERATION and r.a.parent_attempt_id == loop.a.id]
    return sorted(its, key=lambda r: r.a.extra.get("iteration", 0))


def loop_output(st: ExecState, loop: AttRec, current: int) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for it in iterations(st, loop):
        n = it.a.extra.get("iteration", 0)
        if it.a.status is TaskStatus.COMPLETED and n <= current:
            out[str(n)] = it.a.output
    out["iteration"] = current
    return out


def _loop_data(st: ExecState, loop: AttRec, n: int) -> dict[str, Any]:
    """What the loop condition sees: the loop's input and output, each body task's latest output."""
    passes = {r.a.id for r in iterations(st, loop) if r.a.extra.get("iteration", 0) <= n}
    inside = sorted((r for r in st.all if r.a.visible and r.a.parent_attempt_id in passes
                     and r.a.status is not TaskStatus.SKIPPED), key=lambda r: r.a.seq)
    tasks = {r.local: r.a.output for r in inside}
    return {"input": loop.a.input, "output": loop.a.output, "tasks": tasks, "iteration": n}


def advance_loop(st: ExecState, env: Env, loop: AttRec) -> bool:
    """After an iteration ends: fail the loop, ask its condition, start the next pass or complete."""
    now = env.now
    spec = loop_spec(st, loop)
    it = st.cur.get((loop.a.id, ITER_LOCAL))
    if spec is None:
        finish(loop, TaskStatus.FAILED, now, reason="The loop's definition is missing")
        return True
    if it is None:
        start_iteration(st, env, loop, spec, 1)
        loop.a.output = {"iteration": 1}
        return True
    s = it.a.status
    if not s.terminal:
        return False
    n = int(it.a.extra.get("iteration", 1))
    if not s.successful:
        loop.a.output = loop_output(st, loop, n)
        finish(loop, TaskStatus.FAILED, now, reason=it.a.reason or f"Iteration {n} {s.value}")
        return True
    loop.a.output = loop_output(st, loop, n)
    params = loop.params or {}
    again = False
    if params.get("evaluator"):
        try:
            again = bool(evaluate(env, params, _loop_data(st, loop, n)))
        except EvaluationFailed as exc:
            finish(loop, TaskStatus.FAILED_WITH_TERMINAL_ERROR, now, reason=exc.message)
            return True
    if not again:
        finish(loop, TaskStatus.COMPLETED, now)
        return True
    limit = params.get("max_iterations") or LOOP_LIMIT
    if n >= int(limit):
        finish(loop, TaskStatus.FAILED, now, reason=f"The loop reached its limit of {limit} iterations")
        return True
    start_iteration(st, env, loop, spec, n + 1)
    loop.a.output = {**loop.a.output, "iteration": n + 1}
    loop.a.updated_ms = now
    return True
