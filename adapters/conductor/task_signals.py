"""Completing a task without knowing its id: by reference name, or by signalling the workflow's
blocked WAIT task (the Conductor server's TaskResource / TaskServiceImpl) or Orkes' YIELD task.

* ``POST /api/tasks/{workflowId}/{taskRefName}/{status}``: the first unfinished task with that
  reference name (inside a DO_WHILE also its ``<ref>__<n>`` iterations) gets the status and the body
  merged into its output; answers the task id as text, or an empty 200 when nothing is pending.
* ``.../sync``: the same, 404 ``Found no running task <ref> of workflow <id> to update`` when nothing
  is pending; answers the workflow with its tasks.
* ``POST /api/tasks/{workflowId}/{status}/signal``: the first unfinished WAIT or YIELD task of the workflow,
  else of its running sub-workflows; empty 200 either way.
* ``.../signal/sync``: 404 ``Found no blocked task in workflow <id> to signal`` when none; then waits
  (``timeoutMillis``, 5000) as the synchronous execute does and answers a SignalResponse.
"""

from __future__ import annotations

import uuid
from typing import Any

from starlette.responses import Response
from wfgateway.adapters.conductor.common import load_execution, tenant
from wfgateway.adapters.conductor.execute_api import SIGNALLED_TYPES, await_signal_response
from wfgateway.adapters.conductor.render import SpecIndex, listed, local_name, reference_name, workflow_json
from wfgateway.adapters.conductor.responses import empty_response, json_response, text_response

from wfgateway.core.errors import NotFound
from wfgateway.core.model import Execution, TaskAttempt
from wfgateway.core.statuses import TaskStatus
from wfgateway.dialect import Call

DEFAULT_SIGNAL_TIMEOUT_MS = 5000


def pending_by_ref(execution: Execution, ref: str) -> TaskAttempt | None:
    open_tasks = [t for t in sorted(listed(execution.tasks), key=lambda t: t.seq) if not t.status.terminal]
    for task in open_tasks:
        if reference_name(task) == ref:
            return task
    for task in open_tasks:  # a task inside a loop iteration, named without its __<n>
        if local_name(task) == ref:
            return task
    return None


async def _blocked_wait(call: Call, execution: Execution, depth: int = 0) -> TaskAttempt | None:
    index = SpecIndex(execution.definition)
    tasks = sorted(listed(execution.tasks), key=lambda t: t.seq)
    for task in tasks:
        if not task.status.terminal and index.task_type(task, index.workflow_task(task)) in SIGNALLED_TYPES:
            return task
    for task in tasks:
        if (task.subworkflow_id and not task.status.terminal and depth < 32
                and index.task_type(task, index.workflow_task(task)) == "SUB_WORKFLOW"):
            try:
                child = await call.backend.get(task.subworkflow_id, tenant=tenant(call))
            except NotFound:
                continue
            found = await _blocked_wait(call, child, depth + 1)
            if found is not None:
                return found
    return None


async def _complete(call: Call, task: TaskAttempt, output: dict[str, Any], worker_id: str | None) -> TaskAttempt:
    return await call.backend.complete_task(
        task.id, TaskStatus(call.path["status"]), tenant=tenant(call), execution_id=task.execution_id,
        output={**(task.output or {}), **output}, worker_id=worker_id or task.worker_id,
    )


async def update_task_by_ref_name(call: Call) -> Response:
    try:
        execution = await call.backend.get(call.path["workflowId"], tenant=tenant(call))
    except NotFound:
        return text_response("")  # Conductor finds no pending task in a workflow it does not know
    task = pending_by_ref(execution, call.path["taskRefName"])
    if task is None:
        return text_response("")
    updated = await _complete(call, task, dict(call.body or {}), call.query.get("workerid"))
    return text_response(updated.id)


async def update_task_by_ref_name_sync(call: Call) -> Response:
    workflow_id, ref = call.path["workflowId"], call.path["taskRefName"]
    try:
        execution = await call.backend.get(workflow_id, tenant=tenant(call))
    except NotFound:
        execution = None
    task = pending_by_ref(execution, ref) if execution is not None else None
    if task is None:
        raise NotFound(f"Found no running task {ref} of workflow {workflow_id} to update")
    await _complete(call, task, dict(call.body or {}), call.query.get("workerid"))
    return json_response(workflow_json(await load_execution(call, task.execution_id), include_tasks=True))


async def signal_task(call: Call) -> Response:
    execution = await load_execution(call, call.path["workflowId"])
    task = await _blocked_wait(call, execution)
    if task is not None:
        await _complete(call, task, dict(call.body or {}), None)
    return empty_response()


async def signal_task_sync(call: Call) -> Response:
    workflow_id = call.path["workflowId"]
    execution = await load_execution(call, workflow_id)
    task = await _blocked_wait(call, execution)
    if task is None:
        raise NotFound(f"Found no blocked task in workflow {workflow_id} to signal")
    await _complete(call, task, dict(call.body or {}), None)
    timeout_ms = call.query.get("timeoutMillis")
    timeout_ms = DEFAULT_SIGNAL_TIMEOUT_MS if timeout_ms is None else int(timeout_ms)
    return await await_signal_response(call, workflow_id, [], call.query.get("returnStrategy") or "TARGET_WORKFLOW",
                                       str(uuid.uuid4()), max(timeout_ms, 0) / 1000)


HANDLERS = {
    "updateTaskByRefName": update_task_by_ref_name,
    "updateTaskByRefNameSync": update_task_by_ref_name_sync,
    "signalWorkflowTask": signal_task,
    "signalWorkflowTaskSync": signal_task_sync,
}
