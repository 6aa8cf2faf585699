"""Handlers of /api/workflow: start, get, search, terminate, pause, resume, rerun, retry, restart."""

from __future__ import annotations

import ast
import contextlib
import json
from dataclasses import replace
from typing import Any

from starlette.responses import Response
from wfgateway.adapters.conductor import errors as msg
from wfgateway.adapters.conductor.common import (
    Caller,
    load_execution,
    new_workflow_id,
    no_such_workflow,
    tenant,
)
from wfgateway.adapters.conductor.definitions import DEF_KEY, DIALECT
from wfgateway.adapters.conductor.metadata_api import translate
from wfgateway.adapters.conductor.offset_window import OffsetWindow
from wfgateway.adapters.conductor.render import (
    DefinitionDocs,
    summary_json,
    workflow_json,
    workflow_status_json,
)
from wfgateway.adapters.conductor.responses import empty_response, json_response, text_response
from wfgateway.adapters.conductor.search_query import Filters, parse_query

from wfgateway.core.backend import IdSearch, TaskControl
from wfgateway.core.errors import Conflict, InvalidArgument, NotFound, NotImplementedByBackend
from wfgateway.core.model import TASK_DOMAINS, Execution, RetryPolicy, WorkflowDefinition
from wfgateway.core.statuses import ExecutionStatus
from wfgateway.dialect import Call
from wfgateway.exact_json import dumps

_STRATEGIES = {"FAIL": "fail", "RETURN_EXISTING": "return_existing"}


def _java(value: Any) -> str:
    """How Java prints a possibly-null Integer in Conductor's messages."""
    return "null" if value is None else str(value)


def _label(exe: Execution, with_status: bool = True) -> str:
    return msg.label(exe.definition_name, exe.definition_version, exe.id, str(exe.status) if with_status else None)


async def _start(call: Caller, name: str, version: Any, input: dict[str, Any], *, unknown: NotFound,
                 correlation_id: str | None = None, priority: int = 0, idempotency_key: str | None = None,
                 strategy: str | None = None, inline: dict[str, Any] | None = None,
                 task_to_domain: dict[str, Any] | None = None, metadata: dict[str, Any] | None = None,
                 execution_id: str | None = None) -> str:
    snapshot: WorkflowDefinition | None
    if inline is not None:
        definition = snapshot = await translate(call.backend, tenant(call), inline)
    else:
        try:
            stored = await call.backend.get_definition(tenant(call), name, version)
        except NotFound:
            raise unknown from None
        definition = await with_current_task_defs(call, stored)
        # the backend runs its stored definition unless a TaskDef changed since it was registered
        snapshot = definition if definition is not stored else None
    template = (definition.extra.get("conductorDef") or {}).get("inputTemplate") or {}
    if task_to_domain:  # shown as given; the engine queues worker tasks by it
        metadata = {**(metadata or {}), "taskToDomain": task_to_domain, TASK_DOMAINS: task_to_domain}
    metadata = metadata or None
    try:
        execution = await call.backend.start(
            tenant(call), definition.name, definition.version, {**template, **input},
            correlation_id=correlation_id, metadata=metadata, execution_id=execution_id or new_workflow_id(),
            idempotency_key=idempotency_key or None, idempotency_strategy=_STRATEGIES.get(strategy or "FAIL", "fail"),
            priority=priority, dialect="conductor", definition=snapshot,
        )
    except Conflict as exc:
        if idempotency_key:
            raise Conflict(f"Workflow with idempotencyKey {idempotency_key} already exists "
                           f"(idempotencyStrategy FAIL): {exc.message}") from None
        raise
    return execution.id


async def with_current_task_defs(call: Caller, definition: WorkflowDefinition) -> WorkflowDefinition:
    """The definition with the TaskDefs its tasks name as they are now: the OSS server looks them up
    when a run starts, and the run keeps that snapshot (a TaskDef changed later affects later runs).
    A definition another dialect wrote has no TaskDefs and is run as stored."""
    doc = definition.extra.get(DEF_KEY)
    if not isinstance(doc, dict) or definition.dialect != DIALECT:
        return definition
    current = await translate(call.backend, definition.tenant, doc)
    if current.tasks == definition.tasks:
        return definition
    # the registration's times, so that unchanged TaskDefs give the registered snapshot (one stored body)
    current.created_ms, current.updated_ms = definition.created_ms, definition.updated_ms
    return current


