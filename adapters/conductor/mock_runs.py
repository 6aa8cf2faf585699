"""``POST /api/workflow/test``: run a definition with mocked task outputs (Conductor's
WorkflowTestService), in the engine's sandbox, so nothing is kept as a real run.

The OSS server starts a real workflow (its tasks in a random domain no worker polls) and feeds each
task waiting for outside work (SIMPLE, HTTP, WAIT, ...: not the operators it runs itself) the next
mock of its reference name, until the workflow ends or a waiting task has no mock left; a
SUB_WORKFLOW's child gets the mocks of ``subWorkflowTestRequest[ref]``.  The gateway does the same in
a sandbox and answers the Workflow as it stands then; its id is unknown to the gateway afterwards.
Mock ``executionTime`` / ``queueWaitTime`` are accepted, not simulated.
"""

from __future__ import annotations

from typing import Any

from starlette.responses import Response
from wfgateway.adapters.conductor.common import new_workflow_id, tenant
from wfgateway.adapters.conductor.metadata_api import translate
from wfgateway.adapters.conductor.render import listed, reference_name, workflow_json
from wfgateway.adapters.conductor.responses import json_response
from wfgateway.adapters.conductor.workflow_api import with_current_task_defs

from wfgateway.core.backend import Backend, Sandboxes
from wfgateway.core.errors import NotFound, NotImplementedByBackend
from wfgateway.core.model import HTTP, SUBWORKFLOW, WAIT, WORKER, WorkflowDefinition
from wfgateway.core.statuses import TaskStatus
from wfgateway.dialect import Call

MAX_LOOPS = 20_000  # as the OSS server's WorkflowTestService
MAX_DEPTH = 16
WAITING_KINDS = (WORKER, HTTP, WAIT)  # tasks that wait for outside work: they need a mock


async def test_workflow(call: Call) -> Response:
    if not isinstance(call.backend, Sandboxes):
        raise NotImplementedByBackend("a test run needs the gateway's engine (it runs in a sandbox)")
    body = call.body
    name, version = body["name"], body.get("version")
    definition = await _definition(call, name, version, body.get("workflowDef"))
    async with call.backend.sandbox(definition) as box:
        execution = await box.start(
            tenant(call), definition.name, definition.version, dict(body.get("input") or {}),
            correlation_id=body.get("correlationId"), priority=int(body.get("priority") or 0),
            execution_id=new_workflow_id(), dialect="conductor", definition=definition,
            metadata={"taskToDomain": body["taskToDomain"]} if body.get("taskToDomain") else None,
        )
        await _drive(box, tenant(call), execution.id, body, 0)
        return json_response(workflow_json(await box.get(execution.id, tenant=tenant(call)), include_tasks=True))


async def _definition(call: Call, name: str, version: Any, inline: Any) -> WorkflowDefinition:
    if isinstance(inline, dict) and inline:
        return await translate(call.backend, tenant(call), {**inline, "name": inline.get("name") or name})
    try:
        stored = await call.backend.get_definition(tenant(call), name, version)
    except NotFound:
        raise NotFound(f"No such workflow defined. name={name}, version={'null' if version is None else version}") \
            from None
    return await with_current_task_defs(call, stored)


def _mocks(request: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    mocks = request.setdefault("taskRefToMockOutput", {})
    return mocks if isinstance(mocks, dict) else {}


async def _drive(box: Backend, tenant_name: str, workflow_id: str, request: dict[str, Any], depth: int) -> None:
    """Feed mocks until the workflow ends, a waiting task has none left, or nothing moves."""
    mocks = _mocks(request)
    children = request.get("subWorkflowTestRequest") or {}
    for _ in range(MAX_LOOPS):
        execution = await box.get(workflow_id, tenant=tenant_name)
        if execution.status.terminal:
            return
        open_tasks = [t for t in listed(execution.tasks) if not t.status.terminal]
        waiting = [t for t in open_tasks if t.kind in WAITING_KINDS]
        if any(not mocks.get(reference_name(t)) for t in waiting):
            return
        moved = False
        for task in open_tasks:
            child = children.get(reference_name(task)) if task.kind == SUBWORKFLOW else None
            if isinstance(child, dict) and task.subworkflow_id and depth < MAX_DEPTH:
                before = await box.get(task.subworkflow_id, tenant=tenant_name)
                await _drive(box, tenant_name, task.subworkflow_id, child, depth + 1)
                after = await box.get(task.subworkflow_id, tenant=tenant_name)
                moved = moved or after.updated_ms != before.updated_ms or after.status != before.status
        for task in waiting:
            mock = mocks[reference_name(task)].pop(0)
            output = mock.get("output") if isinstance(mock.get("output"), dict) else {}
            await box.complete_task(task.id, TaskStatus(mock.get("status") or "COMPLETED"), tenant=tenant_name,
                                    execution_id=workflow_id, output=output)
            moved = True
        if not moved:
            return
