"""The decider: given an execution's state, schedule what is ready, skip dead branches, retry, finish.

Pure and synchronous: it only changes the in-memory ``ExecState`` (and lists follow-up work on it:
children to start, timers, http dispatches, queues to notify).  The unit of work persists the result
in the same transaction as the change that triggered the decision.
"""

from __future__ import annotations

from typing import Any, Protocol

from wfgateway.core.errors import EvaluationFailed
from wfgateway.core.model import (
    COMPUTE,
    CONDITION,
    DYNAMIC,
    HTTP,
    ITERATION,
    LOOP,
    NOOP,
    SET,
    SKIPPED_ON_REQUEST,
    SUBWORKFLOW,
    SWITCH,
    TERMINATE,
    WAIT,
    WORKER,
    TaskSpec,
)
from wfgateway.core.statuses import ExecutionStatus, TaskStatus
from wfgateway.engine import conditions
from wfgateway.engine.graph import Graph, graph_of
from wfgateway.engine.hooks import Evaluator, Expander
from wfgateway.engine.resolve import StateContext
from wfgateway.engine.state import AttRec, ExecState, new_attempt
from wfgateway.engine.templates import resolve
from wfgateway.engine.util import new_id, reason_of
from wfgateway.engine.validation import validate_specs

RUNNING = ExecutionStatus.RUNNING
AUTO_RETRY = frozenset({TaskStatus.FAILED, TaskStatus.TIMED_OUT})
ITER_LOCAL = "#iteration"  # the local name every iteration attempt of a loop shares (the latest is current)
LOOP_LIMIT = 1000  # iterations a loop may run unless its params.max_iterations says otherwise


class Env(Protocol):
    now: int
    expanders: dict[str, Expander]
    evaluators: dict[str, Evaluator]


def evaluate(env: Env, params: dict[str, Any], data: Any) -> Any:
    """Run the evaluator ``params["evaluator"]`` names; every failure is an EvaluationFailed."""
    name = params.get("evaluator")
    fn = env.evaluators.get(name) if isinstance(name, str) else None
    if fn is None:
        raise EvaluationFailed(f"No evaluator registered for '{name}'")
    try:
        return fn(params, data)
    except EvaluationFailed:
        raise
    except Exception as exc:  # the evaluator is adapter code: its bug fails the task, not the engine
        raise EvaluationFailed(f"{type(exc).__name__}: {exc}") from exc


_child_graphs: dict[int, tuple[list[TaskSpec], Graph]] = {}


def child_graph(rec: AttRec) -> Graph:
    children = rec.children or []
    got = _child_graphs.get(id(children))
    if got is None or got[0] is not children:
        if len(_child_graphs) > 2000:
            _child_graphs.clear()
        got = (children, Graph(children))
        _child_graphs[id(children)] = got
    return got[1]


def definition_graph(st: ExecState) -> Graph:
    return graph_of(st.definition, st.definition.tasks)


def containers(st: ExecState) -> list[AttRec]:
    if not st.dynamic:
        return []
    return [
        r for r in st.all
        if (r.a.kind == DYNAMIC or r.a.kind == ITERATION) and r.a.visible and r.a.status is TaskStatus.IN_PROGRESS
        and r.children is not None and st.cur.get((r.a.parent_attempt_id, r.local)) is r
    ]


def loops(st: ExecState) -> list[AttRec]:
    if not st.dynamic:
        return []
    return [
        r for r in st.all
        if r.a.kind == LOOP and r.a.visible and r.a.status is TaskStatus.IN_PROGRESS
        and st.cur.get((r.a.parent_attempt_id, r.local)) is r
    ]


def decide(st: ExecState, env: Env) -> None:
    """Run the state forward until nothing more can happen right now (only RUNNING executions move)."""
    e = st.e
    for _ in range(100000):
        if e.status is not RUNNING:
            return
        changed = _decide_scope(st, env, None, definition_graph(st))
        for c in containers(st):
            if e.status is not RUNNING:
                return
            changed = _decide_scope(st, env, c, child_graph(c)) or changed
        for loop in loops(st):
            if e.status is not RUNNING:
                return
            changed = advance_loop(st, env, loop) or changed
        if not changed:
            return
    raise RuntimeError("decider did not settle")


