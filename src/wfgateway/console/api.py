"""The console's JSON API: session, runs (list, detail, actions, bulk actions), definitions, start.

Reads go to the engine directly (the runs it stores, of every dialect); every change goes through a
dialect's own operation (``actions.Performer``).  Each call sees only the tenants its session may see;
another tenant's run is answered as unknown.  State-changing calls need the session's CSRF token.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response

from wfgateway.adapter import Dialect
from wfgateway.console.actions import Performer
from wfgateway.console.audit import AuditEntry, AuditLog, now_ms
from wfgateway.console.graph import execution_graph, graph_json
from wfgateway.console.session import Session, Sessions, csrf_ok
from wfgateway.console.upstream import UpstreamRuns
from wfgateway.console.vocabulary import (
    ACTIONS,
    ActionRequest,
    ConsoleVocabulary,
    Identity,
    Refused,
    TaskLabel,
)
from wfgateway.console.web import (
    ConsoleError,
    int_param,
    json,
    json_body,
    object_value,
    text_value,
    with_etag,
)
from wfgateway.core.errors import GatewayError, NotFound
from wfgateway.core.model import Execution, WorkflowDefinition
from wfgateway.core.statuses import ExecutionStatus
from wfgateway.cursors import BadCursor, CursorSigner
from wfgateway.dialect import Principal
from wfgateway.engine import Engine
from wfgateway.exact_json import dumps
from wfgateway.pipeline import Pipeline

log = logging.getLogger("wfgateway.console")

PAGE_DEFAULT, PAGE_MAX = 25, 100
SCAN_MAX = 500  # rows one runs-list call may check against its filters before it answers with a cursor
CHILDREN_MAX = 20  # sub-workflow runs drawn inside a run's DAG
SCAN_BATCH = 250  # rows read per store query while checking filters
WORKFLOW_NAMES_MAX = 1000  # definitions read to match a workflow filter against the vendors' own names
STATUSES = {s.value: s for s in ExecutionStatus}


class ConsoleApi:
    def __init__(self, *, engine: Engine, pipeline: Pipeline, gateway: Any, dialects: list[Dialect],
                 vocabularies: dict[str, ConsoleVocabulary], sessions: Sessions, cursors: CursorSigner,
                 audit: AuditLog, loopback: Callable[[Request], bool], upstream: UpstreamRuns | None = None) -> None:
        self.engine = engine
        self.pipeline = pipeline
        self.gateway = gateway
        self.dialects = {d.name: d for d in dialects}
        self.vocabularies = vocabularies
        self.sessions = sessions
        self.cursors = cursors
        self.audit = audit
        self.loopback = loopback
        self.upstream = upstream

    # -- sessions ---------------------------------------------------------------------------------
    @property
    def open_mode(self) -> bool:
        return bool(self.vocabularies) and all(v.open_mode for v in self.vocabularies.values())

    def _session(self, request: Request) -> Session:
        session = self.sessions.read(request)
        if session is None:
            raise ConsoleError(401, "Log in to the console first")
        if not session.identity.dialect and not (self.open_mode and self.loopback(request)):
            raise ConsoleError(401, "The console is no longer open; log in with a credential")
        return session

    def _changing(self, request: Request) -> Session:
        session = self._session(request)
        if not csrf_ok(request, session):
            raise ConsoleError(403, "Missing or wrong CSRF token: reload the console")
        return session

    def _tenant(self, session: Session, value: Any) -> str:
        tenants = session.identity.tenants
        if value is not None and not isinstance(value, str):
            raise ConsoleError(400, "tenant: a tenant's name")
        tenant = value or (sorted(tenants)[0] if tenants else "default")
        if not session.may_see(tenant):
            raise ConsoleError(403, f"This login may not see tenant '{tenant}'")
        return tenant

    def _dialects_json(self) -> list[dict[str, Any]]:
        return [{"name": v.dialect, "title": v.title, "login_fields": list(v.login_fields()),
                 "actions": sorted(v.actions)} for v in self.vocabularies.values()]

    async def session(self, request: Request) -> Response:
        session = self.sessions.read(request)
        doc: dict[str, Any] = {"open": self.open_mode and self.loopback(request), "dialects": self._dialects_json()}
        if session is None and doc["open"]:
            response = json(doc)
            session = self.sessions.issue(response, Identity("anonymous (open mode)", "", None),
                                          secure=request.url.scheme == "https")
            doc["identity"] = _identity_json(session)
            response.body = dumps(doc)
            response.headers["content-length"] = str(len(response.body))
            return response
        doc["identity"] = _identity_json(session) if session is not None else None
        return json(doc)

    async def login(self, request: Request) -> Response:
        origin = request.headers.get("origin")
        if origin and origin != "null" and origin.split("://", 1)[-1] != request.headers.get("host", ""):
            raise ConsoleError(403, "Log in from the console's own page")  # no login forced from another site
        body = await json_body(request)
        vocabulary = self.vocabularies.get(str(body.get("dialect") or ""))
        if vocabulary is None:
            raise ConsoleError(400, "Choose the dialect whose credential you present")
        sent = body.get("fields")
        fields: dict[Any, Any] = sent if isinstance(sent, dict) else {}
        if vocabulary.open_mode:
            raise ConsoleError(400, f"{vocabulary.title} runs without credentials here; there is nothing to log in with")
        try:
            identity = await vocabulary.login({str(k): str(v) for k, v in fields.items()})
        except Refused as exc:
            raise ConsoleError(401, f"{vocabulary.title}: {exc.message}") from None
        response = json({})
        session = self.sessions.issue(response, identity, secure=request.url.scheme == "https")
        response.body = orjson.dumps({"identity": _identity_json(session)})
        response.headers["content-length"] = str(len(response.body))
        return response

    async def logout(self, request: Request) -> Response:
        self._changing(request)
        response = json({"identity": None})
        self.sessions.clear(response)
        return response

    # -- runs -------------------------------------------------------------------------------------
    def _words(self, e: Execution) -> dict[str, str]:
        vocabulary = self.vocabularies.get(e.dialect)
        if vocabulary is None:
            return {"title": e.dialect or "engine", "id_name": "id", "status": str(e.status),
                    "workflow": e.definition_name}
        w = vocabulary.words(e)
        return {"title": w.title, "id_name": w.id_name, "status": w.status, "workflow": w.workflow or e.definition_name}

    def _shown_input(self, e: Execution) -> Any:
        vocabulary = self.vocabularies.get(e.dialect)
        return vocabulary.shown_input(e) if vocabulary is not None else e.input

    def _row(self, e: Execution) -> dict[str, Any]:
        return {
            "id": e.id, "tenant": e.tenant, "dialect": e.dialect, "workflow": e.definition_name,
            "version": str(e.definition_version), "status": str(e.status), "words": self._words(e),
            "created_ms": e.created_ms, "ended_ms": e.ended_ms, "correlation_id": e.correlation_id,
            "reason": e.reason, "parent": e.parent_execution_id,
        }

    async def runs(self, request: Request) -> Response:
        """A page of the tenant's runs, newest first, paged by key.  Name, status, dialect, correlation id
        and time range are the store's indexed filters (a page reads the rows it answers); free text is
        checked here on at most SCAN_MAX rows per call, so every call costs the same however many runs
        are stored -- a sparse text filter answers a short page and a cursor that goes on scanning where
        this one stopped."""
        session = self._session(request)
        q = request.query_params
        tenant = self._tenant(session, q.get("tenant"))
        limit = int_param(q.get("limit"), PAGE_DEFAULT, 1, PAGE_MAX)
        wanted = [s for s in (q.get("status") or "").split(",") if s]
        if any(s not in STATUSES for s in wanted):
            raise ConsoleError(400, f"Unknown status; one of {', '.join(STATUSES)}")
        flt = {
            "workflow": q.get("workflow") or None, "status": sorted(wanted) or None,
            "correlation": q.get("correlation") or None, "from": int_param(q.get("from"), None, 0, None),
            "to": int_param(q.get("to"), None, 0, None), "dialect": q.get("dialect") or None,
            "text": (q.get("q") or "").strip().lower() or None,
        }
        named = await self._workflow_names(tenant, flt["workflow"]) if flt["workflow"] else None
        position: str | None = None
        skip = 0
        if q.get("cursor"):
            try:
                state = self.cursors.open(q["cursor"], tenant=tenant, operation="console-runs", filter=flt)
            except BadCursor:
                raise ConsoleError(400, "Invalid cursor: it was issued for another list or filter") from None
            position, skip = state.get("e"), int(state.get("skip") or 0)
        checked_here = flt["text"] is not None
        batch = SCAN_BATCH if checked_here else limit
        rows: list[dict[str, Any]] = []
        scanned = 0
        after: dict[str, Any] | None = None
        while True:
            try:
                page = await self.engine.search(
                    tenant, name=None if named else flt["workflow"], workflows=named, correlation_id=flt["correlation"], created_from_ms=flt["from"],
                    created_to_ms=flt["to"], cursor=position, limit=skip + batch, count=False,
                    statuses=[STATUSES[s] for s in flt["status"]] if flt["status"] else None, dialect=flt["dialect"],
                )
            except GatewayError as exc:
                raise ConsoleError(400, exc.message) from None
            consumed = skip
            for e in page.items[skip:]:
                consumed += 1
                scanned += 1
                if _keep(e, flt, self._words(e)["workflow"]):
                    rows.append(self._row(e))
                if len(rows) >= limit or (checked_here and scanned >= SCAN_MAX):
                    break
            if consumed < len(page.items):  # stopped inside this batch: the next call resumes in it
                after = {"e": position, "skip": consumed}
                break
            position, skip = page.next_cursor, 0
            if position is None:
                break
            if len(rows) >= limit or (checked_here and scanned >= SCAN_MAX):
                after = {"e": position, "skip": 0}
                break
        cursor = self.cursors.seal(after, tenant=tenant, operation="console-runs", filter=flt) if after else None
        return with_etag(request, {"tenant": tenant, "runs": rows, "next": cursor, "scanned": scanned})

    async def _workflow_names(self, tenant: str, wanted: str) -> list[tuple[str, str | None]] | None:
        """The stored names of the workflows whose vendor name is ``wanted`` (case aside), beside
        ``wanted`` itself: Altostrat users know a workflow as "Greetings", the engine as ``fl_...``.
        None when no definition is named so (the filter is the stored name alone)."""
        names = {wanted}
        page = await self.engine.list_definitions(tenant, limit=WORKFLOW_NAMES_MAX)
        for d in page.items:
            if d.name != wanted and self._workflow_title(d).casefold() == wanted.casefold():
                names.add(d.name)
        return [(n, None) for n in sorted(names)] if len(names) > 1 else None

    async def _load(self, tenant: str, run_id: str, include_history: bool) -> tuple[Execution, str]:
        """The run and the backend that holds it: the engine, or the upstream vendor the registry names."""
        try:
            return await self.engine.get(run_id, tenant=tenant, include_history=include_history), "engine"
        except NotFound:
            pass
        backend = await self.upstream.owner(run_id, tenant) if self.upstream is not None else None
        if backend is None or self.upstream is None:
            raise ConsoleError(404, f"No run {run_id} in tenant '{tenant}'")
        try:
            return await self.upstream.get(backend, run_id, tenant, include_history), backend
        except GatewayError as exc:
            raise ConsoleError(502, f"Upstream {backend}: {exc.message}") from None
        except (TimeoutError, LookupError, OSError) as exc:
            raise ConsoleError(502, f"Upstream {backend} did not answer: {type(exc).__name__}") from None

    async def _children(self, e: Execution, backend: str) -> dict[str, Execution]:
        """The child runs of the run's current sub-workflow tasks (one level, at most CHILDREN_MAX),
        drawn inside their tasks; a child that cannot be read is left to its link."""
        if backend != "engine":
            return {}
        found: dict[str, Execution] = {}
        for a in e.tasks:
            if a.visible and a.subworkflow_id and len(found) < CHILDREN_MAX:
                try:
                    found[a.id] = await self.engine.get(a.subworkflow_id, tenant=e.tenant, include_history=True)
                except NotFound:
                    continue
        return found

    def _performer_for(self, dialect: str, action: str) -> ConsoleVocabulary | None:
        own = self.vocabularies.get(dialect)
        if own is not None and action in own.actions:
            return own
        return next((v for v in self.vocabularies.values() if action in v.actions), None)

    async def run(self, request: Request) -> Response:
        session = self._session(request)
        tenant = self._tenant(session, request.query_params.get("tenant"))
        e, backend = await self._load(tenant, request.path_params["run_id"], True)
        names = []
        for v in self.vocabularies.values():
            w = v.words(e)
            names.append({"title": w.title, "id_name": w.id_name, "id": e.id, "status": w.status,
                          "own": v.dialect == e.dialect})
        actions = []
        for action in ACTIONS:
            performer = self._performer_for(e.dialect, action)
            if performer is not None:
                actions.append({"action": action, "dialect": performer.dialect, "title": performer.title,
                                "label": performer.action_labels.get(action)})
        history = [h.as_json() for h in await self.audit.history(e.id, e.tenant)]
        doc = {
            "run": {**self._row(e), "input": self._shown_input(e), "output": e.output, "variables": e.variables,
                    "metadata": e.metadata, "cloned_from": e.cloned_from, "started_ms": e.started_ms,
                    "updated_ms": e.updated_ms, "backend": backend},
            "names": names, "actions": actions, "graph": execution_graph(e, await self._children(e, backend), self._labels()),
            "history": history,
        }
        return with_etag(request, doc)

    async def _act(self, request: Request, session: Session, tenant: str, run_id: str, action: str,
                   body: dict[str, Any]) -> dict[str, Any]:
        try:
            e, _ = await self._load(tenant, run_id, False)
        except ConsoleError as exc:
            return {"id": run_id, "ok": False, "refusal": exc.message}
        vocabulary = self._performer_for(e.dialect, action)
        if vocabulary is None:
            return {"id": run_id, "ok": False, "refusal": f"No enabled dialect offers {action.replace('_', '-')}"}
        req = ActionRequest(action, e, task_id=text_value(body.get("task_id")), node=text_value(body.get("node")),
                            workflow_input=object_value(body, "workflow_input"), task_input=object_value(body, "task_input"),
                            reason=text_value(body.get("reason")))
        perform = Performer(self.pipeline, self.gateway, self.dialects[vocabulary.dialect], vocabulary, request,
                            Principal(tenant=tenant, subject=session.identity.subject))
        subject = session.identity.subject
        try:
            shown = await vocabulary.act(req, perform)
        except Refused as exc:
            await self.audit.record(AuditEntry(run_id, tenant, now_ms(), subject, action, vocabulary.dialect,
                                               "refused", exc.message))
            return {"id": run_id, "ok": False, "refusal": exc.message, "by": vocabulary.title}
        detail = "" if shown == run_id else f"new run {shown}"
        await self.audit.record(AuditEntry(run_id, tenant, now_ms(), subject, action, vocabulary.dialect,
                                           "done", detail))
        if shown != run_id:
            await self.audit.record(AuditEntry(shown, tenant, now_ms(), subject, action, vocabulary.dialect,
                                               "done", f"made from run {run_id}"))
        return {"id": run_id, "ok": True, "run_id": shown, "by": vocabulary.title}

    async def action(self, request: Request) -> Response:
        session = self._changing(request)
        action = request.path_params["action"]
        if action not in ACTIONS:
            raise ConsoleError(404, f"No console action '{action}'")
        body = await json_body(request)
        tenant = self._tenant(session, body.get("tenant"))
        result = await self._act(request, session, tenant, request.path_params["run_id"], action, body)
        # a refusal is an answer the page shows ("ok": false and the vendor's words), not a failed request
        # (a 4xx would also be logged as an error in the browser's console)
        return json(result)

    async def bulk(self, request: Request) -> Response:
        session = self._changing(request)
        action = request.path_params["action"]
        if action not in ("retry", "restart"):
            raise ConsoleError(404, f"No bulk action '{action}': retry or restart")
        body = await json_body(request)
        tenant = self._tenant(session, body.get("tenant"))
        ids = body.get("ids")
        if not isinstance(ids, list) or not ids or len(ids) > PAGE_MAX or not all(isinstance(i, str) for i in ids):
            raise ConsoleError(400, f"ids: a list of 1 to {PAGE_MAX} run ids")
        results = [await self._act(request, session, tenant, run_id, action, {}) for run_id in ids]
        return json({"results": results})

    async def upstream_runs(self, request: Request) -> Response:
        """The tenant's runs on upstream vendors (what the run registry knows), in id order, each read
        back through its backend; a run that cannot be read says why."""
        session = self._session(request)
        tenant = self._tenant(session, request.query_params.get("tenant"))
        if self.upstream is None:
            return with_etag(request, {"tenant": tenant, "runs": [], "next": None})
        after = ""
        if request.query_params.get("cursor"):
            try:
                after = str(self.cursors.open(request.query_params["cursor"], tenant=tenant,
                                              operation="console-upstream").get("after") or "")
            except BadCursor:
                raise ConsoleError(400, "Invalid cursor: it was issued for another list") from None
        limit = int_param(request.query_params.get("limit"), PAGE_DEFAULT, 1, PAGE_MAX)
        page, nxt = await self.upstream.page(tenant, after, limit)
        rows = []
        for run_id, backend, dialect, run in page:
            if isinstance(run, Execution):
                rows.append({**self._row(run), "backend": backend})
            else:
                rows.append({"id": run_id, "tenant": tenant, "dialect": dialect, "backend": backend, "error": run})
        cursor = self.cursors.seal({"after": nxt}, tenant=tenant, operation="console-upstream") if nxt else None
        return with_etag(request, {"tenant": tenant, "runs": rows, "next": cursor})

    # -- definitions --------------------------------------------------------------------------------
    async def definitions(self, request: Request) -> Response:
        session = self._session(request)
        tenant = self._tenant(session, request.query_params.get("tenant"))
        position = None
        if request.query_params.get("cursor"):
            try:
                position = self.cursors.open(request.query_params["cursor"], tenant=tenant,
                                             operation="console-definitions").get("e")
            except BadCursor:
                raise ConsoleError(400, "Invalid cursor: it was issued for another list") from None
        page = await self.engine.list_definitions(tenant, cursor=position, limit=PAGE_MAX)
        items = [{"name": d.name, "version": str(d.version), "dialect": d.dialect, "description": d.description,
                  "tasks": len(d.tasks), "title": self._title(d.dialect), "updated_ms": d.updated_ms,
                  "workflow": self._workflow_title(d)} for d in page.items]
        nxt = (self.cursors.seal({"e": page.next_cursor}, tenant=tenant, operation="console-definitions")
               if page.next_cursor else None)
        return with_etag(request, {"tenant": tenant, "definitions": items, "next": nxt})

    def _workflow_title(self, d: WorkflowDefinition) -> str:
        vocabulary = self.vocabularies.get(d.dialect)
        return vocabulary.workflow_title(d) if vocabulary is not None else d.name

    def _labels(self) -> dict[str, TaskLabel]:
        return {name: v.task_label for name, v in self.vocabularies.items()}

    def _title(self, dialect: str) -> str:
        v = self.vocabularies.get(dialect)
        return v.title if v is not None else (dialect or "engine")

    async def definition(self, request: Request) -> Response:
        session = self._session(request)
        tenant = self._tenant(session, request.query_params.get("tenant"))
        name, version = request.path_params["name"], request.path_params["version"]
        try:
            d = await self.engine.get_definition(tenant, name, version)
        except NotFound:
            raise ConsoleError(404, f"No definition {name} version {version} in tenant '{tenant}'") from None
        return json({"name": d.name, "version": str(d.version), "dialect": d.dialect, "title": self._title(d.dialect),
                     "workflow": self._workflow_title(d),
                     "description": d.description, "graph": graph_json(d, [], dialect=d.dialect, labels=self._labels())})

    async def start(self, request: Request) -> Response:
        session = self._changing(request)
        body = await json_body(request)
        tenant = self._tenant(session, body.get("tenant"))
        name, version = text_value(body.get("name")), text_value(body.get("version"))
        run_input = object_value(body, "input") or {}
        if not name:
            raise ConsoleError(400, "name: the workflow to start")
        try:
            d = await self.engine.get_definition(tenant, name, version)
        except NotFound:
            which = f"version {version}" if version else "any version"
            raise ConsoleError(404, f"No definition {name} ({which}) in tenant '{tenant}'") from None
        vocabulary = self.vocabularies.get(d.dialect) or next(iter(self.vocabularies.values()), None)
        if vocabulary is None:
            raise ConsoleError(409, "No dialect is enabled to start the run")
        perform = Performer(self.pipeline, self.gateway, self.dialects[vocabulary.dialect], vocabulary, request,
                            Principal(tenant=tenant, subject=session.identity.subject))
        try:
            run_id = await vocabulary.start(d, run_input, perform)
        except Refused as exc:
            return json({"ok": False, "refusal": exc.message, "by": vocabulary.title})
        await self.audit.record(AuditEntry(run_id, tenant, now_ms(), session.identity.subject, "start",
                                           vocabulary.dialect, "done", ""))
        return json({"ok": True, "run_id": run_id, "by": vocabulary.title})


def _identity_json(session: Session | None) -> dict[str, Any] | None:
    if session is None:
        return None
    tenants = session.identity.tenants
    return {"subject": session.identity.subject, "dialect": session.identity.dialect,
            "tenants": None if tenants is None else sorted(tenants), "csrf": session.csrf}


def _keep(e: Execution, flt: dict[str, Any], workflow: str) -> bool:
    """The free-text filter (the store filters the rest); ``workflow`` is the name its vendor shows."""
    text = flt["text"]
    if text is not None:
        hay = " ".join(str(x) for x in (e.id, e.definition_name, workflow, e.correlation_id or "",
                                        e.reason or "")).lower()
        return text in hay
    return True



