"""The search variants of /api/workflow and /api/tasks: full Workflow objects (search-v2), workflows
found through their tasks (search-by-tasks, -v2), task search (search: TaskSummary, search-v2: Task)
and the workflows of a list of ids (POST /api/workflow/bulk/search).  The grammar is the one
/api/workflow/search takes (search_query.py); every search is the tenant's own."""

from __future__ import annotations

import asyncio
import dataclasses
from typing import Any

import orjson
from starlette.responses import Response
from wfgateway.adapters.conductor.bulk_api import BULK_MESSAGE, MAX_REQUEST_ITEMS
from wfgateway.adapters.conductor.common import load_execution, tenant
from wfgateway.adapters.conductor.offset_window import OffsetWindow
from wfgateway.adapters.conductor.render import (
    DefinitionDocs,
    iso,
    summary_json,
    task_json,
    workflow_json,
    workflows_json,
)
from wfgateway.adapters.conductor.responses import json_response
from wfgateway.adapters.conductor.search_query import parse_task_query
from wfgateway.adapters.conductor.workflow_api import find_workflows

from wfgateway.core.backend import TaskSearch
from wfgateway.core.errors import GatewayError, NotFound, NotImplementedByBackend, ValidationFailed, Violation
from wfgateway.core.model import Execution, TaskAttempt
from wfgateway.dialect import Call
from wfgateway.exact_json import dumps, loads_body
from wfgateway.pipeline import Forwarding


async def search_workflows_v2(call: Call) -> Response:
    """As /search, with each result the Workflow itself (without its tasks, as the OSS server reads it)."""
    total, found = await find_workflows(call)
    return json_response({"totalHits": total, "results": workflows_json(found)})


async def find_tasks(call: Call) -> tuple[int, list[tuple[TaskAttempt, Execution]]]:
    """(totalHits, the page of tasks with their workflows) of a task search; a task whose workflow was
    removed meanwhile is left out and not counted, as the OSS server does."""
    backend = call.backend
    if not isinstance(backend, TaskSearch):
        raise NotImplementedByBackend("task search is kept by the gateway's engine; this backend has none")
    q = call.query
    asked_size = q.get("size")
    start, size = int(q.get("start") or 0), int(asked_size if asked_size is not None else 100)
    filters = parse_task_query(q.get("query"))
    free = (q.get("freeText") or "*").strip()
    task_ids = list(filters.task_ids) or ([] if free in ("", "*") else [free])  # free text: a task id
    newest_first = not str(q.get("sort") or "").upper().endswith(":ASC")
    window: OffsetWindow[TaskAttempt] = OffsetWindow(start, size)
    cursor: str | None = None
    while not window.full:
        page = await backend.search_tasks(
            tenant(call), name=filters.name, statuses=filters.statuses, execution_ids=filters.workflow_ids,
            task_ids=task_ids, scheduled_from_ms=filters.scheduled_from_ms, scheduled_to_ms=filters.scheduled_to_ms,
            cursor=cursor, limit=window.batch(), newest_first=newest_first,
            count=cursor is None,  # totalHits is counted once, with the first batch (not per 1,000 skipped)
        )
        cursor = page.next_cursor
        if not window.take(page):
            break
    total, attempts = window.total_hits, window.items

    async def read(execution_id: str) -> Execution | None:
        try:
            return await backend.get(execution_id, tenant=tenant(call))
        except NotFound:
            return None

    # the page's workflows are read at once: one after the other they cost a store round trip each
    wanted = list(dict.fromkeys(a.execution_id for a in attempts))
    executions = dict(zip(wanted, await asyncio.gather(*(read(eid) for eid in wanted)), strict=True))
    out: list[tuple[TaskAttempt, Execution]] = []
    for attempt in attempts:
        exe = executions[attempt.execution_id]
        if exe is None:
            total -= 1
        else:
            out.append((attempt, exe))
    return total, out