async def start_workflow_by_name(call: Call) -> Response:
    name, version = call.path["name"], call.query.get("version")
    key = call.headers.get("X-Idempotency-key")
    on_conflict = call.headers.get("X-on-conflict") or "FAIL"
    workflow_id = await _start(
        call, name, version, dict(call.body or {}),
        unknown=NotFound(f"No such workflow found by name: {name}, version: {_java(version)}"),
        correlation_id=call.query.get("correlationId"), priority=int(call.query.get("priority") or 0),
        idempotency_key=key, strategy=on_conflict if on_conflict in _STRATEGIES else "FAIL",
    )
    return text_response(workflow_id)


async def start_workflow(call: Call) -> Response:
    return text_response(await start_from_request(call, call.body))


async def start_from_request(call: Caller, body: dict[str, Any], metadata: dict[str, Any] | None = None,
                             execution_id: str | None = None) -> str:
    """Start from a StartWorkflowRequest; the new workflow's id (``execution_id`` when the caller chose it)."""
    name, version = body["name"], body.get("version")
    return await _start(
        call, name, version, dict(body.get("input") or {}),
        unknown=NotFound(f"No such workflow defined. name={name}, version={_java(version)}"),
        correlation_id=body.get("correlationId"), priority=int(body.get("priority") or 0),
        idempotency_key=body.get("idempotencyKey"), strategy=body.get("idempotencyStrategy"),
        inline={**body["workflowDef"], "name": body["workflowDef"].get("name") or name} if body.get("workflowDef") else None,
        task_to_domain=body.get("taskToDomain"), metadata=metadata, execution_id=execution_id,
    )


async def get_workflow(call: Call) -> Response:
    workflow_id = call.path["workflowId"]
    include_tasks = bool(call.query.get("includeTasks", True))
    try:  # an unchanged run is answered from the bytes rendered last time (wfgateway.answers)
        body = await call.gateway.answers.answer(
            call.backend, tenant(call), workflow_id, ("conductor.workflow", include_tasks),
            lambda exe: dumps(workflow_json(exe, include_tasks=include_tasks)))
    except NotFound:
        raise no_such_workflow(workflow_id) from None
    return Response(body, media_type="application/json")


async def get_workflow_status(call: Call) -> Response:
    exe = await load_execution(call, call.path["workflowId"])
    return json_response(workflow_status_json(exe, bool(call.query.get("includeOutput", False)),
                                              bool(call.query.get("includeVariables", False))))


async def search_workflows(call: Call) -> Response:
    total, found = await find_workflows(call)
    return json_response({"totalHits": total, "results": [summary_json(e) for e in found]})


async def find_workflows(call: Call) -> tuple[int, list[Execution]]:
    """(totalHits, the page) of a workflow search's start/size/sort/freeText/query, the tenant's only."""
    q = call.query
    asked_size = q.get("size")
    start, size = int(q.get("start") or 0), int(asked_size if asked_size is not None else 100)
    filters = parse_query(q.get("query"))
    free = (q.get("freeText") or "*").strip()
    newest_first = not str(q.get("sort") or "").upper().endswith(":ASC")
    if filters.workflow_ids:
        return await _by_ids(call, filters.workflow_ids, start, size)
    if free in ("", "*"):
        return await _search(call, filters, start, size, newest_first)
    return await _free_text(call, filters, free, start, size, newest_first)


async def _by_ids(call: Call, ids: list[str], start: int, size: int) -> tuple[int, list[Execution]]:
    found = []
    for workflow_id in ids:
        try:
            found.append(await call.backend.get(workflow_id, tenant=tenant(call)))
        except NotFound:
            continue
    return len(found), found[start:start + size]


FREE_TEXT_WINDOW = 10_000  # matches of each field read at most (a search index's result window)


