"""Conductor's client half: the Backend protocol spoken to an upstream Conductor (Orkes / OSS).

Another dialect's handlers (Cognite, Altostrat) call these canonical operations; each becomes the
Conductor REST call with the same meaning, and Conductor's JSON comes back as canonical objects.
Definitions are read with this adapter's own ``to_definition`` and written with its own
``workflow_def_json``; Conductor's status words are the canonical ones.  What Conductor cannot
express (a clone / resume-from as a new run, a definition written in another vendor's task
vocabulary) raises NotImplementedByBackend naming it.  CAPABILITIES feeds docs/compatibility.md.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import orjson
from wfgateway.adapters.conductor.definitions import DEF_KEY, to_definition
from wfgateway.adapters.conductor.render import workflow_def_json

from wfgateway.backends.json_client import JsonUpstream, refusal
from wfgateway.backends.settings import BackendSettings
from wfgateway.backends.transport import UpstreamTransport
from wfgateway.core.errors import NotFound
from wfgateway.core.model import TASK_DOMAINS, Execution, Page, RetryPolicy, TaskAttempt, WorkflowDefinition
from wfgateway.core.statuses import ExecutionStatus, TaskStatus

VENDOR = "Conductor"

# canonical operation -> (exact | translated | refused, what changes or why)
CAPABILITIES: dict[str, tuple[str, str]] = {
    "put_definition": ("refused", "a definition written in another dialect has no Conductor WorkflowDef "
                                  "(define it through Conductor's own API)"),
    "task_definitions": ("exact", ""),
    "get_definition": ("exact", ""),
    "list_definitions": ("exact", ""),
    "delete_definition": ("exact", "one version; every version is one call per version"),
    "start": ("exact", ""),
    "get": ("exact", ""),
    "search": ("translated", "filters become a Conductor search query"),
    "terminate": ("exact", ""),
    "delete_execution": ("translated", "a running workflow is terminated, then removed without archiving: "
                                      "two calls, not one transaction"),
    "pause": ("exact", ""),
    "resume": ("exact", ""),
    "rerun": ("exact", ""),
    "retry": ("translated", "Conductor retry: failed optional tasks are COMPLETED_WITH_ERRORS and not retried"),
    "restart": ("exact", ""),
    "clone": ("translated", "a new run: a start of the same name, version and input (the definition as it is now)"),
    "clone_from_task": ("refused", "Conductor has no new run from a task (its rerun from a task is in place)"),
    "poll": ("exact", ""),
    "complete_task": ("exact", ""),
    "get_task": ("exact", ""),
    "add_task_log": ("exact", ""),
}

_TERMINAL_TASK = {s.value: s for s in TaskStatus}


refuse = refusal(VENDOR)


class ConductorClient:
    """A Backend over HTTP to one Conductor server."""

    def __init__(self, settings: BackendSettings, transport: UpstreamTransport) -> None:
        self.name = settings.name
        self.transport = transport
        self.upstream = JsonUpstream(transport, VENDOR, plain_text=True)

    # -- definitions --------------------------------------------------------------------------------
    async def put_definition(self, definition: WorkflowDefinition, *, overwrite: bool = True) -> WorkflowDefinition:
        if DEF_KEY not in definition.extra:
            kinds = sorted({t.kind for t in definition.tasks})
            raise refuse("put_definition", f"the definition was written in the {definition.dialect or 'another'} "
                                           f"dialect; its tasks ({', '.join(kinds)}) have no Conductor WorkflowDef")
        doc = workflow_def_json(definition)
        await self.upstream.call("POST" if not overwrite else "PUT", "/api/metadata/workflow",
                         query={"overwrite": overwrite} if not overwrite else None,
                         body=doc if not overwrite else [doc])
        return definition

    async def get_definition(self, tenant: str, name: str, version: int | str | None = None) -> WorkflowDefinition:
        doc = await self.upstream.call("GET", f"/api/metadata/workflow/{quote(name, safe='')}", query={"version": version})
        return to_definition(doc, tenant)

    async def list_definitions(self, tenant: str, name: str | None = None, *, cursor: str | None = None,
                               limit: int = 1000) -> Page:
        docs = await self.upstream.call("GET", "/api/metadata/workflow") or []
        items = [to_definition(d, tenant) for d in docs if name is None or d.get("name") == name]
        start = int(cursor or 0)
        page = items[start:start + limit]
        return Page(page, str(start + limit) if start + limit < len(items) else None, len(items))

    async def delete_definition(self, tenant: str, name: str, version: int | str | None = None) -> None:
        if version is None:
            versions = [d.version for d in (await self.list_definitions(tenant, name)).items]
            if not versions:
                raise NotFound(f"No such workflow definition: {name}")
        else:
            versions = [version]
        for v in versions:
            await self.upstream.call("DELETE", f"/api/metadata/workflow/{quote(name, safe='')}/{v}")

    # -- executions ---------------------------------------------------------------------------------
    async def start(self, tenant: str, name: str, version: int | str | None, input: dict[str, Any], *,
                    correlation_id: str | None = None, metadata: dict[str, Any] | None = None,
                    execution_id: str | None = None, idempotency_key: str | None = None,
                    idempotency_strategy: str = "fail", priority: int = 0, dialect: str = "",
                    definition: WorkflowDefinition | None = None) -> Execution:
        body: dict[str, Any] = {"name": name, "input": input, "priority": priority}
        if version is not None:
            body["version"] = int(version) if str(version).isascii() and str(version).isdigit() else version
        if correlation_id is not None:
            body["correlationId"] = correlation_id
        if idempotency_key:
            body["idempotencyKey"] = idempotency_key
            body["idempotencyStrategy"] = {"fail": "FAIL", "return_existing": "RETURN_EXISTING"}.get(
                idempotency_strategy, "FAIL")
        if metadata:
            if set(metadata) - {"taskToDomain", TASK_DOMAINS}:  # the upstream server queues by taskToDomain
                raise refuse("start", f"execution metadata {sorted(metadata)} has no place in a Conductor start")
            body["taskToDomain"] = metadata["taskToDomain"]
        if definition is not None:
            if DEF_KEY not in definition.extra:
                raise refuse("start", "an inline definition written in another dialect")
            body["workflowDef"] = workflow_def_json(definition)
        new_id = await self.upstream.call("POST", "/api/workflow", body=body, idempotent=False)
        return await self.get(str(new_id).strip().strip('"'), tenant=tenant)

    async def get(self, execution_id: str, *, tenant: str | None = None, include_history: bool = False) -> Execution:
        doc = await self.upstream.call("GET", f"/api/workflow/{quote(execution_id, safe='')}",
                               query={"includeTasks": True})
        return parse_workflow(doc, tenant or "default")

    async def search(self, tenant: str, *, name: str | None = None, version: int | str | None = None,
                     statuses: list[ExecutionStatus] | None = None, correlation_id: str | None = None,
                     created_from_ms: int | None = None, created_to_ms: int | None = None,
                     parent_execution_id: str | None = None, cursor: str | None = None, limit: int = 100,
                     newest_first: bool = True, count: bool = True,
                     workflows: list[tuple[str, str | None]] | None = None, skip: int = 0) -> Page:
        if version is not None or any(v is not None for _, v in workflows or ()):
            raise refuse("search", "Conductor's search cannot filter on the workflow version")
        if workflows:
            name = ",".join(n for n, _ in workflows)  # workflowType IN (a,b)
        if parent_execution_id is not None:
            raise refuse("search", "Conductor's search cannot filter on the parent workflow")
        clauses = []
        if name:
            clauses.append(f"workflowType IN ({name})")
        if statuses:
            clauses.append(f"status IN ({','.join(str(s) for s in statuses)})")
        if correlation_id:
            clauses.append(f"correlationId = '{correlation_id}'")
        if created_from_ms is not None:
            clauses.append(f"startTime > {created_from_ms - 1}")
        if created_to_ms is not None:
            clauses.append(f"startTime < {created_to_ms + 1}")
        start = int(cursor or 0) + skip
        doc = await self.upstream.call("GET", "/api/workflow/search", query={
            "start": start, "size": limit, "query": " AND ".join(clauses) or None,
            "sort": "startTime:DESC" if newest_first else "startTime:ASC"})
        items = [parse_workflow(w, tenant) for w in doc.get("results") or []]
        total = int(doc.get("totalHits") or len(items))
        return Page(items, str(start + limit) if start + limit < total else None, total)

    async def terminate(self, execution_id: str, reason: str | None = None, *, tenant: str | None = None) -> Execution:
        await self.upstream.call("DELETE", f"/api/workflow/{quote(execution_id, safe='')}", query={"reason": reason})
        return await self.get(execution_id, tenant=tenant)

    async def delete_execution(self, execution_id: str, *, tenant: str | None = None) -> None:
        path = f"/api/workflow/{quote(execution_id, safe='')}"
        if not (await self.get(execution_id, tenant=tenant)).status.terminal:
            await self.upstream.call("DELETE", path, query={"reason": "Removed"})  # Conductor archives only ended ones
        await self.upstream.call("DELETE", path + "/remove", query={"archiveWorkflow": False})

    async def pause(self, execution_id: str, *, tenant: str | None = None) -> Execution:
        await self.upstream.call("PUT", f"/api/workflow/{quote(execution_id, safe='')}/pause", idempotent=False)
        return await self.get(execution_id, tenant=tenant)

    async def resume(self, execution_id: str, *, tenant: str | None = None) -> Execution:
        await self.upstream.call("PUT", f"/api/workflow/{quote(execution_id, safe='')}/resume", idempotent=False)
        return await self.get(execution_id, tenant=tenant)

    async def rerun(self, execution_id: str, *, tenant: str | None = None, from_task_id: str | None = None,
                    task_input: dict[str, Any] | None = None, workflow_input: dict[str, Any] | None = None,
                    correlation_id: str | None = None) -> Execution:
        body = {"reRunFromWorkflowId": execution_id, "reRunFromTaskId": from_task_id, "taskInput": task_input,
                "workflowInput": workflow_input, "correlationId": correlation_id}
        await self.upstream.call("POST", f"/api/workflow/{quote(execution_id, safe='')}/rerun",
                         body={k: v for k, v in body.items() if v is not None})
        return await self.get(execution_id, tenant=tenant)

    async def retry(self, execution_id: str, policy: RetryPolicy, *, tenant: str | None = None) -> Execution:
        if not policy.extra_attempt_past_limit:
            raise refuse("retry", "Conductor always gives a retried task one more attempt past its retry count")
        if policy.retryable != RetryPolicy().retryable:
            raise refuse("retry", "Conductor retries exactly the failed, timed-out and canceled tasks")
        await self.upstream.call("POST", f"/api/workflow/{quote(execution_id, safe='')}/retry",
                         query={"resumeSubworkflowTasks": policy.resume_subworkflows})
        return await self.get(execution_id, tenant=tenant)

    async def restart(self, execution_id: str, *, tenant: str | None = None,
                      use_latest_definition: bool = False) -> Execution:
        await self.upstream.call("POST", f"/api/workflow/{quote(execution_id, safe='')}/restart",
                         query={"useLatestDefinitions": use_latest_definition})
        return await self.get(execution_id, tenant=tenant)

    async def clone(self, execution_id: str, *, tenant: str | None = None, resume_from_ref: str | None = None,
                    execution_id_new: str | None = None, input: dict[str, Any] | None = None) -> Execution:
        """Altostrat's re-run (a new run with the same payload): a Conductor start; Conductor picks the id."""
        if resume_from_ref is not None:
            raise refuse(f"a new run resumed from node {resume_from_ref}", CAPABILITIES["clone_from_task"][1])
        original = await self.get(execution_id, tenant=tenant)
        return await self.start(tenant or original.tenant, original.definition_name, original.definition_version,
                                dict(original.input if input is None else input),
                                correlation_id=original.correlation_id, metadata=original.metadata or None,
                                priority=original.priority)

    # -- tasks --------------------------------------------------------------------------------------
    async def poll(self, tenant: str, task_name: str, *, worker_id: str | None = None, count: int = 1,
                   timeout_ms: int = 0, lease_ms: int | None = None, domain: str | None = None) -> list[TaskAttempt]:
        if lease_ms is not None:
            raise refuse("poll", "a lease per poll (Conductor leases by the task definition's responseTimeout)")
        docs = await self.upstream.call("GET", f"/api/tasks/poll/batch/{quote(task_name, safe='')}", idempotent=False,
                                query={"workerid": worker_id, "count": count, "timeout": timeout_ms, "domain": domain})
        return [parse_task(d) for d in docs or []]

    async def complete_task(self, task_id: str, status: TaskStatus, *, tenant: str | None = None,
                            execution_id: str | None = None, output: dict[str, Any] | None = None,
                            reason: str | None = None, worker_id: str | None = None, extend_lease: bool = False,
                            callback_after_ms: int = 0, logs: list[str] | None = None) -> TaskAttempt:
        if execution_id is None:
            execution_id = (await self.get_task(task_id)).execution_id
        body = {"workflowInstanceId": execution_id, "taskId": task_id, "status": str(status),
                "outputData": output or {}, "reasonForIncompletion": reason, "workerId": worker_id,
                "extendLease": extend_lease or None, "callbackAfterSeconds": callback_after_ms // 1000 or None,
                "logs": [{"log": line, "taskId": task_id} for line in logs] if logs else None}
        await self.upstream.call("POST", "/api/tasks", body={k: v for k, v in body.items() if v is not None})
        return await self.get_task(task_id)

    async def get_task(self, task_id: str, *, tenant: str | None = None) -> TaskAttempt:
        return parse_task(await self.upstream.call("GET", f"/api/tasks/{quote(task_id, safe='')}"))

    async def add_task_log(self, task_id: str, message: str, *, tenant: str | None = None) -> None:
        await self.upstream.call("POST", f"/api/tasks/{quote(task_id, safe='')}/log", body=message)


