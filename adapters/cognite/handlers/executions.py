"""Executions: run, list, retrieve detailed, cancel, retry; and tasks update."""

from __future__ import annotations

import uuid
from typing import Any

from starlette.responses import Response
from wfgateway.adapters.cognite import render
from wfgateway.adapters.cognite.errors import bad_request, conflict, not_found
from wfgateway.adapters.cognite.limits import check_concurrency
from wfgateway.adapters.cognite.nesting import check_references, cognite_tasks
from wfgateway.adapters.cognite.paging import encode, field
from wfgateway.adapters.cognite.service import RETRY_POLICY, CogniteService, json, limit_of

from wfgateway.core.errors import Conflict, NotFound
from wfgateway.core.model import WAIT, WORKER, Execution
from wfgateway.core.statuses import ExecutionStatus, TaskStatus
from wfgateway.dialect import Call
from wfgateway.exact_json import dumps

MAX_INPUT_BYTES = 100 * 1024
RETRYABLE = frozenset({ExecutionStatus.FAILED, ExecutionStatus.TIMED_OUT, ExecutionStatus.TERMINATED})
STATUS_FILTER = {
    "RUNNING": [ExecutionStatus.RUNNING, ExecutionStatus.PAUSED],
    "COMPLETED": [ExecutionStatus.COMPLETED],
    "FAILED": [ExecutionStatus.FAILED],
    "TIMED_OUT": [ExecutionStatus.TIMED_OUT],
    "TERMINATED": [ExecutionStatus.TERMINATED],
}
UPDATE_STATUS = {
    "COMPLETED": TaskStatus.COMPLETED,
    "FAILED": TaskStatus.FAILED,
    "FAILED_WITH_TERMINAL_ERROR": TaskStatus.FAILED_WITH_TERMINAL_ERROR,
}


async def load_execution(call: Call, execution_id: str) -> Execution:
    try:
        return await call.backend.get(execution_id, tenant=call.principal.tenant)
    except NotFound:
        raise not_found(f"Workflow execution {execution_id} not found", [{"id": execution_id}]) from None


async def subworkflow_children(call: Call, e: Execution) -> dict[str, Execution]:
    """The child executions of ``e``'s subworkflow tasks (and theirs), by id."""
    out: dict[str, Execution] = {}
    pending = [a.subworkflow_id for a in e.tasks if a.subworkflow_id]
    while pending:
        child_id = pending.pop()
        if child_id in out:
            continue
        try:
            child = await call.backend.get(child_id, tenant=call.principal.tenant)
        except NotFound:
            continue
        out[child_id] = child
        pending.extend(a.subworkflow_id for a in child.tasks if a.subworkflow_id)
    return out


async def start_execution(call: Call, svc: CogniteService, project: str, xid: str, version: str,
                          body: dict[str, Any], nonce: str) -> dict[str, Any]:
    try:
        d = await call.backend.get_definition(project, xid, version)
    except NotFound:
        raise not_found(f"Workflow version '{xid}' version '{version}' not found",
                        [{"workflowExternalId": xid, "version": version}]) from None
    await check_references(call.backend, project, xid, version, cognite_tasks(d))
    await check_concurrency(call.backend, svc.kv, project, xid)
    e = await call.backend.start(
        project, xid, version, dict(body.get("input") or {}), metadata=dict(body.get("metadata") or {}),
        execution_id=str(uuid.uuid4()), idempotency_key=f"cognite-nonce:{nonce}",
        idempotency_strategy="return_existing", dialect="cognite",
    )
    return render.accepted(e)


def check_input_size(value: Any, what: str = "The workflow input") -> None:
    """Cognite takes at most 100 KB of JSON as an execution's input and as a task update's output."""
    size = len(dumps(value))
    if size > MAX_INPUT_BYTES:
        raise bad_request(f"{what} is {size} bytes of JSON; at most {MAX_INPUT_BYTES} (100 KB) are allowed")


