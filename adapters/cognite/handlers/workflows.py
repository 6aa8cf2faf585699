"""Workflows: upsert, list, retrieve, delete.  A workflow owns versions (engine definitions of the
same name) and triggers; its own fields live in the dialect's state."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response
from wfgateway.adapters.cognite.clock import now_ms
from wfgateway.adapters.cognite.errors import conflict, not_found
from wfgateway.adapters.cognite.handlers.triggers import delete_triggers_of
from wfgateway.adapters.cognite.limits import WORKFLOWS
from wfgateway.adapters.cognite.paging import encode, field
from wfgateway.adapters.cognite.service import CogniteService, json, limit_of
from wfgateway.adapters.cognite.state import key

from wfgateway.core.errors import NotFound
from wfgateway.core.statuses import ExecutionStatus
from wfgateway.dialect import Call

FIELDS = ("description", "dataSetId", "maxConcurrentExecutions")
RUNNING_EXECUTIONS = "Some of the specified workflows have running executions"  # CDF's text, clients match it


async def ensure_workflow(svc: CogniteService, project: str, xid: str) -> dict[str, Any]:
    """The workflow ``xid``, created empty when a version is upserted for a new one."""
    existing = await svc.kv.get(WORKFLOWS, key(project, xid))
    if existing is not None:
        return existing
    now = now_ms()
    wf = {"externalId": xid, "createdTime": now, "lastUpdatedTime": now}
    if not await svc.kv.insert(WORKFLOWS, key(project, xid), wf):
        return await svc.kv.get(WORKFLOWS, key(project, xid)) or wf
    return wf


async def upsert_workflow(svc: CogniteService, project: str, item: dict[str, Any]) -> dict[str, Any]:
    k = key(project, item["externalId"])
    existing = await svc.kv.get(WORKFLOWS, k)
    now = now_ms()
    wf: dict[str, Any] = {"externalId": item["externalId"]}
    for f in FIELDS:
        if item.get(f) is not None:
            wf[f] = item[f]
    wf["createdTime"] = existing["createdTime"] if existing else now
    wf["lastUpdatedTime"] = now
    await svc.kv.put(WORKFLOWS, k, wf)
    return wf


async def has_running(call: Call, project: str, name: str, version: str | None = None) -> bool:
    page = await call.backend.search(project, name=name, version=version,
                                     statuses=[ExecutionStatus.RUNNING, ExecutionStatus.PAUSED], limit=1,
                                     count=False)
    return bool(page.items)


def handlers(svc: CogniteService) -> dict[str, Any]:
    async def upsert_workflows(call: Call) -> Response:
        project = call.principal.tenant
        return json({"items": [await upsert_workflow(svc, project, item) for item in call.body["items"]]})

    async def list_workflows(call: Call) -> Response:
        project = call.principal.tenant
        limit = limit_of(call.query.get("limit"))
        after = field(call, call.query.get("cursor"), "after", str)
        rows = await svc.kv.scan(WORKFLOWS, key(project, ""), after=after, limit=limit + 1)
        items = [v for _, v in rows[:limit]]
        cursor = encode(call, {"after": rows[limit - 1][0]}) if len(rows) > limit else None
        return json({"items": items, "nextCursor": cursor})

    async def retrieve_workflow(call: Call) -> Response:
        project, xid = call.principal.tenant, call.path["workflowExternalId"]
        wf = await svc.kv.get(WORKFLOWS, key(project, xid))
        if wf is None:
            raise not_found(f"Workflow with externalId '{xid}' not found", [{"externalId": xid}])
        return json(wf)

    async def delete_workflows(call: Call) -> Response:
        project = call.principal.tenant
        ignore = bool(call.query.get("ignoreUnknownIds", False))
        xids = list(dict.fromkeys(item["externalId"] for item in call.body["items"]))
        known = [x for x in xids if await svc.kv.get(WORKFLOWS, key(project, x)) is not None]
        missing = [x for x in xids if x not in known]
        if missing and not ignore:
            # CDF documents 404 here, and deletes none of the batch
            raise not_found("The following workflows were not found", [{"externalId": x} for x in missing])
        busy = [x for x in known if await has_running(call, project, x)]
        if busy:
            raise conflict(RUNNING_EXECUTIONS)
        for x in known:
            try:
                await call.backend.delete_definition(project, x)
            except NotFound:
                pass
            await delete_triggers_of(svc, project, x)
            await svc.kv.delete(WORKFLOWS, key(project, x))
        return json({})

    return {
        "upsertWorkflows": upsert_workflows,
        "listWorkflows": list_workflows,
        "retrieveWorkflow": retrieve_workflow,
        "deleteWorkflows": delete_workflows,
    }