def _decide_scope(st: ExecState, env: Env, container: AttRec | None, graph: Graph) -> bool:
    scope = container.a.id if container is not None else None
    changed = False
    failed: AttRec | None = None
    failed_spec: TaskSpec | None = None
    done = True
    cur_map = st.cur
    for ref in graph.order:
        if st.e.status is not RUNNING:
            return True
        spec = graph.by_ref[ref]
        cur = cur_map.get((scope, ref))
        if cur is not None and not cur.retry_pending:
            s = cur.a.status
            if not s.terminal:
                done = False
                continue
            if s.successful or cur.a.branch == "error":
                continue
            if (s in AUTO_RETRY and cur.a.attempt - cur.retry_base < spec.retries
                    and not (s is TaskStatus.TIMED_OUT and spec.timeout_policy == "fail")):
                n = cur.a.attempt - cur.retry_base
                new = schedule(st, env, container, spec, retry_of=cur, delay_ms=retry_delay(spec, n))
                changed = changed or new.a.status.terminal
                done = False
                continue
            if spec.optional:
                cur.a.status = TaskStatus.COMPLETED_WITH_ERRORS
                cur.a.updated_ms = env.now
                changed = True
                continue
            if spec.continue_on_error:
                cur.a.branch = "error"
                cur.a.updated_ms = env.now
                changed = True
                continue
            if failed is None:
                failed, failed_spec = cur, spec
            done = False
            continue
        ready, live = _deps(st, scope, spec)
        if not ready:
            done = False
            continue
        new = schedule(st, env, container, spec, retry_of=cur) if live else skip(st, env, container, spec, cur)
        if new.a.status.terminal:
            changed = True  # only a finished task can make more tasks ready
        if not new.a.status.successful:
            done = False
    if st.e.status is not RUNNING:
        return True
    if failed is not None:
        timed_out = failed.a.status is TaskStatus.TIMED_OUT and not (
            failed_spec is not None and failed_spec.timeout_policy == "fail")
        if container is None:
            fail_execution(st, env, failed, timed_out=timed_out)
        else:
            _fail_container(st, env, container, failed, timed_out=timed_out)
        return True
    if done:
        if container is None:
            complete_execution(st, env, graph)
        else:
            finish(container, TaskStatus.COMPLETED, env.now,
                   output={r.local: r.a.output for r in _scope_currents(st, container.a.id, graph)
                           if r.a.status is not TaskStatus.SKIPPED})
        return True
    return changed


def _scope_currents(st: ExecState, scope: str | None, graph: Graph) -> list[AttRec]:
    out = []
    for ref in graph.order:
        r = st.cur.get((scope, ref))
        if r is not None:
            out.append(r)
    return out


def _deps(st: ExecState, scope: str | None, spec: TaskSpec) -> tuple[bool, bool]:
    if not spec.depends_on:
        return True, True
    live = False
    for edge in spec.depends_on:
        src = st.cur.get((scope, edge.ref))
        if src is None or src.retry_pending:
            return False, False
        s = src.a.status
        if not s.terminal:
            return False, False
        if s is TaskStatus.SKIPPED and scope is None and src.a.extra.get(SKIPPED_ON_REQUEST):
            # skipped by request: passes on what its own upstream gives, once that has finished
            up = definition_graph(st).by_ref.get(edge.ref)
            up_ready, up_live = _deps(st, scope, up) if up is not None else (True, True)
            if not up_ready:
                return False, False
            if up_live and (edge.branch is None or edge.branch == src.a.branch):
                live = True
            continue
        if s.successful:
            if s is not TaskStatus.SKIPPED and (edge.branch is None or edge.branch == src.a.branch):
                live = True
        elif src.a.branch == "error":
            if edge.branch == "error":
                live = True
        else:
            return False, False
    return True, live


def retry_delay(spec: TaskSpec, n: int) -> int:
    d = spec.retry_delay_ms or 0
    if d <= 0:
        return 0
    if spec.backoff == "linear":
        return int(d * (spec.backoff_scale or 1.0) * (n + 1))
    if spec.backoff == "exponential":
        return int(d * (2**n))
    return int(d)


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


def _new_attempt(st: ExecState, env: Env, container: AttRec | None, spec: TaskSpec, status: TaskStatus, *,
                 retry_of: AttRec | None, reuse: AttRec | None) -> AttRec:
    now = env.now
    if reuse is not None:
        id_, seq, key, number = reuse.a.id, reuse.a.seq, new_id(), reuse.a.attempt
    else:
        id_ = new_id()
        seq, key = st.next_seq(), id_
        number = retry_of.a.attempt + 1 if retry_of is not None else 0
    extra: dict[str, Any] = {}
    if container is not None:
        extra = {"local_ref": spec.ref}
        if "iteration" in container.a.extra:  # inside a loop (at any depth): which pass of which loop
            extra["iteration"] = container.a.extra["iteration"]
            extra["loop_id"] = container.a.extra.get("loop_id")
    a = new_attempt(
        id_, st.e.id, spec.ref if container is None else f"{container.a.ref}:{spec.ref}", spec.name or spec.ref,
        spec.kind, status, seq, number, retry_of.a.id if retry_of is not None else None,
        container.a.id if container is not None else None, now, extra,
    )
    rec = AttRec(a, key, st.e.tenant)
    if container is not None:
        rec.spec = spec
    if retry_of is not None:
        rec.retry_base = retry_of.retry_base
        retry_of.a.retried = True
        retry_of.retry_pending = False
        retry_of.a.updated_ms = now
    elif reuse is not None:
        rec.retry_base = reuse.a.attempt
    st.add(rec)
    return rec


