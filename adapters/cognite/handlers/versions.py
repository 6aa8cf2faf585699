"""Workflow versions: upsert (translated into engine definitions), list (POST and GET), retrieve, delete."""

from __future__ import annotations

import ast
from typing import Any

import orjson
from starlette.responses import Response
from wfgateway.adapters.cognite import render
from wfgateway.adapters.cognite.errors import bad_request, conflict, not_found
from wfgateway.adapters.cognite.handlers.workflows import RUNNING_EXECUTIONS, ensure_workflow, has_running
from wfgateway.adapters.cognite.limits import check_definition_size
from wfgateway.adapters.cognite.nesting import check_references
from wfgateway.adapters.cognite.paging import page_of
from wfgateway.adapters.cognite.service import CogniteService, json, limit_of
from wfgateway.adapters.cognite.translate import normalize_definition

from wfgateway.core.errors import NotFound
from wfgateway.core.model import WorkflowDefinition
from wfgateway.dialect import Call


async def all_definitions(call: Call, project: str, name: str | None = None) -> list[WorkflowDefinition]:
    out: list[WorkflowDefinition] = []
    cursor: str | None = None
    while True:
        page = await call.backend.list_definitions(project, name, cursor=cursor, limit=1000)
        out.extend(d for d in page.items if d.dialect in ("", "cognite") and d.version != "inline")
        cursor = page.next_cursor
        if not cursor:
            return out


def matches(d: WorkflowDefinition, filters: list[dict[str, Any]]) -> bool:
    if not filters:
        return True
    return any(f["externalId"] == d.name and f.get("version") in (None, str(d.version)) for f in filters)


def parse_query_filter(text: str) -> dict[str, Any]:
    """A ``workflowFilters`` query value: JSON, or the Python repr the SDK's iterator sends."""
    try:
        value = orjson.loads(text)
    except orjson.JSONDecodeError:
        try:
            value = ast.literal_eval(text)
        except (ValueError, SyntaxError) as exc:
            raise bad_request(f"Invalid workflowFilters value: {text[:80]}") from exc
    if not isinstance(value, dict) or not isinstance(value.get("externalId"), str):
        raise bad_request(f"Invalid workflowFilters value: {text[:80]} (expected an object with externalId)")
    if value.get("version") is not None and not isinstance(value["version"], str):
        raise bad_request("Invalid workflowFilters value: version must be a string")
    return {"externalId": value["externalId"], "version": value.get("version")}


def handlers(svc: CogniteService) -> dict[str, Any]:
    async def upsert_versions(call: Call) -> Response:
        project = call.principal.tenant
        out = []
        for item in call.body["items"]:
            normalized = normalize_definition(item["workflowDefinition"])
            check_definition_size(normalized["tasks"])
            await check_references(call.backend, project, item["workflowExternalId"], item["version"],
                                   normalized["tasks"])
            definition = svc.translator.definition(project, item["workflowExternalId"], item["version"], normalized)
            stored = await call.backend.put_definition(definition, overwrite=True)
            await ensure_workflow(svc, project, item["workflowExternalId"])
            out.append(render.version(stored))
        return json({"items": out})

    async def listing(call: Call, filters: list[dict[str, Any]], limit: int, cursor: str | None) -> Response:
        project = call.principal.tenant
        names = {f["externalId"] for f in filters}
        if len(names) == 1:
            found = await all_definitions(call, project, next(iter(names)))
        else:
            found = await all_definitions(call, project)
        chosen = [d for d in found if matches(d, filters)]
        items, next_cursor = page_of(call, chosen, cursor, limit, filters)
        return json({"items": [render.version(d) for d in items], "nextCursor": next_cursor})

    async def list_versions(call: Call) -> Response:
        body = call.body or {}
        filters = (body.get("filter") or {}).get("workflowFilters") or []
        return await listing(call, filters, limit_of(body.get("limit")), body.get("cursor"))

    async def list_versions_get(call: Call) -> Response:
        filters = [parse_query_filter(v) for v in call.query.get("workflowFilters") or []]
        return await listing(call, filters, limit_of(call.query.get("limit")), call.query.get("cursor"))

    async def retrieve_version(call: Call) -> Response:
        project, xid, version = call.principal.tenant, call.path["workflowExternalId"], call.path["version"]
        try:
            d = await call.backend.get_definition(project, xid, version)
        except NotFound:
            raise not_found(f"Workflow version '{xid}' version '{version}' not found",
                            [{"workflowExternalId": xid, "version": version}]) from None
        return json(render.version(d))

    async def delete_versions(call: Call) -> Response:
        project = call.principal.tenant
        ignore = bool(call.query.get("ignoreUnknownIds", False))
        ids = list(dict.fromkeys((i["workflowExternalId"], i["version"]) for i in call.body["items"]))
        known, missing = [], []
        for xid, version in ids:
            try:
                await call.backend.get_definition(project, xid, version)
                known.append((xid, version))
            except NotFound:
                missing.append({"workflowExternalId": xid, "version": version})
        if missing and not ignore:
            # CDF documents 404 here, and deletes none of the batch
            raise not_found("The following workflow versions were not found", missing)
        busy = [f"{x}/{v}" for x, v in known if await has_running(call, project, x, v)]
        if busy:
            raise conflict(RUNNING_EXECUTIONS)
        for xid, version in known:
            try:
                await call.backend.delete_definition(project, xid, version)
            except NotFound:
                pass
        return json({})

    return {
        "upsertWorkflowVersions": upsert_versions,
        "listWorkflowVersions": list_versions,
        "listWorkflowVersionsGet": list_versions_get,
        "retrieveWorkflowVersion": retrieve_version,
        "deleteWorkflowVersions": delete_versions,
    }
