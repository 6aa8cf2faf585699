"""Altostrat's client half: the Backend protocol spoken to an upstream Altostrat SDX (``/workflows``).

Another dialect's handlers (Conductor, Cognite) call canonical operations; each becomes the
Altostrat call with the same meaning.  A workflow is addressed by its ``fl_`` id (the definition
name) and has one version, 1; a run's input is the ``context`` it was executed with; its tasks are
its log entries.  A run id ``fl_run_<ULID>`` is shown as the UUID its ULID encodes, since Cognite's
execution ids must be UUIDs (Conductor's are too); both forms are accepted.  The gateway
authenticates with the backend's credentials (``token_env``: a Bearer token), never the caller's.

Altostrat re-runs and resumes always make a *new* run, and it has no endpoint to cancel, pause,
retry or restart a run in place, no task queue, no correlation ids, priorities or run metadata:
those calls raise NotImplementedByBackend naming what cannot be translated, before anything is
sent.  A run does not say which workflow it belongs to (the current docs' WorkflowRun has no such
field), so the client remembers the workflow of every run it starts or lists and otherwise looks
for the run in each workflow's run history.  CAPABILITIES feeds docs/compatibility.md.
"""

from __future__ import annotations

import asyncio
import uuid
from collections import OrderedDict
from typing import Any
from urllib.parse import quote

from wfgateway.adapters.altostrat.client_json import context_of, ms, parse_run, to_definition, upstream_id
from wfgateway.adapters.altostrat.workflows import VERSION, record_of

from wfgateway.backends.json_client import JsonUpstream, refusal
from wfgateway.backends.refused import RefusedOperations
from wfgateway.backends.settings import BackendSettings
from wfgateway.backends.transport import UpstreamTransport
from wfgateway.core.errors import InvalidArgument, NotFound
from wfgateway.core.model import Execution, Page, TaskAttempt, WorkflowDefinition
from wfgateway.core.statuses import ExecutionStatus, TaskStatus

VENDOR = "Altostrat SDX"
NEW_RUN_ONLY = "Altostrat re-runs and resumes always create a new run with a new id"

CAPABILITIES: dict[str, tuple[str, str]] = {
    "put_definition": ("refused", "Altostrat workflows are written through Altostrat's own API only "
                                  "(nodes and edges; Altostrat chooses the fl_ id)"),
    "task_definitions": ("refused", "Altostrat has no task definitions"),
    "get_definition": ("translated", "a workflow's fl_ id is its name; its one version is 1"),
    "list_definitions": ("translated", "a workflow's fl_ id is its name; its one version is 1"),
    "delete_definition": ("translated", "only a workflow without runs (Altostrat deletes a workflow's runs with it)"),
    "start": ("translated", "the input is the run's context; no correlation id, priority or metadata; "
                            "an idempotency key returns the first run within 24 hours"),
    "get": ("translated", "tasks are the run's log entries; run ids shown as UUIDs"),
    "search": ("translated", "runs of one workflow, newest first; no correlation id or parent filter"),
    "terminate": ("refused", "Altostrat has no endpoint to cancel a run"),
    "delete_execution": ("refused", "Altostrat has no endpoint to delete a run (runs go with their workflow)"),
    "pause": ("refused", "Altostrat runs cannot be paused"),
    "resume": ("refused", "Altostrat runs cannot be paused or resumed"),
    "rerun": ("refused", f"{NEW_RUN_ONLY}; it cannot rerun a run in place"),
    "retry": ("refused", f"{NEW_RUN_ONLY}; it cannot retry a run's failed nodes in place"),
    "restart": ("refused", f"{NEW_RUN_ONLY}; it cannot restart a run in place"),
    "clone": ("exact", "Altostrat re-run"),
    "clone_from_task": ("exact", "Altostrat resume-from"),
    "poll": ("refused", "Altostrat has no task queue for workers to poll"),
    "complete_task": ("refused", "Altostrat nodes cannot be completed or failed from outside"),
    "get_task": ("refused", "Altostrat has no read of a single log entry"),
    "add_task_log": ("refused", "Altostrat log entries are written by the run only"),
}

_OWNERS = 100_000  # runs whose workflow the client remembers
_SCAN_BATCH = 8  # workflows searched at once for a run of unknown workflow


refuse = refusal(VENDOR)


