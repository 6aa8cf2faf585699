"""Cognite's client half: the Backend protocol spoken to an upstream Cognite Data Workflows project.

Another dialect's handlers (Conductor, Altostrat) call canonical operations; each becomes the
Cognite call with the same meaning.  Definitions are read with this adapter's own Translator and
``normalize_definition``.  Runs and retries need a session nonce, which the client creates with
the gateway's upstream credentials (token exchange, or the client credentials it was given).

Cognite has no rerun, restart, clone, pause, resume or task queue, executions have no correlation
id or priority, and task updates carry no reason: those calls raise NotImplementedByBackend naming
what cannot be translated.  A correlation id is kept in the execution's metadata (and read back
from there).  CAPABILITIES feeds docs/compatibility.md.

The backend setting ``project`` (or ``path_params.project``) names the upstream project; without it
the caller's tenant is the project.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from wfgateway.adapters.cognite.translate import Translator, normalize_definition

from wfgateway.backends.json_client import JsonUpstream, refusal
from wfgateway.backends.refused import RefusedOperations
from wfgateway.backends.settings import BackendSettings
from wfgateway.backends.transport import UpstreamTransport
from wfgateway.backends.upstream_credentials import ClientCredentialsAuth
from wfgateway.core.errors import NotFound
from wfgateway.core.model import Execution, Page, RetryPolicy, TaskAttempt, WorkflowDefinition
from wfgateway.core.statuses import ExecutionStatus, TaskStatus

VENDOR = "Cognite Data Workflows"
CORRELATION_KEY = "correlationId"

CAPABILITIES: dict[str, tuple[str, str]] = {
    "put_definition": ("refused", "a definition written in another dialect has no Cognite task types "
                                  "(define it through Cognite's own API)"),
    "task_definitions": ("refused", "Cognite has no task definitions"),
    "get_definition": ("exact", "a version is required"),
    "list_definitions": ("exact", ""),
    "delete_definition": ("exact", ""),
    "start": ("translated", "the correlation id is kept in the execution metadata; no priority or idempotency key"),
    "get": ("exact", ""),
    "search": ("translated", "no correlation id or parent filter"),
    "terminate": ("exact", "Cognite cancel"),
    "delete_execution": ("refused", "Cognite executions cannot be deleted (only cancelled)"),
    "pause": ("refused", "Cognite executions cannot be paused"),
    "resume": ("refused", "Cognite executions cannot be paused or resumed"),
    "rerun": ("refused", "Cognite has no rerun (only retry of failed tasks)"),
    "retry": ("translated", "Cognite retry: optional (skipTask) tasks are skipped, nested tasks retried in place"),
    "restart": ("refused", "Cognite has no restart"),
    "clone": ("translated", "a new run: a run of the same workflow version and input"),
    "clone_from_task": ("refused", "Cognite has no new run from a task"),
    "poll": ("refused", "Cognite has no task queue for workers to poll"),
    "complete_task": ("translated", "only isAsyncComplete tasks; the worker id is not kept; no reason or logs"),
    "get_task": ("refused", "Cognite has no read of a single task"),
    "add_task_log": ("refused", "Cognite tasks have no logs"),
}

_EXECUTION_STATUS = {s.value: s for s in ExecutionStatus}
_TASK_STATUS = {s.value: s for s in TaskStatus}


refuse = refusal(VENDOR)


def _error_message(doc: Any) -> object:
    """Cognite's error body: ``{"error": {"code": 400, "message": "..."}}``."""
    error = doc.get("error") if isinstance(doc, dict) else None
    return error.get("message") if isinstance(error, dict) else None


