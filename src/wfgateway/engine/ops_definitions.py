"""Stored workflow definitions: put (validated), get, list with a cursor, delete."""

from __future__ import annotations

from wfgateway.core.errors import Conflict, NotFound
from wfgateway.core.model import Page, WorkflowDefinition
from wfgateway.engine import cursors
from wfgateway.engine.codec import definition_from_dict, definition_to_dict
from wfgateway.engine.context import EngineContext
from wfgateway.engine.store.base import DuplicateKey
from wfgateway.engine.util import dumps, loads, now_ms
from wfgateway.engine.validation import validate_definition


def version_number(version: int | str) -> int | None:
    """The version as an integer for ordering ("latest"), None when it is not one."""
    if isinstance(version, bool):
        return None
    if isinstance(version, int):
        return version
    return int(version) if isinstance(version, str) and version.isascii() and version.isdigit() and len(version) < 18 else None


def check(definition: WorkflowDefinition) -> None:
    """What ``put`` refuses (InvalidArgument), without storing anything."""
    validate_definition(definition)


async def put(ctx: EngineContext, definition: WorkflowDefinition, overwrite: bool) -> WorkflowDefinition:
    validate_definition(definition)
    now = now_ms()
    existing = await ctx.store.def_get(definition.tenant, definition.name, str(definition.version))
    if existing is not None and not overwrite:
        raise Conflict(f"Workflow {definition.name} version {definition.version} already exists")
    created = loads(existing).get("created_ms", now) if existing else now
    d = WorkflowDefinition(**{**definition.__dict__, "created_ms": created, "updated_ms": now})
    d.__dict__.pop("_wfg_graph", None)
    body = dumps(definition_to_dict(d))
    try:
        await ctx.store.def_put(d.tenant, d.name, str(d.version), version_number(d.version), body, now, overwrite)
    except DuplicateKey:
        raise Conflict(f"Workflow {d.name} version {d.version} already exists") from None
    return definition_from_dict(loads(body))


async def get(ctx: EngineContext, tenant: str, name: str, version: int | str | None) -> WorkflowDefinition:
    return definition_from_dict(loads(await ctx.snapshots.stored_body(tenant, name, version)))


async def list_page(ctx: EngineContext, tenant: str, name: str | None, cursor: str | None, limit: int) -> Page:
    offset = cursors.decode_offset(cursor)
    bodies, total = await ctx.store.def_list(tenant, name, offset, limit)
    nxt = str(offset + limit) if offset + len(bodies) < total and bodies else None
    return Page([definition_from_dict(loads(b)) for b in bodies], cursors.encode(nxt) if nxt else None, total)


async def delete(ctx: EngineContext, tenant: str, name: str, version: int | str | None) -> None:
    if await ctx.store.def_delete(tenant, name, None if version is None else str(version)) == 0:
        what = f"{name}" if version is None else f"{name} version {version}"
        raise NotFound(f"No such workflow definition: {what}")
