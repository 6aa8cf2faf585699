"""Orkes' changes to a running workflow's state (conductor-python ``OrkesWorkflowClient``).

* ``POST /api/workflow/{workflowId}/variables`` (``update_variables``): the body is merged into the
  workflow's variables; answers the workflow with its tasks.
* ``POST /api/workflow/{workflowId}/state`` (``update_state``): a WorkflowStateUpdate
  ``{taskReferenceName, taskResult, variables}``.  The variables are merged first, so the decision the
  task's result brings about already reads them (a SWITCH on ``${workflow.variables.x}`` right after the
  task); then the task with that reference name gets the TaskResult as ``POST /api/tasks`` records one.
  A task of that name that has already ended is left as it is (a task update of an ended task is
  ignored, as the Conductor server ignores it); no task of that name at all is a 404.  Then it waits as
  the synchronous execute does -- until the workflow ends, a ``waitUntilTaskRef`` task is done, an
  untimed WAIT or a YIELD task blocks it, or ``waitForSeconds`` (10) run out; 0 answers at once -- and
  answers a WorkflowRun with the ``requestId``.

Both refuse a workflow that has ended with 409: there is nothing left to run that could read the
variables or the task's result.
"""

from __future__ import annotations

import uuid
from typing import Any

from starlette.responses import Response
from wfgateway.adapters.conductor.common import load_execution, tenant
from wfgateway.adapters.conductor.execute_api import DEFAULT_WAIT_S, await_settled, wait_refs, workflow_run
from wfgateway.adapters.conductor.render import listed, reference_name, workflow_json
from wfgateway.adapters.conductor.responses import json_response
from wfgateway.adapters.conductor.task_signals import pending_by_ref
from wfgateway.adapters.conductor.tasks_api import complete_with_result

from wfgateway.core.backend import VariableControl
from wfgateway.core.errors import Conflict, NotFound, NotImplementedByBackend
from wfgateway.core.model import Execution
from wfgateway.dialect import Call


def _variable_control(call: Call) -> VariableControl:
    if not isinstance(call.backend, VariableControl):
        raise NotImplementedByBackend("changing a running workflow's variables needs the gateway's engine")
    return call.backend


def _ended(execution: Execution) -> Conflict:
    return Conflict(f"Workflow {execution.id} is in terminal state {execution.status}; "
                    "its state can no longer be updated")


async def _running(call: Call, workflow_id: str) -> Execution:
    execution = await load_execution(call, workflow_id)
    if execution.status.terminal:
        raise _ended(execution)
    return execution


async def _set_variables(call: Call, execution: Execution, variables: dict[str, Any]) -> None:
    try:
        await _variable_control(call).set_variables(execution.id, variables, tenant=tenant(call))
    except Conflict:  # it ended in between
        raise _ended(await load_execution(call, execution.id)) from None


async def update_workflow_variables(call: Call) -> Response:
    execution = await _running(call, call.path["workflowId"])
    await _set_variables(call, execution, dict(call.body or {}))
    return json_response(workflow_json(await load_execution(call, execution.id), include_tasks=True))


async def update_workflow_and_task_state(call: Call) -> Response:
    q, body = call.query, dict(call.body or {})
    execution = await _running(call, call.path["workflowId"])
    ref, result = str(body.get("taskReferenceName") or ""), body.get("taskResult")  # the spec: a result has a ref
    task = None
    if result is not None:
        task = pending_by_ref(execution, ref)
        if task is None and not any(reference_name(t) == ref for t in listed(execution.tasks)):
            raise NotFound(f"No task {ref} in workflow {execution.id} to update")
    if body.get("variables"):
        await _set_variables(call, execution, body["variables"])
    if task is not None and result is not None:
        await complete_with_result(call, {**result, "taskId": task.id, "workflowInstanceId": task.execution_id})
    request_id = (q.get("requestId") or "").strip() or str(uuid.uuid4())
    refs = wait_refs(q.get("waitUntilTaskRef"))
    wait_s = q.get("waitForSeconds")
    settled, _ = await await_settled(call, execution.id, refs, float(DEFAULT_WAIT_S if wait_s is None else wait_s))
    return json_response({**workflow_run(settled), "requestId": request_id})


HANDLERS = {
    "updateWorkflowVariables": update_workflow_variables,
    "updateWorkflowAndTaskState": update_workflow_and_task_state,
}