def skip(st: ExecState, env: Env, container: AttRec | None, spec: TaskSpec, prev: AttRec | None) -> AttRec:
    rec = _new_attempt(st, env, container, spec, TaskStatus.SKIPPED, retry_of=prev, reuse=None)
    rec.a.ended_ms = env.now
    return rec


def schedule(st: ExecState, env: Env, container: AttRec | None, spec: TaskSpec, *, retry_of: AttRec | None = None,
             reuse: AttRec | None = None, input_override: dict[str, Any] | None = None, delay_ms: int = 0,
             retry_base: int | None = None) -> AttRec:
    """Create the next attempt of ``spec`` and start it (now, or after ``delay_ms``)."""
    rec = _new_attempt(st, env, container, spec, TaskStatus.SCHEDULED, retry_of=retry_of, reuse=reuse)
    if retry_base is not None:
        rec.retry_base = retry_base
    ctx = StateContext(st, container, rec)
    try:
        rec.a.input = input_override if input_override is not None else resolve(spec.input, ctx)
        params = resolve_params(spec, ctx)
    except Exception as exc:  # a bad template at run time fails the task, never the engine
        finish(rec, TaskStatus.FAILED, env.now, reason=f"Cannot resolve the task's templates: {exc}")
        return rec
    if delay_ms > 0:
        due = env.now + delay_ms
        rec.a.callback_after_ms = due
        rec.params = params or None
        st.timers.append((due, "wake" if spec.kind == WORKER else "start", rec.key, None))
        return rec
    begin(st, env, container, spec, rec, params)
    return rec


def resolve_params(spec: TaskSpec, ctx: StateContext) -> dict[str, Any]:
    """A task's params with their templates resolved -- except an inline sub-workflow definition,
    whose templates are the child's own (resolved when the child runs)."""
    if not spec.params:
        return {}
    inline = spec.params.get("definition") if spec.kind == SUBWORKFLOW else None
    own = spec.params if not isinstance(inline, dict) else {k: v for k, v in spec.params.items() if k != "definition"}
    resolved: dict[str, Any] = resolve(own, ctx)
    return resolved if not isinstance(inline, dict) else {**resolved, "definition": inline}