async def _free_text(call: Call, filters: Filters, free: str, start: int, size: int, newest_first: bool
                     ) -> tuple[int, list[Execution]]:
    """Free text as the user types it into a search box: a workflow id, a correlation id or a workflow name.
    The OSS server matches it against the whole indexed run (Elasticsearch's query_string, PostgreSQL's
    full-text search); the gateway matches it whole against those three fields, each an index of the store,
    and the query's filters apply to the correlation-id and name matches as they do to any search."""
    found: dict[str, Execution] = {}
    total = 0
    with contextlib.suppress(NotFound):
        run = await call.backend.get(free, tenant=tenant(call))
        if _matches(run, filters):
            found[run.id], total = run, 1
    want = max(1, min(start + size, FREE_TEXT_WINDOW))  # 1: a size-0 search still counts
    for narrowed in (replace(filters, correlation_id=free) if filters.correlation_id in (None, free) else None,
                     replace(filters, name=free) if filters.name in (None, free) else None):
        if narrowed is None:
            continue
        matched, items = await _search(call, narrowed, 0, want, newest_first)
        total += matched - sum(1 for e in items if e.id in found)  # a run matched twice counts once
        found.update((e.id, e) for e in items)
    ordered = sorted(found.values(), key=lambda e: (e.created_ms, e.id), reverse=newest_first)
    return max(total, len(ordered)), ordered[start:start + size]


def _matches(e: Execution, f: Filters) -> bool:
    """Whether run ``e`` passes the query's filters (those a search would apply in the store)."""
    return ((f.name is None or e.definition_name == f.name)
            and (f.version is None or str(e.definition_version) == str(f.version))
            and (f.statuses is None or e.status in f.statuses)
            and (f.correlation_id is None or e.correlation_id == f.correlation_id)
            and (f.created_from_ms is None or e.created_ms >= f.created_from_ms)
            and (f.created_to_ms is None or e.created_ms <= f.created_to_ms)
            and (f.parent_execution_id is None or e.parent_execution_id == f.parent_execution_id))


async def _search(call: Call, filters: Filters, start: int, size: int, newest_first: bool
                  ) -> tuple[int, list[Execution]]:
    window: OffsetWindow[Execution] = OffsetWindow(start, size)
    cursor: str | None = None
    seek = start  # the backend passes over ``start`` matches by key (the engine: index entries only)
    while not window.full:
        try:
            page = await call.backend.search(
                tenant(call), name=filters.name, version=filters.version, statuses=filters.statuses,
                correlation_id=filters.correlation_id, created_from_ms=filters.created_from_ms,
                created_to_ms=filters.created_to_ms, parent_execution_id=filters.parent_execution_id,
                cursor=cursor, limit=window.batch(already_skipped_by_backend=seek), newest_first=newest_first,
                count=cursor is None,  # totalHits is counted once, with the first batch (not per 1,000 skipped)
                skip=seek,
            )
        except NotImplementedByBackend:
            if not seek:
                raise
            seek = 0  # an upstream that pages only by cursor: read and pass over the first ``start``
            continue
        if seek and page.items:
            window.skipped = start
        seek = 0
        cursor = page.next_cursor
        if not window.take(page):
            break
    return window.total_hits, window.items


async def terminate_workflow(call: Call) -> Response:
    await terminate_one(call, call.path["workflowId"], call.query.get("reason"))
    return empty_response()


async def terminate_one(call: Call, workflow_id: str, reason: str | None) -> None:
    exe = await load_execution(call, workflow_id)
    if exe.status == ExecutionStatus.COMPLETED:
        raise Conflict("Cannot terminate a COMPLETED workflow.")
    await call.backend.terminate(exe.id, reason, tenant=tenant(call))


async def pause_workflow(call: Call) -> Response:
    await pause_one(call, call.path["workflowId"])
    return empty_response()


async def pause_one(call: Call, workflow_id: str) -> None:
    exe = await load_execution(call, workflow_id)
    if exe.status.terminal:
        raise Conflict(f"Workflow {_label(exe, with_status=False)} has ended, status cannot be updated.")
    if exe.status != ExecutionStatus.PAUSED:
        await call.backend.pause(exe.id, tenant=tenant(call))


async def resume_workflow(call: Call) -> Response:
    await resume_one(call, call.path["workflowId"])
    return empty_response()


async def resume_one(call: Call, workflow_id: str) -> None:
    exe = await load_execution(call, workflow_id)
    if exe.status != ExecutionStatus.PAUSED:
        # Conductor throws IllegalStateException (500); its docs promise 409, and a 500 is never right here.
        raise Conflict(f"The workflow {exe.id} is not PAUSED so cannot resume. Current status is {exe.status}")
    await call.backend.resume(exe.id, tenant=tenant(call))


