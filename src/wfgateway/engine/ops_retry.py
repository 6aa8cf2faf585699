"""Retry in place: a new attempt of every task whose latest attempt failed, under a vendor's RetryPolicy.

Inside a failed sub-workflow child (``resume_subworkflows``) and inside a dynamic container only the
failed nested tasks get new attempts; the parent task or container goes back IN_PROGRESS and is never
re-attempted itself.  Tasks are only *marked* here (``retry_pending``); the decider creates their new
attempts (``retried_from`` set, ``attempt + 1``) as soon as their dependencies hold — at once for the
failed tasks, later for canceled tasks that were merely downstream of the failure.
"""

from __future__ import annotations

from collections.abc import Callable

from wfgateway.core.errors import Conflict
from wfgateway.core.model import DYNAMIC, LOOP, SUBWORKFLOW, Execution, RetryPolicy
from wfgateway.core.statuses import ExecutionStatus
from wfgateway.engine.context import EngineContext
from wfgateway.engine.graph import Graph
from wfgateway.engine.looping import ITER_LOCAL, loop_output
from wfgateway.engine.ops_replay import _reopen_attempt, resume_parents
from wfgateway.engine.scopes import child_graph, definition_graph
from wfgateway.engine.state import AttRec, ExecState
from wfgateway.engine.unit import Unit, arm_deadline

RETRYABLE_EXECUTION = frozenset({ExecutionStatus.FAILED, ExecutionStatus.TIMED_OUT, ExecutionStatus.TERMINATED})


async def retry(ctx: EngineContext, execution_id: str, policy: RetryPolicy, tenant: str | None) -> Execution:
    async def op(unit: Unit) -> Callable[[], Execution]:
        st = await unit.require(execution_id, tenant)
        s = st.e.status
        if s not in RETRYABLE_EXECUTION:
            raise Conflict(
                f"Execution {execution_id} is {s.value}; only FAILED, TIMED_OUT or TERMINATED executions can be retried",
                details={"status": s.value},
            )
        if not await _retry_execution(unit, st, policy):
            raise Conflict(
                "There are no retryable tasks; restart the execution to run it again from the start",
                details={"reason": "nothing_to_retry", "status": s.value},
            )
        await resume_parents(unit, st, retry=True)
        return st.execution

    return await ctx.run(op)


async def _retry_execution(unit: Unit, st: ExecState, policy: RetryPolicy) -> bool:
    if not await _retry_scope(unit, st, None, definition_graph(st), policy):
        return False
    e = st.e
    e.status = ExecutionStatus.RUNNING
    e.reason = None
    e.last_retried_ms = unit.now
    if "failed_task" in e.extra:
        e.extra = {k: v for k, v in e.extra.items() if k != "failed_task"}
    st.needs_decide = True
    arm_deadline(st, unit.now)
    return True


async def _retry_scope(unit: Unit, st: ExecState, container: AttRec | None, graph: Graph, policy: RetryPolicy) -> bool:
    scope = container.a.id if container is not None else None
    found = False
    for ref in graph.order:
        cur = st.cur.get((scope, ref))
        if cur is None or cur.retry_pending:
            continue
        a = cur.a
        if a.status not in policy.retryable or a.branch == "error":
            continue
        spec = graph.by_ref[ref]
        if policy.skip_optional and spec.optional:
            continue
        if a.kind == SUBWORKFLOW and a.subworkflow_id and policy.resume_subworkflows:
            child = await unit.load(a.subworkflow_id)
            if child is not None and child.e.status in RETRYABLE_EXECUTION and await _retry_execution(
                unit, child, policy
            ):
                _reopen_attempt(cur, unit.now)
                found = True
                continue
        if a.kind == LOOP:
            it = st.cur.get((cur.a.id, ITER_LOCAL))
            if (it is not None and it.children is not None and it.a.status in policy.retryable
                    and await _retry_scope(unit, st, it, child_graph(it), policy)):
                _reopen_attempt(it, unit.now)  # the loop is retried in place, from the failed pass
                _reopen_attempt(cur, unit.now)
                cur.a.output = loop_output(st, cur, int(it.a.extra.get("iteration", 1)))
                cur.a.attempt = a.attempt + 1
                found = True
                continue
        if a.kind == DYNAMIC and cur.children is not None:
            if await _retry_scope(unit, st, cur, child_graph(cur), policy):
                _reopen_attempt(cur, unit.now)
                found = True
                continue
        cur.retry_pending = True
        if not policy.extra_attempt_past_limit:
            cur.retry_base = a.attempt + 1  # the new attempt gets the full retry budget again
        found = True
    return found
