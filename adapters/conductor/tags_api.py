"""Orkes' tags on workflow and task definitions (``/api/metadata/workflow/{name}/tags``,
``/api/metadata/task/{taskName}/tags``, ``/api/metadata/tags``), and the older per-workflow WorkflowTag
(``/api/metadata/tags/workflow/{name}``: a ``rateLimit`` object, per version when one is given), kept
per tenant by the gateway.

A tag is ``{key, type, value}``; ``type`` is METADATA unless given (conductor-python's rate limit is a
RATE_LIMIT tag whose key is the workflow's name and whose value is the limit).  A tag is known by its
type and key: adding one with a type and key already there replaces its value, as Orkes documents.
Tags are stored, listed and removed (with the definition, once its last version is unregistered); a
RATE_LIMIT tag does not throttle starts.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from starlette.responses import Response
from wfgateway.adapters.conductor import taskdefs
from wfgateway.adapters.conductor.common import tenant
from wfgateway.adapters.conductor.responses import empty_response, json_response

from wfgateway.core.errors import NotFound
from wfgateway.dialect import Call, Handler
from wfgateway.engine.store.kv import KeyValue
from wfgateway.engine.store.tables import StoreHome

NAMESPACE = "conductor_tags"
_SEP = "\x1f"  # between the kind (workflow, task, secret, schedule) and the owner's name in a key
DEFINITION_KINDS = ("workflow", "task")


class TagStore:
    def __init__(self, home: StoreHome) -> None:
        self.kv = KeyValue(home, NAMESPACE)

    async def open(self) -> None:
        await self.kv.open()

    async def get(self, tenant_id: str, kind: str, name: str) -> list[dict[str, Any]]:
        value = await self.kv.get(tenant_id, f"{kind}{_SEP}{name}")
        return list(value) if isinstance(value, list) else []

    async def put(self, tenant_id: str, kind: str, name: str, tags: list[dict[str, Any]]) -> None:
        if tags:
            await self.kv.put(tenant_id, f"{kind}{_SEP}{name}", tags)
        else:
            await self.kv.delete(tenant_id, f"{kind}{_SEP}{name}")

    async def everything(self, tenant_id: str) -> list[dict[str, Any]]:
        """The tags of workflow and task definitions (not those of secrets or schedules, kept here too)."""
        out: list[dict[str, Any]] = []
        after: str | None = None
        while True:
            rows = await self.kv.scan(tenant_id, "", after=after, limit=1000)
            for key, tags in rows:
                # (a WorkflowTag's rate limit is kept beside, as an object)
                if isinstance(tags, list) and key.split(_SEP, 1)[0] in DEFINITION_KINDS:
                    out.extend(t for t in tags if t not in out)
            if len(rows) < 1000:
                return out
            after = rows[-1][0]


def tag_of(doc: dict[str, Any]) -> dict[str, Any]:
    return {"key": doc["key"], "type": doc.get("type") or "METADATA", "value": doc.get("value")}


def _same(a: dict[str, Any], b: dict[str, Any]) -> bool:
    return bool(a["type"] == b["type"] and a["key"] == b["key"])


def with_tag(tags: list[dict[str, Any]], new: dict[str, Any]) -> list[dict[str, Any]]:
    return [t for t in tags if not _same(t, new)] + [new]


class TagsApi:
    def __init__(self, store: TagStore) -> None:
        self.store = store

    async def _owner(self, call: Call, kind: str) -> str:
        """The definition's name, or Conductor's 404 when the tenant has no such definition."""
        if kind == "workflow":
            name = call.path["name"]
            try:
                await call.backend.get_definition(tenant(call), name)
            except NotFound:
                raise NotFound(f"No such workflow found by name: {name}, version: null") from None
            return name
        name = call.path["taskName"]
        await taskdefs.get(call.backend, tenant(call), name)
        return name

    async def get_tags(self, call: Call, kind: str) -> Response:
        name = await self._owner(call, kind)
        return json_response(await self.store.get(tenant(call), kind, name))

    async def add_tag(self, call: Call, kind: str) -> Response:
        name = await self._owner(call, kind)
        tags = await self.store.get(tenant(call), kind, name)
        await self.store.put(tenant(call), kind, name, with_tag(tags, tag_of(call.body)))
        return empty_response()

    async def set_tags(self, call: Call, kind: str) -> Response:
        """Replace every tag (the last of a type and key given twice wins)."""
        name = await self._owner(call, kind)
        tags: list[dict[str, Any]] = []
        for doc in call.body:
            tags = with_tag(tags, tag_of(doc))
        await self.store.put(tenant(call), kind, name, tags)
        return empty_response()

    async def delete_tag(self, call: Call, kind: str) -> Response:
        """Remove the tag with that key and value (and type when given); 404 when there is none."""
        name = await self._owner(call, kind)
        body = call.body
        tags = await self.store.get(tenant(call), kind, name)

        def matches(t: dict[str, Any]) -> bool:
            return (t["key"] == body["key"] and str(t.get("value")) == str(body.get("value"))
                    and (not body.get("type") or t["type"] == body["type"]))

        kept = [t for t in tags if not matches(t)]
        if len(kept) == len(tags):
            raise NotFound(f"Tag {body['key']}:{body.get('value')} not found on {kind} {name}")
        await self.store.put(tenant(call), kind, name, kept)
        return empty_response()

    def forgetting(self, kind: str, unregister: Handler) -> Handler:
        """``unregister`` (a workflow definition's version, a task definition), then the tags go once
        no version of the definition is left: a definition registered again later starts untagged."""
        async def handler(call: Call) -> Response:
            response = await unregister(call)
            name = call.path["name"] if kind == "workflow" else call.path["tasktype"]
            try:
                if kind == "workflow":
                    await call.backend.get_definition(tenant(call), name)
                else:
                    await taskdefs.get(call.backend, tenant(call), name)
            except NotFound:
                await self.store.put(tenant(call), kind, name, [])
                if kind == "workflow":
                    for key, _ in await self.store.kv.scan(tenant(call), f"ratelimit{_SEP}{name}{_SEP}"):
                        await self.store.kv.delete(tenant(call), key)
            return response

        return handler

    async def _rate_limit_key(self, call: Call) -> str:
        name = await self._owner(call, "workflow")
        version = call.query.get("version")
        return f"{name}{_SEP}{'' if version is None else version}"

    async def get_workflow_metadata(self, call: Call) -> Response:
        """The WorkflowTag (``rateLimit``) kept for the workflow (and version); {} when none is."""
        value = await self.store.kv.get(tenant(call), f"ratelimit{_SEP}{await self._rate_limit_key(call)}")
        return json_response(value if isinstance(value, dict) else {})

    async def put_workflow_metadata(self, call: Call) -> Response:
        key = await self._rate_limit_key(call)
        await self.store.kv.put(tenant(call), f"ratelimit{_SEP}{key}", dict(call.body))
        return empty_response()

    async def delete_workflow_metadata(self, call: Call) -> Response:
        key = await self._rate_limit_key(call)
        await self.store.kv.delete(tenant(call), f"ratelimit{_SEP}{key}")
        return empty_response()

    async def all_tags(self, call: Call) -> Response:
        return json_response(await self.store.everything(tenant(call)))

    def handlers(self) -> dict[str, Handler]:
        out: dict[str, Handler] = {"getTags": self.all_tags, "getWorkflowMetadata": self.get_workflow_metadata,
                                   "createWorkflowMetadata": self.put_workflow_metadata,
                                   "deleteWorkflowMetadata": self.delete_workflow_metadata}
        for kind, label in (("workflow", "Workflow"), ("task", "Task")):
            out[f"get{label}Tags"] = _bound(self.get_tags, kind)
            out[f"add{label}Tag"] = _bound(self.add_tag, kind)
            out[f"set{label}Tags"] = _bound(self.set_tags, kind)
            out[f"delete{label}Tag"] = _bound(self.delete_tag, kind)
        return out


def _bound(method: Callable[[Call, str], Awaitable[Response]], kind: str) -> Handler:
    async def handler(call: Call) -> Response:
        return await method(call, kind)

    return handler