def task_summary_json(attempt: TaskAttempt, exe: Execution) -> dict[str, Any]:
    """Conductor's TaskSummary: times as ISO strings, input and output as JSON text."""
    task = task_json(attempt, exe)
    doc: dict[str, Any] = {
        "workflowId": exe.id,
        "workflowType": exe.definition_name,
        "correlationId": exe.correlation_id,
        "scheduledTime": iso(attempt.scheduled_ms),
        "startTime": iso(attempt.started_ms),
        "updateTime": iso(attempt.updated_ms),
        "endTime": iso(attempt.ended_ms),
        "status": task["status"],
        "reasonForIncompletion": task.get("reasonForIncompletion"),
        "executionTime": max(0, attempt.ended_ms - attempt.started_ms) if attempt.ended_ms else 0,
        "queueWaitTime": task["queueWaitTime"],
        "taskDefName": task["taskDefName"],
        "taskType": task["taskType"],
        "input": dumps(task.get("inputData") or {}).decode(),
        "output": dumps(task.get("outputData") or {}).decode(),
        "taskId": attempt.id,
        "workflowPriority": exe.priority,
    }
    return {k: v for k, v in doc.items() if v is not None}


async def search_tasks(call: Call) -> Response:
    total, found = await find_tasks(call)
    return json_response({"totalHits": total, "results": [task_summary_json(a, e) for a, e in found]})


async def search_tasks_v2(call: Call) -> Response:
    total, found = await find_tasks(call)
    return json_response({"totalHits": total, "results": [task_json(a, e) for a, e in found]})


def _distinct(found: list[tuple[TaskAttempt, Execution]]) -> list[Execution]:
    seen: dict[str, Execution] = {}
    for _, exe in found:
        seen.setdefault(exe.id, exe)
    return list(seen.values())


async def search_workflows_by_tasks(call: Call) -> Response:
    """The workflows of the tasks a task search finds, each once; totalHits is the tasks' (as the OSS server)."""
    total, found = await find_tasks(call)
    return json_response({"totalHits": total, "results": [summary_json(e) for e in _distinct(found)]})


async def search_workflows_by_tasks_v2(call: Call) -> Response:
    total, found = await find_tasks(call)
    return json_response({"totalHits": total,
                          "results": workflows_json(_distinct(found))})


async def bulk_search(call: Call) -> Response:
    """BulkResponse<Workflow>: each listed workflow (with its tasks unless ``includeTasks=false``) among
    the successes, in order, and each id it cannot read with its own message, as the OSS server's
    WorkflowBulkService.searchWorkflow; 1 to 1,000 ids.  Ids another backend owns are read there."""
    ids = [str(i) for i in call.body or []]
    problem = ("WorkflowIds list cannot be null." if not ids else
               f"Cannot process more than {MAX_REQUEST_ITEMS} workflows. Please use multiple requests."
               if len(ids) > MAX_REQUEST_ITEMS else None)
    if problem:
        raise ValidationFailed(problem, violations=[Violation("searchWorkflow", "workflowIds", problem)])
    include_tasks = bool(call.query.get("includeTasks", True))
    splitter = call.gateway.splitter
    groups = (await splitter.split(call.target, call, ids) if splitter is not None
              and call.target is not None else [(call.backend, ids)])
    found: list[dict[str, Any]] = []
    errors: dict[str, str] = {}
    definitions = DefinitionDocs()
    for binding, group in groups:
        if isinstance(binding, Forwarding):
            narrowed = dataclasses.replace(call, body=group, raw_body=orjson.dumps(group))
            try:
                response = await binding.forward(call.target, narrowed)
                document = loads_body(getattr(response, "body", b"") or b"null")
            except (GatewayError, orjson.JSONDecodeError) as exc:
                document = {"bulkErrorResults": {i: getattr(exc, "message", str(exc)) for i in group}}
            if isinstance(document, dict):
                found.extend(document.get("bulkSuccessfulResults") or [])
                errors.update({str(k): str(v) for k, v in (document.get("bulkErrorResults") or {}).items()})
            continue
        here = dataclasses.replace(call, backend=binding)
        for workflow_id in group:
            try:
                found.append(workflow_json(await load_execution(here, workflow_id), include_tasks, definitions))
            except GatewayError as exc:
                errors[workflow_id] = exc.message
    return json_response({"bulkErrorResults": errors, "bulkSuccessfulResults": found, "message": BULK_MESSAGE})


HANDLERS = {
    "bulkSearchWorkflows": bulk_search,
    "searchWorkflowsV2": search_workflows_v2,
    "searchWorkflowsByTasks": search_workflows_by_tasks,
    "searchWorkflowsByTasksV2": search_workflows_by_tasks_v2,
    "searchTasks": search_tasks,
    "searchTasksV2": search_tasks_v2,
}