async def rerun_workflow(call: Call) -> Response:
    body = call.body or {}
    exe = await load_execution(call, call.path["workflowId"])
    if not exe.status.terminal:
        raise msg.not_terminal(_label(exe), "rerun")
    task_id = body.get("reRunFromTaskId") or None
    try:
        await call.backend.rerun(
            exe.id, tenant=tenant(call), from_task_id=task_id, task_input=body.get("taskInput"),
            workflow_input=body.get("workflowInput"), correlation_id=body.get("correlationId"),
        )
    except (InvalidArgument, NotFound) as exc:
        if task_id and (isinstance(exc, NotFound) or "not found" in exc.message.lower()):
            raise msg.task_not_found(task_id) from None
        raise
    except Conflict:
        exe = await load_execution(call, exe.id)
        if not exe.status.terminal:
            raise msg.not_terminal(_label(exe), "rerun") from None
        raise
    return text_response(exe.id)


async def retry_workflow(call: Call) -> Response:
    await retry_one(call, call.path["workflowId"], bool(call.query.get("resumeSubworkflowTasks", False)))
    return empty_response(204)


async def retry_one(call: Call, workflow_id: str, resume_subworkflows: bool) -> None:
    exe = await load_execution(call, workflow_id)
    if not exe.status.terminal:
        raise msg.still_running(str(exe.status))
    if not exe.tasks:
        raise Conflict("Workflow has not started yet")
    policy = RetryPolicy(skip_optional=False, extra_attempt_past_limit=True, resume_subworkflows=resume_subworkflows)
    try:
        await call.backend.retry(exe.id, policy, tenant=tenant(call))
    except Conflict:
        exe = await load_execution(call, exe.id)
        if not exe.status.terminal:
            raise msg.still_running(str(exe.status)) from None
        raise Conflict(msg.NO_RETRYABLE_TASKS) from None


async def restart_workflow(call: Call) -> Response:
    await restart_one(call, call.path["workflowId"], bool(call.query.get("useLatestDefinitions", False)))
    return empty_response(204)


async def restart_one(call: Call, workflow_id: str, use_latest: bool) -> None:
    exe = await load_execution(call, workflow_id)
    if not exe.status.terminal:
        raise msg.not_terminal(_label(exe), "restart")
    restartable = exe.definition.restartable if exe.definition is not None else True
    if exe.status == ExecutionStatus.COMPLETED and not restartable:
        raise NotFound(f"Workflow: {_label(exe)} is non-restartable")
    try:
        await call.backend.restart(exe.id, tenant=tenant(call), use_latest_definition=use_latest)
    except NotFound:
        raise NotFound(f"Unable to find latest definition for {exe.id}") from None
    except Conflict:
        exe = await load_execution(call, exe.id)
        if not exe.status.terminal:
            raise msg.not_terminal(_label(exe), "restart") from None
        raise


async def delete_workflow(call: Call) -> Response:
    """Conductor removes the workflow and its tasks from the execution store.  With ``archiveWorkflow``
    (the default) it first keeps a copy in its search index, and refuses a workflow that is not
    terminal (400); without it, a running workflow is removed as it is.  The gateway keeps no archive:
    either way the execution is gone afterwards (GET answers 404).  Two deliberate differences: the
    400 leaves the workflow in place (Conductor has already deleted it when it refuses), and a running
    workflow removed without archiving is terminated in the same transaction, so its running
    sub-workflows end too instead of running on for a parent that no longer exists."""
    await remove_one(call, call.path["workflowId"], bool(call.query.get("archiveWorkflow", True)))
    return empty_response()


async def remove_one(call: Call, workflow_id: str, archive: bool) -> None:
    exe = await load_execution(call, workflow_id)
    if archive and not exe.status.terminal:
        raise InvalidArgument(f"Cannot archive workflow: {exe.id} with status: {exe.status}")
    try:
        await call.backend.delete_execution(exe.id, tenant=tenant(call))
    except NotFound:  # removed by a concurrent call meanwhile
        raise no_such_workflow(exe.id) from None


