"""An attempt's life from creation to start: a new attempt (first, retry or re-run), its templates
resolved, then begun -- queued for a worker, dispatched over HTTP, put on a timer, expanded, or run
right away when it is a built-in kind."""

from __future__ import annotations

from typing import Any

from wfgateway.core.errors import EvaluationFailed
from wfgateway.core.model import (
    COMPUTE,
    CONDITION,
    DOMAIN,
    DYNAMIC,
    HTTP,
    LOOP,
    NOOP,
    SET,
    START,
    SUBWORKFLOW,
    SWITCH,
    TERMINATE,
    WAIT,
    WORKER,
    Held,
    TaskSpec,
)
from wfgateway.core.statuses import ExecutionStatus, TaskStatus
from wfgateway.engine import conditions
from wfgateway.engine.codec import LIMITS, RULES_FROM
from wfgateway.engine.domains import domain_for
from wfgateway.engine.ending import (
    cancel_open,
    end_execution,
    end_unscheduled,
    finish,
    mark_failure,
    workflow_output,
)
from wfgateway.engine.env import Env, evaluate
from wfgateway.engine.looping import start_iteration
from wfgateway.engine.resolve import StateContext
from wfgateway.engine.scopes import definition_graph
from wfgateway.engine.state import AttRec, ExecState, PendingRules, new_attempt
from wfgateway.engine.templates import resolve
from wfgateway.engine.util import new_id, reason_of
from wfgateway.engine.validation import validate_specs


def retry_delay(spec: TaskSpec, n: int) -> int:
    d = spec.retry_delay_ms or 0
    if d <= 0:
        return 0
    if spec.backoff == "linear":
        return int(d * (spec.backoff_scale or 1.0) * (n + 1))
    if spec.backoff == "exponential":
        return int(d * (2**n))
    return int(d)


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
    if spec.kind == WORKER and "name" in spec.params:  # its queue is named now
        name = params.get("name")
        if not isinstance(name, str) or not name:
            _unnamed(st, env, rec, params)
            return rec
        rec.a.name = name
        if isinstance(spec.params.get(RULES_FROM), dict):  # its rules are those of the name: looked up by the unit
            st.pending_rules.append(PendingRules(rec, container, spec, params, delay_ms))
            return rec
    start_scheduled(st, env, container, spec, rec, params, delay_ms)
    return rec


def _unnamed(st: ExecState, env: Env, rec: AttRec, params: dict[str, Any]) -> None:
    """A worker whose name resolved to nothing fails with params.missing_name_reason (or what the
    evaluator params.missing_name_from makes of its input); with params.unresolved_ends_run its run
    ends FAILED with that reason instead, and the attempt is not kept."""
    reason = str(params.get("missing_name_reason") or "The worker task's name resolved to nothing")
    source = params.get("missing_name_from")
    if isinstance(source, dict):
        try:
            reason = str(evaluate(env, source, rec.a.input))
        except EvaluationFailed as exc:
            reason = exc.message
    if params.get("unresolved_ends_run"):
        end_unscheduled(st, env, rec, reason)
    else:
        finish(rec, TaskStatus.FAILED, env.now, reason=reason)


def start_scheduled(st: ExecState, env: Env, container: AttRec | None, spec: TaskSpec, rec: AttRec,
                    params: dict[str, Any], delay_ms: int) -> None:
    """Start a SCHEDULED attempt whose templates are resolved: now, or after ``delay_ms``."""
    domain = domain_for(st.e.metadata, st.e.tenant, rec.a.name, env.pollers, env.now) if spec.kind == WORKER else None
    if domain is not None:  # the queue partition only a poll naming this domain draws from
        rec.a.extra = {**rec.a.extra, DOMAIN: domain}
    if delay_ms > 0:
        due = env.now + delay_ms
        rec.a.callback_after_ms = due
        rec.params = (worker_params(spec, params) if spec.kind == WORKER else params) or None
        st.timers.append((due, "wake" if spec.kind == WORKER else "start", rec.key, None))
        return
    begin(st, env, container, spec, rec, params)


def resolve_params(spec: TaskSpec, ctx: StateContext) -> dict[str, Any]:
    """A task's params with their templates resolved -- except an inline sub-workflow definition,
    whose templates are the child's own (resolved when the child runs)."""
    if not spec.params:
        return {}
    inline = spec.params.get("definition") if spec.kind == SUBWORKFLOW else None
    own = spec.params if not isinstance(inline, dict) else {k: v for k, v in spec.params.items() if k != "definition"}
    resolved: dict[str, Any] = resolve(own, ctx)
    return resolved if not isinstance(inline, dict) else {**resolved, "definition": inline}


def worker_params(spec: TaskSpec, params: dict[str, Any]) -> dict[str, Any]:
    """What the poll's claim (tasks.py) reads from a queued worker attempt: its timeout and poll limits,
    also when it waits out a delay (a retry) before joining the queue."""
    if spec.timeout_ms:
        params = {**params, "timeout_ms": spec.timeout_ms}
    if spec.limits is not None and spec.limits.active:
        params = {**params, LIMITS: [spec.limits.max_in_progress, spec.limits.per_window, spec.limits.window_ms]}
    return params


def begin(st: ExecState, env: Env, container: AttRec | None, spec: TaskSpec, rec: AttRec,
          params: dict[str, Any]) -> None:
    """Start a SCHEDULED attempt: queue it, dispatch it, or run a built-in kind right away."""
    kind, a, now = spec.kind, rec.a, env.now
    if kind == WORKER:
        rec.params = worker_params(spec, params) or None
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
        output = out if isinstance(out, dict) else {"result": out}
        if params.get("hold") is True or isinstance(out, Held):  # ended by whoever completes the task
            a.status, a.output = TaskStatus.IN_PROGRESS, dict(output)
            _arm_timeout(st, spec, rec, now)
            return
        finish(rec, TaskStatus.COMPLETED, now, output=output)
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
    elif kind == START:
        _start_request(st, env, rec, params)
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


def _start_request(st: ExecState, env: Env, rec: AttRec, params: dict[str, Any]) -> None:
    """A start task: what it starts (its params, or what their evaluator makes of them) is checked here
    and started when the unit settles (the new execution is written with this one)."""
    request: Any = params
    if "evaluator" in params:
        try:
            request = evaluate(env, params, rec.a.input)
        except EvaluationFailed as exc:
            finish(rec, TaskStatus.FAILED, env.now, reason=exc.message, output=exc.output)
            return
    problem = _bad_request(request)
    if problem:
        finish(rec, TaskStatus.FAILED, env.now, reason=problem)
        return
    rec.a.status = TaskStatus.IN_PROGRESS
    st.pending_starts.append((rec, {**request, "output_key": params.get("output_key") or "execution_id"}))


def _bad_request(request: Any) -> str | None:
    if not isinstance(request, dict):
        return "A start task needs an object naming the workflow to start"
    if not isinstance(request.get("name"), str) or not request["name"]:
        return "A start task needs the name of the workflow to start"
    for key in ("input", "metadata"):
        if request.get(key) is not None and not isinstance(request[key], dict):
            return f"A start task's {key} must be an object"
    if request.get("priority") is not None and not isinstance(request["priority"], int):
        return "A start task's priority must be an integer"
    return None


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