class CogniteClient(RefusedOperations):
    VENDOR = VENDOR
    CAPABILITIES = CAPABILITIES

    def __init__(self, settings: BackendSettings, transport: UpstreamTransport) -> None:
        self.name = settings.name
        self.transport = transport
        self.upstream = JsonUpstream(transport, VENDOR, error_message=_error_message)
        self.project = settings.raw.get("project") or settings.path_params.get("project")
        self.translator = Translator({})

    def _base(self, tenant: str | None) -> str:
        project = self.project or tenant or "default"
        return f"/api/v1/projects/{quote(str(project), safe='')}"

    async def _call(self, method: str, path: str, tenant: str | None, body: Any = None, *,
                    idempotent: bool | None = None) -> Any:
        """A call below the project's base path (``/api/v1/projects/<project>``)."""
        return await self.upstream.call(method, self._base(tenant) + path, body=body, idempotent=idempotent)

    async def _nonce(self, tenant: str | None) -> str:
        """A session nonce for a run or retry, made with the gateway's own upstream credentials."""
        auth = self.transport.auth
        item: dict[str, Any] = {"tokenExchange": True}
        if isinstance(auth, ClientCredentialsAuth) and auth.client_id:
            item = {"clientId": auth.client_id, "clientSecret": auth.client_secret}
        doc = await self._call("POST", "/sessions", tenant, {"items": [item]}, idempotent=False)
        return str(doc["items"][0]["nonce"])

    # -- definitions --------------------------------------------------------------------------------
    async def put_definition(self, definition: WorkflowDefinition, *, overwrite: bool = True) -> WorkflowDefinition:
        self._plain(definition.tenant, "put_definition")
        cognite = definition.extra.get("cognite") or {}
        if "workflowDefinition" not in cognite:
            kinds = sorted({t.kind for t in definition.tasks})
            raise refuse("put_definition", f"the definition was written in the {definition.dialect or 'another'} "
                                           f"dialect; its tasks ({', '.join(kinds)}) have no Cognite task type")
        tenant = definition.tenant
        await self._call("POST", "/workflows", tenant, {"items": [{"externalId": definition.name}]}, idempotent=True)
        await self._call("POST", "/workflows/versions", tenant, {"items": [{
            "workflowExternalId": definition.name, "version": str(definition.version),
            "workflowDefinition": {k: v for k, v in cognite["workflowDefinition"].items() if k != "hash"}}]},
            idempotent=True)
        return definition

    async def get_definition(self, tenant: str, name: str, version: int | str | None = None) -> WorkflowDefinition:
        self._plain(tenant, "get_definition")
        if version is None:
            page = await self.list_definitions(tenant, name)
            if not page.items:
                raise NotFound(f"Workflow {name} not found")
            return page.items[-1]
        doc = await self._call("GET", f"/workflows/{quote(name, safe='')}/versions/{quote(str(version), safe='')}",
                               tenant)
        return self._definition(tenant, doc)

    def _definition(self, tenant: str, doc: dict[str, Any]) -> WorkflowDefinition:
        normalized = normalize_definition(doc.get("workflowDefinition") or {})
        d = self.translator.definition(tenant, str(doc["workflowExternalId"]), str(doc["version"]), normalized)
        d.created_ms = int(doc.get("createdTime") or 0)
        d.updated_ms = int(doc.get("lastUpdatedTime") or d.created_ms)
        return d

    async def list_definitions(self, tenant: str, name: str | None = None, *, cursor: str | None = None,
                               limit: int = 1000) -> Page:
        self._plain(tenant, "list_definitions")
        body: dict[str, Any] = {"limit": min(limit, 1000), "cursor": cursor}
        if name is not None:
            body["filter"] = {"workflowFilters": [{"externalId": name}]}
        doc = await self._call("POST", "/workflows/versions/list", tenant, body, idempotent=True)
        items = [self._definition(tenant, v) for v in doc.get("items") or []]
        return Page(items, doc.get("nextCursor"))

    async def delete_definition(self, tenant: str, name: str, version: int | str | None = None) -> None:
        self._plain(tenant, "delete_definition")
        if version is None:
            await self._call("POST", "/workflows/delete", tenant, {"items": [{"externalId": name}]})
        else:
            await self._call("POST", "/workflows/versions/delete", tenant,
                             {"items": [{"workflowExternalId": name, "version": str(version)}]})

    # -- executions ---------------------------------------------------------------------------------
    async def start(self, tenant: str, name: str, version: int | str | None, input: dict[str, Any], *,
                    correlation_id: str | None = None, metadata: dict[str, Any] | None = None,
                    execution_id: str | None = None, idempotency_key: str | None = None,
                    idempotency_strategy: str = "fail", priority: int = 0, dialect: str = "",
                    definition: WorkflowDefinition | None = None) -> Execution:
        if priority:
            raise refuse("start", "Cognite executions have no priority")
        if idempotency_key:
            raise refuse("start", "Cognite runs have no idempotency key")
        if definition is not None:
            raise refuse("start", "Cognite runs only stored workflow versions, not an inline definition")
        if version is None:
            version = (await self.get_definition(tenant, name)).version
        meta = {str(k): v for k, v in (metadata or {}).items()}
        if correlation_id is not None:
            meta[CORRELATION_KEY] = correlation_id
        body: dict[str, Any] = {"input": input, "authentication": {"nonce": await self._nonce(tenant)}}
        if meta:
            body["metadata"] = meta
        doc = await self._call("POST", f"/workflows/{quote(name, safe='')}/versions/{quote(str(version), safe='')}"
                                       "/run", tenant, body, idempotent=False)
        return await self.get(str(doc["id"]), tenant=tenant)

    async def get(self, execution_id: str, *, tenant: str | None = None, include_history: bool = False) -> Execution:
        doc = await self._call("GET", f"/workflows/executions/{quote(execution_id, safe='')}", tenant)
        return self.parse_execution(doc, tenant or self.project or "default")

    async def search(self, tenant: str, *, name: str | None = None, version: int | str | None = None,
                     statuses: list[ExecutionStatus] | None = None, correlation_id: str | None = None,
                     created_from_ms: int | None = None, created_to_ms: int | None = None,
                     parent_execution_id: str | None = None, cursor: str | None = None, limit: int = 100,
                     newest_first: bool = True, count: bool = True,
                     workflows: list[tuple[str, str | None]] | None = None, skip: int = 0) -> Page:
        if skip:
            raise refuse("search", "Cognite lists executions by cursor, not from an offset")
        if correlation_id is not None:
            raise refuse("search", "Cognite cannot list executions by correlation id")
        if parent_execution_id is not None:
            raise refuse("search", "Cognite cannot list executions by parent")
        if not newest_first:
            raise refuse("search", "Cognite lists executions newest first only")
        flt: dict[str, Any] = {}
        if workflows:
            flt["workflowFilters"] = [{"externalId": n, **({"version": str(v)} if v else {})} for n, v in workflows]
        elif name is not None:
            flt["workflowFilters"] = [{"externalId": name, **({"version": str(version)} if version else {})}]
        elif version is not None:
            raise refuse("search", "a version filter needs a workflow name")
        if statuses:
            flt["status"] = sorted({"RUNNING" if s == ExecutionStatus.PAUSED else str(s) for s in statuses})
        if created_from_ms is not None:
            flt["createdTimeStart"] = created_from_ms
        if created_to_ms is not None:
            flt["createdTimeEnd"] = created_to_ms
        doc = await self._call("POST", "/workflows/executions/list", tenant,
                               {"filter": flt, "limit": min(limit, 1000), "cursor": cursor}, idempotent=True)
        return Page([self.parse_execution(e, tenant) for e in doc.get("items") or []], doc.get("nextCursor"))

    async def terminate(self, execution_id: str, reason: str | None = None, *, tenant: str | None = None) -> Execution:
        await self._call("POST", f"/workflows/executions/{quote(execution_id, safe='')}/cancel", tenant,
                         {"reason": reason} if reason else {}, idempotent=False)
        return await self.get(execution_id, tenant=tenant)

    async def retry(self, execution_id: str, policy: RetryPolicy, *, tenant: str | None = None) -> Execution:
        if not policy.extra_attempt_past_limit:
            raise refuse("retry", "Cognite always gives a retried task one more attempt past its retry limit")
        if not policy.resume_subworkflows:
            current = await self.get(execution_id, tenant=tenant)
            if any(t.kind == "subworkflow" and t.status.unsuccessful_terminal for t in current.tasks):
                raise refuse("retry without resuming sub-workflows",
                             "Cognite retries the failed tasks inside a sub-workflow in place")
        if not policy.skip_optional:
            current = await self.get(execution_id, tenant=tenant)
            optional = {s.ref for s in (current.definition.tasks if current.definition else []) if s.optional}
            failed = [t.ref for t in current.tasks if t.ref in optional and not t.retried
                      and t.status in (TaskStatus.FAILED, TaskStatus.COMPLETED_WITH_ERRORS, TaskStatus.TIMED_OUT)]
            if failed:
                raise refuse("retry of optional tasks", f"Cognite does not retry skipTask tasks ({', '.join(failed)})")
        await self._call("POST", f"/workflows/executions/{quote(execution_id, safe='')}/retry", tenant,
                         {"authentication": {"nonce": await self._nonce(tenant)}}, idempotent=False)
        return await self.get(execution_id, tenant=tenant)

    async def clone(self, execution_id: str, *, tenant: str | None = None, resume_from_ref: str | None = None,
                    execution_id_new: str | None = None, input: dict[str, Any] | None = None) -> Execution:
        """Altostrat's re-run (a new run with the same payload): a Cognite run; Cognite picks the id."""
        if resume_from_ref is not None:
            raise refuse(f"a new run resumed from task {resume_from_ref}", CAPABILITIES["clone_from_task"][1])
        original = await self.get(execution_id, tenant=tenant)
        metadata = {k: v for k, v in original.metadata.items() if k != CORRELATION_KEY}
        return await self.start(tenant or original.tenant, original.definition_name, original.definition_version,
                                dict(original.input if input is None else input),
                                correlation_id=original.correlation_id, metadata=metadata or None)

    # -- tasks --------------------------------------------------------------------------------------
    async def complete_task(self, task_id: str, status: TaskStatus, *, tenant: str | None = None,
                            execution_id: str | None = None, output: dict[str, Any] | None = None,
                            reason: str | None = None, worker_id: str | None = None, extend_lease: bool = False,
                            callback_after_ms: int = 0, logs: list[str] | None = None) -> TaskAttempt:
        if status not in (TaskStatus.COMPLETED, TaskStatus.FAILED, TaskStatus.FAILED_WITH_TERMINAL_ERROR):
            raise refuse(f"a task update to {status}", "Cognite tasks are only completed or failed")
        if reason:
            raise refuse("reasonForIncompletion", "Cognite task updates carry no reason")
        if logs:
            raise refuse("task logs", "Cognite tasks have no logs")
        if extend_lease or callback_after_ms:
            raise refuse("a lease extension or callback", "Cognite tasks have no leases")
        doc = await self._call("POST", f"/workflows/tasks/{quote(task_id, safe='')}/update", tenant,
                               {"status": str(status), "output": output or {}}, idempotent=False)
        return self._task(doc, execution_id or "", {}, 0, None)

    # -- Cognite JSON -> canonical ------------------------------------------------------------------
    def parse_execution(self, doc: dict[str, Any], tenant: str) -> Execution:
        definition = None
        if doc.get("workflowDefinition"):
            definition = self._definition(tenant, {"workflowExternalId": doc["workflowExternalId"],
                                                   "version": doc.get("version"),
                                                   "workflowDefinition": doc["workflowDefinition"]})
        kinds = {s.ref: s.kind for s in (definition.tasks if definition else [])}
        attempts: list[TaskAttempt] = []
        latest: dict[str, TaskAttempt] = {}
        for seq, t in enumerate(doc.get("executedTasks") or [], start=1):
            previous = latest.get(t["externalId"])
            attempt = self._task(t, str(doc["id"]), kinds, seq, previous)
            if previous is not None:
                previous.retried = True
            latest[t["externalId"]] = attempt
            attempts.append(attempt)
        metadata = dict(doc.get("metadata") or {})
        return Execution(
            id=str(doc["id"]), tenant=tenant, definition_name=str(doc["workflowExternalId"]),
            definition_version=str(doc.get("version") or ""),
            status=_EXECUTION_STATUS.get(str(doc.get("status")).upper(), ExecutionStatus.RUNNING),
            input=doc.get("input") or {}, correlation_id=metadata.get(CORRELATION_KEY), metadata=metadata,
            reason=doc.get("reasonForIncompletion"), dialect="cognite", created_ms=int(doc.get("createdTime") or 0),
            started_ms=int(doc.get("startTime") or 0), ended_ms=int(doc.get("endTime") or 0),
            updated_ms=int(doc.get("endTime") or doc.get("startTime") or doc.get("createdTime") or 0),
            definition=definition, tasks=attempts,
        )

    def _task(self, t: dict[str, Any], execution_id: str, kinds: dict[str, str], seq: int,
              previous: TaskAttempt | None) -> TaskAttempt:
        ref = str(t.get("externalId") or "")
        return TaskAttempt(
            id=str(t["id"]), execution_id=execution_id, ref=ref, name=ref, kind=kinds.get(ref, "wait"),
            status=_TASK_STATUS.get(str(t.get("status")).upper(), TaskStatus.SCHEDULED), seq=seq,
            attempt=previous.attempt + 1 if previous else 0, input=t.get("input") or {},
            output=t.get("output") or {}, reason=t.get("reasonForIncompletion"),
            retried_from=previous.id if previous else None, scheduled_ms=int(t.get("startTime") or 0),
            started_ms=int(t.get("startTime") or 0), ended_ms=int(t.get("endTime") or 0),
            updated_ms=int(t.get("endTime") or t.get("startTime") or 0),
            extra={"cognite": {"taskType": t.get("taskType"), "parentTaskExternalId": t.get("parentTaskExternalId")}},
        )


def create_client(settings: BackendSettings, transport: UpstreamTransport) -> CogniteClient:
    return CogniteClient(settings, transport)