# -- Conductor JSON -> canonical --------------------------------------------------------------------
def parse_task(doc: dict[str, Any]) -> TaskAttempt:
    status = _TERMINAL_TASK.get(str(doc.get("status")), TaskStatus.SCHEDULED)
    extra: dict[str, Any] = {"conductorTaskType": doc.get("taskType"), "workflowTask": doc.get("workflowTask")}
    ref = str(doc.get("referenceTaskName") or doc.get("taskDefName") or "")
    iteration = doc.get("iteration")
    if isinstance(iteration, int) and iteration > 0 and ref.endswith(f"__{iteration}") and doc.get("taskType") != "DO_WHILE":
        extra.update(local_ref=ref[: -len(f"__{iteration}")], iteration=iteration)  # a DO_WHILE's task
    return TaskAttempt(
        id=str(doc["taskId"]), execution_id=str(doc.get("workflowInstanceId") or ""),
        ref=ref,
        name=str(doc.get("taskDefName") or doc.get("referenceTaskName") or ""),
        kind=_KINDS.get(str(doc.get("taskType")), "worker"), status=status, seq=int(doc.get("seq") or 0),
        attempt=int(doc.get("retryCount") or 0), input=doc.get("inputData") or {}, output=doc.get("outputData") or {},
        reason=doc.get("reasonForIncompletion"), worker_id=doc.get("workerId"), retried_from=doc.get("retriedTaskId"),
        retried=bool(doc.get("retried")), subworkflow_id=doc.get("subWorkflowId"),
        parent_attempt_id=doc.get("parentTaskId"), poll_count=int(doc.get("pollCount") or 0),
        scheduled_ms=int(doc.get("scheduledTime") or 0), started_ms=int(doc.get("startTime") or 0),
        ended_ms=int(doc.get("endTime") or 0), updated_ms=int(doc.get("updateTime") or 0), extra=extra,
    )


