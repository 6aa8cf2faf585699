"""The decider: given an execution's state, schedule what is ready, skip dead branches, retry, finish.

Pure and synchronous: it only changes the in-memory ``ExecState`` (and lists follow-up work on it:
children to start, timers, http dispatches, queues to notify).  The unit of work persists the result
in the same transaction as the change that triggered the decision.

This module decides *what* happens next in each scope (the definition, a container's body, a loop);
how an attempt is created and started is ``attempts.py``, how loops turn is ``looping.py``, how
attempts and executions end is ``ending.py`` -- the four import one way (decider -> attempts ->
looping -> ending), never in a circle.
"""

from __future__ import annotations

from wfgateway.core.model import DYNAMIC, ITERATION, LOOP, SKIPPED_ON_REQUEST, TaskSpec
from wfgateway.core.statuses import ExecutionStatus, TaskStatus
from wfgateway.engine.attempts import retry_delay, schedule, skip
from wfgateway.engine.ending import complete_execution, fail_container, fail_execution, finish
from wfgateway.engine.env import Env
from wfgateway.engine.graph import Graph
from wfgateway.engine.looping import advance_loop
from wfgateway.engine.scopes import child_graph, definition_graph
from wfgateway.engine.state import AttRec, ExecState

RUNNING = ExecutionStatus.RUNNING
AUTO_RETRY = frozenset({TaskStatus.FAILED, TaskStatus.TIMED_OUT})


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
            rules = cur.spec or spec  # an attempt that resolved its own rules (a name-resolved worker) keeps them
            if (s in AUTO_RETRY and cur.a.attempt - cur.retry_base < rules.retries
                    and not (s is TaskStatus.TIMED_OUT and rules.timeout_policy == "fail")):
                n = cur.a.attempt - cur.retry_base
                new = schedule(st, env, container, spec, retry_of=cur, delay_ms=retry_delay(rules, n))
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
            fail_container(st, env, container, failed, timed_out=timed_out)
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