def begin(st: ExecState, env: Env, container: AttRec | None, spec: TaskSpec, rec: AttRec,
          params: dict[str, Any]) -> None:
    """Start a SCHEDULED attempt: queue it, dispatch it, or run a built-in kind right away."""
    kind, a, now = spec.kind, rec.a, env.now
    if kind == WORKER:
        if spec.timeout_ms:
            params = {**params, "timeout_ms": spec.timeout_ms}
        rec.params = params or None
        st.notify.add((rec.tenant, a.name))
        return
    if kind == HTTP:
        rec.params = params
        st.dispatch.append(rec.key)
        return
    a.started_ms = now
    if kind == NOOP:
        finish(rec, TaskStatus.COMPLETED, now, output=a.input)
    elif kind == SET:
        values = params.get("variables", a.input)
        if not isinstance(values, dict):
            finish(rec, TaskStatus.FAILED, now, reason="A set task needs an object of variables")
            return
        st.e.variables = {**st.e.variables, **values}
        finish(rec, TaskStatus.COMPLETED, now, output=dict(values))
    elif kind == COMPUTE:
        try:
            out = evaluate(env, params, a.input)
        except EvaluationFailed as exc:
            finish(rec, TaskStatus.FAILED, now, reason=exc.message, output=exc.output)
            return
        finish(rec, TaskStatus.COMPLETED, now, output=out if isinstance(out, dict) else {"result": out})
    elif kind == SWITCH:
        if "evaluator" in params:
            try:
                value = evaluate(env, params, a.input)
            except EvaluationFailed as exc:
                finish(rec, TaskStatus.FAILED, now, reason=exc.message, output=exc.output)
                return
        else:
            value = params["value"] if "value" in params else a.input.get("value")
        branch = conditions.select_case(value, params.get("cases", []))
        a.branch = branch
        finish(rec, TaskStatus.COMPLETED, now, output={"selected": branch})
    elif kind == CONDITION:
        src = params if "operator" in params or "left" in params else a.input
        op = src.get("operator", "equals")
        try:
            result = conditions.evaluate(src.get("left"), op, src.get("right"))
        except KeyError:
            finish(rec, TaskStatus.FAILED, now, reason=f"Unknown condition operator '{op}'")
            return
        a.branch = "true" if result else "false"
        finish(rec, TaskStatus.COMPLETED, now, output={"selected": a.branch, "result": result})
    elif kind == TERMINATE:
        _terminate_task(st, env, rec, params)
    elif kind == WAIT:
        a.status = TaskStatus.IN_PROGRESS
        due = params.get("until_ms")
        if due is None and params.get("duration_ms") is not None:
            due = now + int(params["duration_ms"])
        if due is not None:
            st.timers.append((int(due), "wait", rec.key, None))
        _arm_timeout(st, spec, rec, now)
    elif kind == SUBWORKFLOW:
        a.status = TaskStatus.IN_PROGRESS
        a.subworkflow_id = params.get("execution_id") or new_id()
        rec.params = params
        st.pending_children.append(rec)
        _arm_timeout(st, spec, rec, now)
    elif kind == DYNAMIC:
        _expand(st, env, container, spec, rec, params)
    elif kind == LOOP:
        a.status = TaskStatus.IN_PROGRESS
        rec.params = params
        a.output = {"iteration": 1}
        _arm_timeout(st, spec, rec, now)
        start_iteration(st, env, rec, spec, 1)
    else:  # pragma: no cover - validation rejects unknown kinds
        finish(rec, TaskStatus.FAILED, now, reason=f"Unknown task kind '{kind}'")


def _arm_timeout(st: ExecState, spec: TaskSpec, rec: AttRec, now: int) -> None:
    if spec.timeout_ms:
        st.timers.append((now + spec.timeout_ms, "timeout", rec.key, None))


def _expand(st: ExecState, env: Env, container: AttRec | None, spec: TaskSpec, rec: AttRec,
            params: dict[str, Any]) -> None:
    now = env.now
    name = params.get("expander") or st.definition.dialect or st.e.dialect
    fn = env.expanders.get(name)
    if fn is None:
        finish(rec, TaskStatus.FAILED, now, reason=f"No dynamic-task expander registered for '{name}'")
        return
    outer = set(definition_graph(st).by_ref)
    c = container
    while c is not None:
        outer.update(s.ref for s in c.children or ())
        c = st.by_id.get(c.a.parent_attempt_id) if c.a.parent_attempt_id else None
    try:
        specs = list(fn(params, spec, st.e))
        validate_specs(specs, frozenset(outer))
    except Exception as exc:  # the expander is vendor code: its failure fails the task
        finish(rec, TaskStatus.FAILED, now, reason=f"Dynamic task expansion failed: {reason_of(exc)}")
        return
    rec.children = specs
    rec.a.status = TaskStatus.IN_PROGRESS
    _arm_timeout(st, spec, rec, now)


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


def _terminate_task(st: ExecState, env: Env, rec: AttRec, params: dict[str, Any]) -> None:
    now = env.now
    status = str(params.get("status", "COMPLETED")).upper()
    target = {"COMPLETED": ExecutionStatus.COMPLETED, "FAILED": ExecutionStatus.FAILED,
              "TERMINATED": ExecutionStatus.TERMINATED}.get(status)
    if target is None:
        finish(rec, TaskStatus.FAILED, now, reason=f"Unknown terminate status '{status}'")
        return
    reason = params.get("reason")
    finish(rec, TaskStatus.COMPLETED, now, output=params.get("output") if isinstance(params.get("output"), dict)
           else {"status": status, "reason": reason})
    e = st.e
    output = params["output"] if isinstance(params.get("output"), dict) else None
    cancel_open(st, env)
    if output is None and target is ExecutionStatus.COMPLETED:
        output = workflow_output(st, definition_graph(st))
    end_execution(st, env, target, reason if reason is None else str(reason), output=output)
    e.extra = {**e.extra, "terminated_by": {"id": rec.a.id, "ref": rec.a.ref}}
    if target is ExecutionStatus.FAILED:
        mark_failure(st)


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


def _fail_container(st: ExecState, env: Env, container: AttRec, failed: AttRec, *, timed_out: bool) -> None:
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
    e.extra = {**e.extra, "failed_task": {"id": a.id, "ref": a.ref, "status": a.status.value, "reason": a.reason}}


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