def handlers(svc: CogniteService) -> dict[str, Any]:
    async def run_workflow(call: Call) -> Response:
        project, xid, version = call.principal.tenant, call.path["workflowExternalId"], call.path["version"]
        nonce = call.body["authentication"]["nonce"]
        check_input_size(call.body.get("input") or {})
        result = await svc.sessions.once(
            project, nonce, "run", f"{xid}\x1f{version}",
            lambda: start_execution(call, svc, project, xid, version, call.body, nonce),
        )
        return json(result)

    async def list_executions(call: Call) -> Response:
        project = call.principal.tenant
        body = call.body or {}
        f = body.get("filter") or {}
        limit = limit_of(body.get("limit"))
        filters = f.get("workflowFilters") or []
        statuses = [s for name in f.get("status") or [] for s in STATUS_FILTER[name]] or None
        page = await call.backend.search(
            project, workflows=[(w["externalId"], w.get("version")) for w in filters] or None, statuses=statuses,
            created_from_ms=f.get("createdTimeStart"), created_to_ms=f.get("createdTimeEnd"),
            cursor=field(call, body.get("cursor"), "c", str, f), limit=limit, newest_first=True, count=False,
        )
        items = [e for e in page.items if e.parent_execution_id is None]
        cursor = encode(call, {"c": page.next_cursor}, f) if page.next_cursor else None
        return json({"items": [render.execution(e) for e in items], "nextCursor": cursor})

    async def retrieve_execution(call: Call) -> Response:
        execution_id = call.path["executionId"]
        try:
            e = await call.backend.get(execution_id, tenant=call.principal.tenant)
        except NotFound:
            # Cognite answers 400 here; the SDK's retrieve_detailed turns it into None
            raise bad_request(f"Workflow execution {execution_id} not found") from None
        children = await subworkflow_children(call, e)
        return json(render.execution_detailed(e, children, svc.translator))

    async def cancel_execution(call: Call) -> Response:
        execution_id = call.path["executionId"]
        reason = (call.body or {}).get("reason") or "cancelled"
        e = await load_execution(call, execution_id)
        if e.status == ExecutionStatus.TERMINATED:
            return json(render.execution(e))  # a re-sent cancel finds its own result
        if e.status.terminal:
            raise bad_request(f"Workflow execution {execution_id} cannot be cancelled: it is already in a "
                              f"terminal state (status={render.EXECUTION_STATUS[e.status]})")
        try:
            e = await call.backend.terminate(execution_id, reason, tenant=call.principal.tenant)
        except Conflict as exc:
            raise bad_request(exc.message) from None
        return json(render.execution(e))

    async def retry_execution(call: Call) -> Response:
        project, execution_id = call.principal.tenant, call.path["executionId"]
        nonce = call.body["authentication"]["nonce"]

        async def retry() -> dict[str, Any]:
            e = await load_execution(call, execution_id)
            if e.status not in RETRYABLE:
                raise bad_request(f"Workflow execution {execution_id} is not in a retryable state "
                                  f"(status={render.EXECUTION_STATUS[e.status]}); only FAILED, TIMED_OUT and "
                                  "TERMINATED executions can be retried")
            try:
                retried = await call.backend.retry(execution_id, RETRY_POLICY, tenant=project)
            except Conflict as exc:
                raise conflict(f"There are no retryable tasks in workflow execution {execution_id}: "
                               f"{exc.message}") from None
            return render.accepted(retried)

        await load_execution(call, execution_id)  # an unknown id is 404 before the nonce is looked at
        return json(await svc.sessions.once(project, nonce, "retry", execution_id, retry))

    async def update_task(call: Call) -> Response:
        project, task_id = call.principal.tenant, call.path["taskId"]
        status = UPDATE_STATUS[call.body["status"]]
        output = call.body.get("output") or {}
        check_input_size(output, "The task output")
        try:
            a = await call.backend.get_task(task_id, tenant=project)
        except NotFound:
            raise not_found(f"Task with id {task_id} not found", [{"id": task_id}]) from None
        if a.status.terminal:
            raise bad_request(f"Task with id {task_id} is already in a terminal state")
        if a.kind not in (WAIT, WORKER):  # WORKER: a task of another dialect that waits for a worker
            raise bad_request(f"Task with id {task_id} is not an asynchronously completed task "
                              "(only tasks with isAsyncComplete can be updated)")
        reason = None
        if status is not TaskStatus.COMPLETED:
            reason = str(output.get("reason") or output.get("error") or f"Task was set to {call.body['status']}")
        await call.backend.complete_task(task_id, status, tenant=project, output=output, reason=reason)
        e = await call.backend.get(a.execution_id, tenant=project)
        while e.parent_execution_id:  # a task of a subworkflow is shown within the top execution
            e = await call.backend.get(e.parent_execution_id, tenant=project)
        children = await subworkflow_children(call, e)
        rendered = render.executed_tasks(e, children, svc.translator)
        found = next((t for t in rendered if t["id"] == task_id), None)
        if found is None:  # the task belongs to a child execution that was not reachable
            a = await call.backend.get_task(task_id, tenant=project)
            found = render.task(a, render.TaskInfo("function", WAIT, None))
        return json(found)

    return {
        "runWorkflow": run_workflow,
        "listWorkflowExecutions": list_executions,
        "retrieveWorkflowExecution": retrieve_execution,
        "cancelWorkflowExecution": cancel_execution,
        "retryWorkflowExecution": retry_execution,
        "updateTaskStatus": update_task,
    }