def idempotency_uuid(key: str) -> str:
    """Altostrat's Idempotency-Key is a UUID: a UUID key as it is, any other key as a stable UUID of it."""
    try:
        return str(uuid.UUID(key))
    except ValueError:
        return str(uuid.uuid5(uuid.NAMESPACE_URL, f"wfgateway:idempotency:{key}"))


class AltostratClient(RefusedOperations):
    """A Backend over HTTP to one Altostrat SDX organisation (the one the configured token belongs to)."""

    VENDOR = VENDOR
    CAPABILITIES = CAPABILITIES

    def __init__(self, settings: BackendSettings, transport: UpstreamTransport) -> None:
        self.name = settings.name
        self.transport = transport
        self.upstream = JsonUpstream(transport, VENDOR)
        self._owners: OrderedDict[str, str] = OrderedDict()

    # -- which workflow a run belongs to -------------------------------------------------------------
    def _remember(self, run_id: str, workflow_id: str) -> None:
        self._owners[run_id] = workflow_id
        self._owners.move_to_end(run_id)
        if len(self._owners) > _OWNERS:
            self._owners.popitem(last=False)

    async def _workflow_of(self, run: dict[str, Any]) -> str:
        """The workflow of a run: embedded (the older docs' run), remembered, or found in the run histories."""
        run_id = str(run["id"])
        embedded = run.get("workflow")
        if isinstance(embedded, dict) and embedded.get("id"):
            found: str | None = str(embedded["id"])
        else:
            found = self._owners.get(run_id) or await self._search_histories(run)
        if found is None:
            raise NotFound(f"Workflow run '{run_id}' belongs to no workflow the gateway can see.")
        self._remember(run_id, found)
        return found

    async def _search_histories(self, run: dict[str, Any]) -> str | None:
        """Each workflow's runs, newest first, down to the time the run was created."""
        since = ms(run.get("created_at")) or ms(run.get("started_at"))
        workflows = await self.upstream.call("GET", "/workflows") or []
        ids = [str(w["id"]) for w in workflows if isinstance(w, dict) and w.get("id")]
        for start in range(0, len(ids), _SCAN_BATCH):
            batch = ids[start:start + _SCAN_BATCH]
            hits = await asyncio.gather(*(self._history_has(w, str(run["id"]), since) for w in batch))
            for workflow_id, hit in zip(batch, hits, strict=True):
                if hit:
                    return workflow_id
        return None

    async def _history_has(self, workflow_id: str, run_id: str, since_ms: int) -> bool:
        page = 1
        while True:
            try:
                doc = await self.upstream.call("GET", f"/workflows/{quote(workflow_id, safe='')}/executions?page={page}")
            except NotFound:
                return False
            data = doc.get("data") or []
            for item in data:
                self._remember(str(item["id"]), workflow_id)
            if any(str(item.get("id")) == run_id for item in data):
                return True
            oldest = min((ms(item.get("created_at")) or ms(item.get("started_at")) for item in data), default=0)
            if not data or not _has_next(doc, page) or (since_ms and oldest and oldest < since_ms):
                return False
            page += 1

    # -- definitions --------------------------------------------------------------------------------
    @staticmethod
    def _one_version(name: str, version: int | str | None) -> None:
        if version is not None and str(version) != str(VERSION):
            raise NotFound(f"Workflow '{name}' has no version {version}: an Altostrat workflow has one version, "
                           f"{VERSION}.")

    async def put_definition(self, definition: WorkflowDefinition, *, overwrite: bool = True) -> WorkflowDefinition:
        self._plain(definition.tenant, "put_definition")
        written = "Altostrat" if record_of(definition) is not None else (definition.dialect or "another")
        raise refuse("put_definition", f"a definition written in the {written} dialect: "
                                       + CAPABILITIES["put_definition"][1])

    async def get_definition(self, tenant: str, name: str, version: int | str | None = None) -> WorkflowDefinition:
        self._plain(tenant, "get_definition")
        self._one_version(name, version)
        return to_definition(tenant, await self.upstream.call("GET", f"/workflows/{quote(name, safe='')}"))

    async def list_definitions(self, tenant: str, name: str | None = None, *, cursor: str | None = None,
                               limit: int = 1000) -> Page:
        self._plain(tenant, "list_definitions")
        docs = [d for d in await self.upstream.call("GET", "/workflows") or []
                if isinstance(d, dict) and (name is None or d.get("id") == name)]
        docs.sort(key=lambda d: (ms(d.get("created_at")), str(d.get("id"))))  # oldest first, as Backend lists
        start = int(cursor or 0)
        page = docs[start:start + limit]
        # the list leaves out nodes and edges ("only returned when retrieving a single workflow")
        full = await asyncio.gather(*(self._full(d) for d in page))
        items = [to_definition(tenant, d) for d in full if d is not None]
        return Page(items, str(start + limit) if start + limit < len(docs) else None, len(docs))

    async def _full(self, doc: dict[str, Any]) -> dict[str, Any] | None:
        if "nodes" in doc and "edges" in doc:
            return doc
        try:
            return await self.upstream.call("GET", f"/workflows/{quote(str(doc['id']), safe='')}")
        except NotFound:  # deleted meanwhile
            return None

    async def delete_definition(self, tenant: str, name: str, version: int | str | None = None) -> None:
        self._plain(tenant, "delete_definition")
        self._one_version(name, version)
        path = f"/workflows/{quote(name, safe='')}"
        runs = await self.upstream.call("GET", f"{path}/executions?page=1")
        count = (runs.get("meta") or {}).get("total") if isinstance(runs, dict) else None
        if count or (isinstance(runs, dict) and runs.get("data")):
            raise refuse(f"deleting workflow {name}", f"it has {count or 'some'} run(s), and Altostrat deletes a "
                                                      "workflow's runs and logs with it")
        await self.upstream.call("DELETE", path, idempotent=True)

    # -- executions ---------------------------------------------------------------------------------
    async def start(self, tenant: str, name: str, version: int | str | None, input: dict[str, Any], *,
                    correlation_id: str | None = None, metadata: dict[str, Any] | None = None,
                    execution_id: str | None = None, idempotency_key: str | None = None,
                    idempotency_strategy: str = "fail", priority: int = 0, dialect: str = "",
                    definition: WorkflowDefinition | None = None) -> Execution:
        # execution_id (the caller's own id) cannot be kept: Altostrat chooses run ids; a UUID form is shown
        if definition is not None:
            raise refuse("start", "an inline definition (Altostrat runs only stored workflows)")
        if correlation_id is not None:
            raise refuse("start with a correlation id", "Altostrat runs have no correlation id")
        if priority:
            raise refuse("start with a priority", "Altostrat runs have no priority")
        if metadata:
            raise refuse(f"start with metadata {sorted(metadata)}", "Altostrat runs have no metadata")
        self._one_version(name, version)
        headers = None
        if idempotency_key:
            if idempotency_strategy != "return_existing":
                raise refuse(f"idempotency strategy {idempotency_strategy}",
                             "Altostrat answers a repeated Idempotency-Key with the first run, it never fails it")
            headers = {"Idempotency-Key": idempotency_uuid(idempotency_key)}
        doc = await self.upstream.call("POST", f"/workflows/{quote(name, safe='')}/execute", body={"context": input},
                               headers=headers, idempotent=bool(idempotency_key))
        self._remember(str(doc["id"]), name)
        return parse_run(doc, tenant, name)

    async def get(self, execution_id: str, *, tenant: str | None = None, include_history: bool = False) -> Execution:
        tenant = tenant or "default"
        run_id = upstream_id(execution_id)
        path = f"/workflows/runs/{quote(run_id, safe='')}"
        known = self._owners.get(run_id)
        if known is not None:
            run, workflow = await asyncio.gather(self.upstream.call("GET", path), self._workflow_doc(known),
                                                 return_exceptions=True)
            for outcome in (run, workflow):
                if isinstance(outcome, BaseException):
                    raise outcome
        else:
            run = await self.upstream.call("GET", path)
            known = await self._workflow_of(run)
            workflow = await self._workflow_doc(known)
        # Altostrat keeps no definition per run: the workflow as it is now describes the run's nodes
        definition = to_definition(tenant, workflow) if workflow is not None else None
        return parse_run(run, tenant, known, definition)

    async def _workflow_doc(self, workflow_id: str) -> dict[str, Any] | None:
        try:
            return await self.upstream.call("GET", f"/workflows/{quote(workflow_id, safe='')}")
        except NotFound:
            return None

    async def search(self, tenant: str, *, name: str | None = None, version: int | str | None = None,
                     statuses: list[ExecutionStatus] | None = None, correlation_id: str | None = None,
                     created_from_ms: int | None = None, created_to_ms: int | None = None,
                     parent_execution_id: str | None = None, cursor: str | None = None, limit: int = 100,
                     newest_first: bool = True, count: bool = True,
                     workflows: list[tuple[str, str | None]] | None = None, skip: int = 0) -> Page:
        if skip:
            raise refuse("search from an offset", "Altostrat lists runs page by page")
        if correlation_id is not None:
            raise refuse("search by correlation id", "Altostrat runs have no correlation id")
        if parent_execution_id is not None:
            raise refuse("search by parent", "Altostrat runs have no parent run")
        if not newest_first:
            raise refuse("search oldest first", "Altostrat lists runs newest first only")
        if workflows and len(workflows) > 1:
            raise refuse("search across workflows", "Altostrat lists the runs of one workflow at a time")
        if workflows:
            name, version = workflows[0]
        if name is None:
            raise refuse("search across workflows", "Altostrat lists the runs of one workflow at a time "
                                                    "(a workflow fl_ id is required)")
        if version is not None and str(version) != str(VERSION):
            return Page([], None, 0)
        filtered = bool(statuses) or created_from_ms is not None or created_to_ms is not None
        page, skip = _decode(cursor)
        items: list[Execution] = []
        total: int | None = None
        while True:
            try:
                doc = await self.upstream.call("GET", f"/workflows/{quote(name, safe='')}/executions?page={page}")
            except NotFound:
                return Page([], None, 0)
            total = (doc.get("meta") or {}).get("total")
            data = doc.get("data") or []
            for index in range(skip, len(data)):
                e = parse_run(data[index], tenant, name)
                self._remember(str(data[index]["id"]), name)
                if created_from_ms is not None and e.created_ms < created_from_ms:
                    return Page(items, None, None)  # newest first: every later run is older still
                if (not statuses or e.status in statuses) and (created_to_ms is None or e.created_ms <= created_to_ms):
                    items.append(e)
                if len(items) >= limit:
                    more = index + 1 < len(data) or _has_next(doc, page)
                    return Page(items, _encode(page, index + 1) if more else None, None if filtered else total)
            if not data or not _has_next(doc, page):
                return Page(items, None, None if filtered else total)
            page, skip = page + 1, 0

    async def clone(self, execution_id: str, *, tenant: str | None = None, resume_from_ref: str | None = None,
                    execution_id_new: str | None = None, input: dict[str, Any] | None = None) -> Execution:
        """Altostrat re-run (no ``resume_from_ref``) or resume-from: a new run with the original's payload."""
        tenant = tenant or "default"
        run_path = f"/workflows/runs/{quote(upstream_id(execution_id), safe='')}"
        original = await self.upstream.call("GET", run_path)
        if input is not None:
            kept = original.get("trigger_payload")
            if not isinstance(kept, dict) or context_of(kept) != context_of(input):
                raise refuse("a re-run with a different trigger payload",
                             "Altostrat re-runs and resumes with the original run's payload")
        workflow_id = await self._workflow_of(original)
        path = f"{run_path}/rerun" if resume_from_ref is None else \
            f"{run_path}/resume-from/{quote(resume_from_ref, safe='')}"
        doc = await self.upstream.call("POST", path, idempotent=False)
        new_run = doc.get("new_run") or {}
        self._remember(str(new_run["id"]), workflow_id)
        return parse_run(new_run, tenant, workflow_id)

    # -- tasks --------------------------------------------------------------------------------------
    async def complete_task(self, task_id: str, status: TaskStatus, **kwargs: Any) -> TaskAttempt:
        raise refuse(f"a task update to {status}", CAPABILITIES["complete_task"][1])


def _has_next(doc: dict[str, Any], page: int) -> bool:
    """Whether a Laravel page has a successor (``links.next``, else ``meta.last_page``)."""
    links, meta = doc.get("links") or {}, doc.get("meta") or {}
    if "next" in links:
        return bool(links["next"])
    last = meta.get("last_page")
    return isinstance(last, int) and page < last


def _decode(cursor: str | None) -> tuple[int, int]:
    """(page, index in it) where a search continues; ``page:index``."""
    if not cursor:
        return 1, 0
    try:
        page, index = (int(p) for p in cursor.split(":", 1))
    except ValueError:
        raise InvalidArgument(f"Invalid cursor '{cursor}'.") from None
    return max(page, 1), max(index, 0)


def _encode(page: int, index: int) -> str:
    return f"{page}:{index}"


def create_client(settings: BackendSettings, transport: UpstreamTransport) -> AltostratClient:
    return AltostratClient(settings, transport)
