"""Synchronous execute: ``POST /api/workflow/execute/{name}/{version}``.

Start the workflow, then wait -- woken by its changes (engine/watch.py) -- until it ends, a
task named in ``waitUntilTaskRef`` is done, or a WAIT task without a timer or a YIELD task blocks it (in the
workflow or one of its running sub-workflows), or ``waitForSeconds`` run out; answer a
``SignalResponse`` shaped by ``returnStrategy`` (the Conductor server's ``WorkflowSignalResponder``).
``consistency`` is accepted: the gateway commits every start before it answers, which is what
DURABLE promises, so the three levels behave alike.
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass, field
from typing import Any

from starlette.responses import Response
from wfgateway.adapters.conductor.common import tenant
from wfgateway.adapters.conductor.render import SpecIndex, listed, reference_name, task_json, workflow_json
from wfgateway.adapters.conductor.responses import json_response
from wfgateway.adapters.conductor.workflow_api import start_from_request

from wfgateway.backends.bound import BoundBackend
from wfgateway.core.errors import InvalidArgument, NotFound
from wfgateway.core.model import Execution, TaskAttempt
from wfgateway.dialect import Call
from wfgateway.engine.watch import WATCHED

DEFAULT_WAIT_S = 10
MAX_WAIT_S = 3600  # the spec's bound on the query form of waitForSeconds
_POLL_S = 0.1  # only for backends the watch cannot see (an upstream vendor): the Conductor server's own tick
# the tasks a signal completes and a synchronous wait stops at: WAIT (without a timer), as the OSS server,
# and Orkes' YIELD, which only a signal (or a task update) ends
SIGNALLED_TYPES = ("WAIT", "YIELD")
_RUN_FIELDS = ("workflowId", "correlationId", "input", "output", "createTime", "updateTime", "status",
               "priority", "variables", "tasks", "createdBy")


@dataclass
class Blocking:
    tasks: list[tuple[TaskAttempt, Execution]] = field(default_factory=list)
    workflow: Execution | None = None


async def execute_workflow(call: Call) -> Response:
    q = call.query
    version = call.path["version"] or None  # version 0 means the latest
    wait_s = q.get("waitForSeconds") or DEFAULT_WAIT_S
    request_id = (q.get("requestId") or "").strip() or str(uuid.uuid4())
    refs = wait_refs(q.get("waitUntilTaskRef"))
    strategy = q.get("returnStrategy") or "TARGET_WORKFLOW"
    body = {**(call.body or {}), "name": call.path["name"], "version": version}
    local = _on_gateway_engine(call)
    workflow_id = await start_from_request(call, body, metadata={WATCHED: True} if local else None)
    return await await_signal_response(call, workflow_id, refs, strategy, request_id, float(wait_s))


def wait_refs(value: Any) -> list[str]:
    """The task reference names of a comma-separated ``waitUntilTaskRef``."""
    return [r.strip() for r in str(value or "").split(",") if r.strip()]


async def await_signal_response(call: Call, workflow_id: str, refs: list[str], strategy: str, request_id: str,
                                wait_s: float) -> Response:
    """Wait (woken by the workflow's changes) until it ends or blocks, then answer Conductor's
    SignalResponse for ``strategy``; the workflow as it is when ``wait_s`` runs out."""

    execution, settled = await await_settled(call, workflow_id, refs, wait_s)
    blocking = await blocking_tasks(call, execution, refs) if settled else Blocking()
    return json_response(_signal_response(execution, blocking, strategy, request_id, timed_out=not settled))


async def await_settled(call: Call, workflow_id: str, refs: list[str], wait_s: float) -> tuple[Execution, bool]:
    """The workflow once it ends or blocks (True), or as it is when ``wait_s`` runs out (False)."""

    async def load() -> Execution:
        return await call.backend.get(workflow_id, tenant=tenant(call))

    async def done(execution: Execution) -> bool:
        return execution.status.terminal or bool((await blocking_tasks(call, execution, refs)).tasks)

    watch = call.gateway.watch
    if watch is not None and _on_gateway_engine(call):
        return await watch.wait(workflow_id, load, done, wait_s)
    return await _poll(load, done, wait_s)


async def execute_workflow_as_api(call: Call) -> Response:
    """Orkes' ``POST /api/workflow/execute/{name}`` (conductor-python ``execute_workflow_as_api``): the
    body is the workflow input, ``version`` (latest when absent) a query value, ``requestId``,
    ``waitUntilTaskRef``, ``waitForSeconds`` and the idempotency pair are headers.  The answer is the
    workflow's output: 200 once the workflow has ended, 206 while it is still incomplete (the wait ran
    out, or it reached ``waitUntilTaskRef`` or an untimed WAIT task first)."""
    h = call.headers
    try:
        wait_s = int(h.get("waitForSeconds") or 0) or DEFAULT_WAIT_S
    except ValueError:
        raise InvalidArgument(f"waitForSeconds must be a number of seconds, not '{h.get('waitForSeconds')}'") from None
    refs = wait_refs(h.get("waitUntilTaskRef"))
    key = h.get("X-Idempotency-key")
    on_conflict = h.get("X-on-conflict") or "FAIL"
    body = {"name": call.path["name"], "version": call.query.get("version"), "input": dict(call.body or {}),
            **({"idempotencyKey": key, "idempotencyStrategy": on_conflict} if key else {})}
    local = _on_gateway_engine(call)
    workflow_id = await start_from_request(call, body, metadata={WATCHED: True} if local else None)
    execution, _ = await await_settled(call, workflow_id, refs, float(min(max(wait_s, 0), MAX_WAIT_S)))
    return json_response(execution.output or {}, status=200 if execution.status.terminal else 206)


def _on_gateway_engine(call: Call) -> bool:
    backend = call.backend
    inner = backend.inner if isinstance(backend, BoundBackend) else backend  # a route's binding wraps the engine
    return inner is call.gateway.engine


async def _poll(load: Any, done: Any, wait_s: float) -> tuple[Execution, bool]:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + wait_s
    while True:
        execution = await load()
        if await done(execution):
            return execution, True
        if loop.time() >= deadline:
            return execution, False
        await asyncio.sleep(min(_POLL_S, max(0.0, deadline - loop.time())))


async def blocking_tasks(call: Call, execution: Execution, refs: list[str], depth: int = 0) -> Blocking:
    """WAIT tasks without a timer and YIELD tasks that are not done, and tasks named in ``refs`` that are done --
    in the workflow, then inside its running sub-workflows."""
    found = Blocking()
    index = SpecIndex(execution.definition)
    for task in sorted(listed(execution.tasks), key=lambda t: t.seq):
        task_type = index.task_type(task, index.workflow_task(task))
        untimed = task_type == "YIELD" or not ({"duration", "until"} & set(task.input or {}))
        if (task_type in SIGNALLED_TYPES and not task.status.terminal and untimed) or (
                task.status.terminal and reference_name(task) in refs):
            found.tasks.append((task, execution))
            found.workflow = found.workflow or execution
        if task_type == "SUB_WORKFLOW" and task.subworkflow_id and not task.status.terminal and depth < 32:
            try:
                child = await call.backend.get(task.subworkflow_id, tenant=tenant(call))
            except NotFound:
                continue
            if call.gateway.watch is not None:  # a change down there must wake a wait on this workflow
                call.gateway.watch.note_parent(child.id, execution.id)
            inner = await blocking_tasks(call, child, refs, depth + 1)
            found.tasks.extend(inner.tasks)
            found.workflow = found.workflow or inner.workflow
    return found


def _signal_response(target: Execution, blocking: Blocking, strategy: str, request_id: str,
                     timed_out: bool) -> dict[str, Any]:
    common = {"targetWorkflowId": target.id, "targetWorkflowStatus": str(target.status), "responseType": strategy,
              "requestId": request_id, "signalTimeout": timed_out}
    if strategy in ("BLOCKING_TASK", "BLOCKING_TASK_INPUT"):
        if not blocking.tasks:
            # the Conductor server answers an empty body here; the gateway answers the target
            # workflow's id and status, which the SDK reads into the same (otherwise empty) SignalResponse
            return common
        task, owner = blocking.tasks[0]
        t = task_json(task, owner)
        run = {"taskType": t.get("taskType"), "taskId": t.get("taskId"), "referenceTaskName": t.get("referenceTaskName"),
               "retryCount": t.get("retryCount"), "taskDefName": t.get("taskDefName"),
               "retriedTaskId": t.get("retriedTaskId"), "workflowType": t.get("workflowType"),
               "reasonForIncompletion": t.get("reasonForIncompletion"), "priority": t.get("workflowPriority"),
               "workflowId": t.get("workflowInstanceId"), "correlationId": t.get("correlationId"),
               "status": t.get("status"), "input": t.get("inputData"), "output": t.get("outputData"),
               "createdBy": t.get("workerId"), "createTime": t.get("startTime"), "updateTime": t.get("updateTime")}
        return {**{k: v for k, v in run.items() if v is not None}, **common}
    shown = blocking.workflow if strategy == "BLOCKING_WORKFLOW" and blocking.workflow is not None else target
    return {**workflow_run(shown), **common}


def workflow_run(execution: Execution) -> dict[str, Any]:
    """Conductor's WorkflowRun of the execution: its id, status, input, output, variables and tasks."""
    doc = workflow_json(execution, include_tasks=True)
    run = {k: doc[k] for k in _RUN_FIELDS if k in doc}
    run.setdefault("updateTime", 0)
    return run
