"""Handlers of /api/metadata: workflow definitions and task definitions."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response
from wfgateway.adapters.conductor import taskdefs
from wfgateway.adapters.conductor.common import tenant
from wfgateway.adapters.conductor.definitions import referenced_task_names, stored_version, to_definition
from wfgateway.adapters.conductor.render import workflow_def_json
from wfgateway.adapters.conductor.responses import empty_response, json_response

from wfgateway.core.backend import Backend
from wfgateway.core.errors import Conflict, GatewayError, NotFound, ValidationFailed
from wfgateway.core.model import WorkflowDefinition
from wfgateway.dialect import Call


def _def_not_found(name: str, version: Any) -> NotFound:
    return NotFound(f"No such workflow found by name: {name}, version: {version if version is not None else 'null'}")


async def translate(backend: Backend, tenant_name: str, doc: dict[str, Any]) -> WorkflowDefinition:
    """The engine definition for a WorkflowDef, with the TaskDefs its tasks name applied.  A task's
    inline ``taskDefinition`` is not constraint-checked: the OSS server does not cascade validation into
    it (``WorkflowTask.taskDefinition`` has no ``@Valid``), so it registers what OSS registers."""
    defs = await taskdefs.find_many(backend, tenant_name, referenced_task_names(doc))
    return to_definition(doc, tenant_name, defs)


async def _store(call: Call, doc: dict[str, Any], overwrite: bool) -> None:
    definition = await translate(call.backend, tenant(call), doc)
    try:
        await call.backend.put_definition(definition, overwrite=overwrite)
    except Conflict:
        raise Conflict(f"Workflow with {definition.name}.{definition.version} already exists!") from None


async def register_workflow_def(call: Call) -> Response:
    await _store(call, call.body, bool(call.query.get("overwrite", False)))
    return empty_response()


async def update_workflow_defs(call: Call) -> Response:
    """Create or update each definition; failures are reported per name, as Conductor's BulkResponse."""
    overwrite = bool(call.query.get("overwrite", True))
    errors: dict[str, str] = {}
    done: list[str] = []
    for doc in call.body:
        try:
            await _store(call, doc, overwrite)
        except ValidationFailed as exc:
            errors[str(doc.get("name"))] = "; ".join(v.message for v in exc.violations) or exc.message
        except GatewayError as exc:
            errors[str(doc.get("name"))] = exc.message
        else:
            done.append(str(doc.get("name")))
    return json_response({"bulkErrorResults": errors, "bulkSuccessfulResults": done,
                          "message": "Bulk Request has been processed."})


async def get_workflow_def(call: Call) -> Response:
    name, version = call.path["name"], call.query.get("version")
    try:
        definition = await call.backend.get_definition(tenant(call), name,
                                                       None if version is None else stored_version(version))
    except NotFound:
        raise _def_not_found(name, version) from None
    return json_response(workflow_def_json(definition))


async def _all_definitions(call: Call, name: str | None = None) -> list[WorkflowDefinition]:
    out: list[WorkflowDefinition] = []
    cursor: str | None = None
    while True:
        page = await call.backend.list_definitions(tenant(call), name, cursor=cursor, limit=1000)
        out.extend(page.items)
        cursor = page.next_cursor
        if not cursor:
            return out


async def get_all_workflow_defs(call: Call) -> Response:
    return json_response([workflow_def_json(d) for d in await _all_definitions(call)])


def _summary(definition: WorkflowDefinition) -> dict[str, Any]:
    """WorkflowDefSummary: name, version and the audit times (no definition body)."""
    doc = workflow_def_json(definition)
    return {k: doc[k] for k in ("name", "version", "createTime", "updateTime") if doc.get(k) is not None}


def _by_version(summaries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(summaries, key=lambda s: int(s.get("version") or 0))


async def get_workflow_names_and_versions(call: Call) -> Response:
    grouped: dict[str, list[dict[str, Any]]] = {}
    for definition in await _all_definitions(call):
        summary = _summary(definition)
        grouped.setdefault(str(summary["name"]), []).append(summary)
    return json_response({name: _by_version(items) for name, items in grouped.items()})


async def get_workflow_names(call: Call) -> Response:
    return json_response(sorted({d.name for d in await _all_definitions(call)}))


async def get_workflow_versions(call: Call) -> Response:
    name = call.path["name"]
    return json_response(_by_version([_summary(d) for d in await _all_definitions(call, name) if d.name == name]))


async def get_latest_workflow_defs(call: Call) -> Response:
    latest: dict[str, dict[str, Any]] = {}
    for definition in await _all_definitions(call):
        doc = workflow_def_json(definition)
        known = latest.get(doc["name"])
        if known is None or int(doc.get("version") or 0) >= int(known.get("version") or 0):
            latest[doc["name"]] = doc
    return json_response(list(latest.values()))


async def unregister_workflow_def(call: Call) -> Response:
    name, version = call.path["name"], call.path["version"]
    try:
        await call.backend.delete_definition(tenant(call), name, stored_version(version))
    except NotFound:
        raise _def_not_found(name, version) from None
    return empty_response()


async def register_task_defs(call: Call) -> Response:
    taskdefs.check(call.body, listed=True)
    for doc in call.body:
        await taskdefs.put(call.backend, tenant(call), doc)
    return empty_response()


async def update_task_def(call: Call) -> Response:
    taskdefs.check([call.body], listed=False)
    existing = await taskdefs.get(call.backend, tenant(call), call.body["name"])
    await taskdefs.put(call.backend, tenant(call), call.body, created_ms=existing.get("createTime"))
    return empty_response()


async def get_task_defs(call: Call) -> Response:
    return json_response(await taskdefs.list_all(call.backend, tenant(call)))


async def get_task_def(call: Call) -> Response:
    return json_response(await taskdefs.get(call.backend, tenant(call), call.path["tasktype"]))


async def unregister_task_def(call: Call) -> Response:
    await taskdefs.delete(call.backend, tenant(call), call.path["tasktype"])
    return empty_response()


HANDLERS = {
    "registerWorkflowDef": register_workflow_def,
    "updateWorkflowDefs": update_workflow_defs,
    "getWorkflowDef": get_workflow_def,
    "getAllWorkflowDefs": get_all_workflow_defs,
    "getWorkflowNamesAndVersions": get_workflow_names_and_versions,
    "getWorkflowNames": get_workflow_names,
    "getWorkflowVersions": get_workflow_versions,
    "getLatestWorkflowDefs": get_latest_workflow_defs,
    "unregisterWorkflowDef": unregister_workflow_def,
    "registerTaskDefs": register_task_defs,
    "updateTaskDef": update_task_def,
    "getTaskDefs": get_task_defs,
    "getTaskDef": get_task_def,
    "unregisterTaskDef": unregister_task_def,
}