async def terminate_remove_workflow(call: Call) -> Response:
    """Terminate, then remove (Conductor's WorkflowService.terminateRemove): a COMPLETED workflow is
    refused by the terminate (409) and stays."""
    workflow_id = call.path["workflowId"]
    await terminate_one(call, workflow_id, call.query.get("reason"))
    await remove_one(call, workflow_id, bool(call.query.get("archiveWorkflow", True)))
    return empty_response()


async def get_running_workflows(call: Call) -> Response:
    """Ids of the RUNNING workflows of a name and version (1 unless given); with both startTime and
    endTime, the workflows of any status created in that range, as Conductor answers.  Oldest first
    (Conductor keeps no order); an upstream's pages are read newest first, the order every upstream
    can list in (Cognite lists in no other), and turned around."""
    q = call.query
    name, version = call.path["name"], q.get("version") if q.get("version") is not None else 1
    start_ms, end_ms = q.get("startTime") or 0, q.get("endTime") or 0
    ranged = bool(start_ms) and bool(end_ms)
    filters: dict[str, Any] = {
        "name": name, "version": version, "statuses": None if ranged else [ExecutionStatus.RUNNING],
        "created_from_ms": int(start_ms) if ranged else None, "created_to_ms": int(end_ms) if ranged else None}
    if isinstance(call.backend, IdSearch):  # the engine: ids from its index, no run read
        return json_response(await call.backend.search_ids(tenant(call), **filters))
    ids: list[str] = []
    cursor = None
    while True:
        page = await call.backend.search(tenant(call), **filters, cursor=cursor, limit=1000, count=False)
        ids.extend(e.id for e in page.items)
        cursor = page.next_cursor
        if not cursor or not page.items:
            return json_response(ids[::-1])


async def get_workflow_tasks(call: Call) -> Response:
    """SearchResult<Task> of one workflow's tasks: ``status`` filters (any case), ``start`` and
    ``count`` (15) page the list in the order the workflow shows them, as the Conductor server does."""
    exe = await load_execution(call, call.path["workflowId"])
    tasks = workflow_json(exe, include_tasks=True)["tasks"]
    wanted = {str(s).upper() for s in call.query.get("status") or []}
    if wanted:
        tasks = [t for t in tasks if t["status"] in wanted]
    start = max(0, int(call.query.get("start") or 0))
    asked = call.query.get("count")
    count = max(0, 15 if asked is None else int(asked))
    return json_response({"totalHits": len(tasks), "results": tasks[start:start + count]})


async def decide_workflow(call: Call) -> Response:
    """The engine decides after every change it commits, so there is never a decision pending: the
    call checks that the workflow exists (404 otherwise, as Conductor) and answers 200."""
    await load_execution(call, call.path["workflowId"])
    return empty_response()


def _task_control(call: Call) -> TaskControl:
    if not isinstance(call.backend, TaskControl):
        raise NotImplementedByBackend("skipping a task and resetting callbacks need the gateway's engine")
    return call.backend


def _skip_request(call: Call) -> dict[str, Any]:
    """The SkipTaskRequest: the ``skipTaskRequest`` query value (conductor-python sends it there, as
    the text of a Python dict), else the JSON body (the Java client).  A value that does not read as
    an object is ignored, as the OSS server binds neither and ignores both."""
    raw = call.query.get("skipTaskRequest")
    if isinstance(raw, str) and raw.strip():
        for parse in (json.loads, ast.literal_eval):
            try:
                value = parse(raw)
            except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
                continue
            if isinstance(value, dict):
                return value
    return call.body if isinstance(call.body, dict) else {}


def _object(value: Any) -> dict[str, Any] | None:
    return value if isinstance(value, dict) else None


async def skip_task_from_workflow(call: Call) -> Response:
    """WorkflowExecutor.skipTaskFromWorkflow: a task of a RUNNING workflow that has not been scheduled
    becomes SKIPPED and the workflow goes on past it.  The OSS server refuses with an
    IllegalStateException (500); the gateway answers 409 with its messages."""
    workflow_id, ref = call.path["workflowId"], call.path["taskReferenceName"]
    exe = await load_execution(call, workflow_id)
    not_running = Conflict(f"The workflow {workflow_id} is not running so the task referenced by {ref} "
                           "cannot be skipped")
    if exe.status != ExecutionStatus.RUNNING:
        raise not_running
    request = _skip_request(call)
    try:
        await _task_control(call).skip_task(exe.id, ref, tenant=tenant(call), input=_object(request.get("taskInput")),
                                            output=_object(request.get("taskOutput")))
    except Conflict as exc:
        reason = exc.details.get("reason")
        if reason == "not_running":
            raise not_running from None
        if reason == "unknown_ref":
            raise Conflict(f"The task referenced by {ref} does not exist in the WorkflowDefinition "
                           f"{exe.definition_name}") from None
        if reason == "already_processed":
            raise Conflict(f"The task referenced {ref} has already been processed, cannot be skipped") from None
        raise
    return empty_response()