def parse_workflow(doc: dict[str, Any], tenant: str) -> Execution:
    definition = None
    if doc.get("workflowDefinition"):
        definition = to_definition(doc["workflowDefinition"], tenant)
    return Execution(
        id=str(doc["workflowId"]), tenant=tenant, definition_name=str(doc.get("workflowName") or doc.get("workflowType")),
        definition_version=int(doc.get("workflowVersion") or doc.get("version") or 1),
        status=ExecutionStatus(str(doc.get("status"))), input=_obj(doc.get("input")), output=_obj(doc.get("output")),
        variables=doc.get("variables") or {}, correlation_id=doc.get("correlationId"),
        metadata={"taskToDomain": doc["taskToDomain"]} if doc.get("taskToDomain") else {},
        reason=doc.get("reasonForIncompletion"), parent_execution_id=doc.get("parentWorkflowId"),
        parent_task_id=doc.get("parentWorkflowTaskId"), idempotency_key=doc.get("idempotencyKey"),
        dialect="conductor", priority=int(doc.get("priority") or 0), created_ms=_ms(doc.get("createTime")),
        started_ms=_ms(doc.get("startTime")), ended_ms=_ms(doc.get("endTime")), updated_ms=_ms(doc.get("updateTime")),
        last_retried_ms=_ms(doc.get("lastRetriedTime")), definition=definition,
        tasks=[parse_task(t) for t in doc.get("tasks") or []],
    )


_KINDS = {"SIMPLE": "worker", "HTTP": "http", "SUB_WORKFLOW": "subworkflow", "FORK_JOIN_DYNAMIC": "dynamic",
          "SWITCH": "switch", "DECISION": "switch", "WAIT": "wait", "SET_VARIABLE": "set", "INLINE": "compute",
          "JSON_JQ_TRANSFORM": "compute", "DO_WHILE": "loop", "JOIN": "noop", "TERMINATE": "noop", "HUMAN": "wait",
          "YIELD": "wait"}


def _ms(value: Any) -> int:
    """Conductor answers epoch ms; a search summary answers ISO-8601 strings."""
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value:
        from datetime import datetime

        try:
            return int(datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp() * 1000)
        except ValueError:
            return 0
    return 0


def _obj(value: Any) -> dict[str, Any]:
    if isinstance(value, dict):
        return value
    if isinstance(value, str) and value:  # a search summary carries input/output as JSON text
        try:
            parsed = orjson.loads(value)
        except orjson.JSONDecodeError:
            return {"value": value}
        return parsed if isinstance(parsed, dict) else {"value": parsed}
    return {}


def create_client(settings: BackendSettings, transport: UpstreamTransport) -> ConductorClient:
    return ConductorClient(settings, transport)