async def reset_workflow_callbacks(call: Call) -> Response:
    """WorkflowExecutor.resetCallbacksForWorkflow: queued SIMPLE tasks held back by a callback delay
    are pollable at once (204); a workflow that has ended is Conductor's 409."""
    exe = await load_execution(call, call.path["workflowId"])
    terminal = Conflict(f"Workflow is in terminal state. Status = {exe.status}")
    if exe.status.terminal:
        raise terminal
    try:
        await _task_control(call).reset_callbacks(exe.id, tenant=tenant(call))
    except Conflict:
        exe = await load_execution(call, exe.id)
        raise Conflict(f"Workflow is in terminal state. Status = {exe.status}") from None
    return empty_response(204)


async def _correlated(call: Call, name: str, correlation_id: str) -> list[dict[str, Any]]:
    include_closed = bool(call.query.get("includeClosed", False))
    include_tasks = bool(call.query.get("includeTasks", False))
    statuses = None if include_closed else [ExecutionStatus.RUNNING, ExecutionStatus.PAUSED]
    out: list[dict[str, Any]] = []
    definitions = DefinitionDocs()
    cursor = None
    while True:
        page = await call.backend.search(tenant(call), name=name, correlation_id=correlation_id, statuses=statuses,
                                         cursor=cursor, limit=1000, count=False)
        for exe in page.items:
            if include_tasks:
                exe = await call.backend.get(exe.id, tenant=tenant(call))
            out.append(workflow_json(exe, include_tasks, definitions))
        cursor = page.next_cursor
        if not cursor:
            return out


async def get_correlated_workflows(call: Call) -> Response:
    return json_response(await _correlated(call, call.path["name"], call.path["correlationId"]))


async def get_correlated_workflows_batch(call: Call) -> Response:
    return json_response({cid: await _correlated(call, call.path["name"], cid) for cid in call.body})


async def get_correlated_workflows_by_names(call: Call) -> Response:
    """Orkes' CorrelationIdsSearchRequest: per correlation id, the matching workflows of each asked
    name (in the order the names are asked), the caller's tenant only."""
    body = call.body or {}
    names = list(dict.fromkeys(str(n) for n in body.get("workflowNames") or []))
    out: dict[str, list[dict[str, Any]]] = {}
    for cid in dict.fromkeys(str(c) for c in body.get("correlationIds") or []):
        out[cid] = [wf for name in names for wf in await _correlated(call, name, cid)]
    return json_response(out)


HANDLERS = {
    "startWorkflowByName": start_workflow_by_name,
    "startWorkflow": start_workflow,
    "getWorkflow": get_workflow,
    "getWorkflowStatusSummary": get_workflow_status,
    "searchWorkflows": search_workflows,
    "terminateWorkflow": terminate_workflow,
    "pauseWorkflow": pause_workflow,
    "resumeWorkflow": resume_workflow,
    "rerunWorkflow": rerun_workflow,
    "retryWorkflow": retry_workflow,
    "restartWorkflow": restart_workflow,
    "deleteWorkflow": delete_workflow,
    "getCorrelatedWorkflows": get_correlated_workflows,
    "terminateRemoveWorkflow": terminate_remove_workflow,
    "getRunningWorkflows": get_running_workflows,
    "getWorkflowTasks": get_workflow_tasks,
    "decideWorkflow": decide_workflow,
    "skipTaskFromWorkflow": skip_task_from_workflow,
    "resetWorkflowCallbacks": reset_workflow_callbacks,
    "getCorrelatedWorkflowsBatch": get_correlated_workflows_batch,
    "getCorrelatedWorkflowsByNames": get_correlated_workflows_by_names,
}
