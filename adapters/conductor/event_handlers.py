"""Conductor's event handlers (``/api/event``): kept per tenant, validated and answered as the OSS server's
EventResource, EventHandler constraints and event handler DAOs do.

A handler is ``{name, event, condition, actions[], active, evaluatorType}``; ``event`` names the queue
it consumes (``conductor:<workflow name>:<task reference or queue>`` for this gateway's own queue,
event_queue.py).  Names are unique per tenant: adding a name twice is 409 ``EventHandler with name X
already exists!``, updating or removing an unknown one 404 ``EventHandler with name X not found!``.
A handler without name, event or actions is refused with the server's bean-validation answer.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from starlette.responses import Response
from wfgateway.adapters.conductor.common import tenant
from wfgateway.adapters.conductor.responses import empty_response, json_response

from wfgateway.core.errors import Conflict, NotFound, ValidationFailed, Violation
from wfgateway.dialect import Call, Handler
from wfgateway.engine.store.kv import KeyValue

NAMESPACE = "conductor_events"  # the persistence home's <namespace>_kv table (handlers and queued events)
HANDLERS = "handler"
SEP = "\x1f"  # between a key's parts (tenant, name)
ACTION_TYPES = ("start_workflow", "complete_task", "fail_task", "terminate_workflow", "update_workflow_variables")
# the EventHandler fields as the server's Jackson writes them (its Action keeps its own field names)
_FIELDS = ("name", "event", "condition", "actions", "active", "evaluatorType")


def handler_key(tenant_id: str, name: str) -> str:
    return f"{tenant_id}{SEP}{name}"


class HandlerStore:
    """Event handlers by tenant and name in the persistence home's KV table."""

    def __init__(self, kv: KeyValue) -> None:
        self.kv = kv

    async def get(self, tenant_id: str, name: str) -> dict[str, Any] | None:
        found = await self.kv.get(HANDLERS, handler_key(tenant_id, name))
        return found if isinstance(found, dict) else None

    async def add(self, tenant_id: str, handler: dict[str, Any]) -> bool:
        """False when the tenant has a handler of that name."""
        return await self.kv.insert(HANDLERS, handler_key(tenant_id, handler["name"]), handler)

    async def update(self, tenant_id: str, handler: dict[str, Any]) -> bool:
        """False when the tenant has no handler of that name."""
        key = handler_key(tenant_id, handler["name"])
        while True:
            seen = await self.kv.get(HANDLERS, key)
            if seen is None:
                return False
            if await self.kv.replace(HANDLERS, key, seen, handler):
                return True

    async def remove(self, tenant_id: str, name: str) -> bool:
        return await self.kv.delete(HANDLERS, handler_key(tenant_id, name))

    async def of_tenant(self, tenant_id: str) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        after: str | None = None
        while True:
            rows = await self.kv.scan(HANDLERS, f"{tenant_id}{SEP}", after=after, limit=1000)
            out += [v for _, v in rows if isinstance(v, dict)]
            if len(rows) < 1000:
                return out
            after = rows[-1][0]

    async def for_event(self, tenant_id: str, event: str, active_only: bool) -> list[dict[str, Any]]:
        return [h for h in await self.of_tenant(tenant_id)
                if h.get("event") == event and (h.get("active") or not active_only)]


def _blank(value: Any) -> bool:
    return not isinstance(value, str) or value == ""


def validated(method: str, body: Any) -> dict[str, Any]:
    """The handler as stored, or the server's ConstraintViolation answer (``<method>.eventHandler.<field>``)."""
    doc = body if isinstance(body, Mapping) else {}
    where = f"{method}.eventHandler"
    found: list[Violation] = []
    if _blank(doc.get("name")):
        found.append(Violation(where, "name", "Missing event handler name", doc.get("name")))
    if _blank(doc.get("event")):
        found.append(Violation(where, "event", "Missing event location", doc.get("event")))
    actions = doc.get("actions")
    if "actions" in doc and actions is None:
        found.append(Violation(where, "actions", "must not be null"))
    if not actions:
        found.append(Violation(where, "actions", "No actions specified. Please specify at-least one action"))
    if found:
        raise ValidationFailed("invalid EventHandler", violations=found)
    handler = {k: doc[k] for k in _FIELDS if doc.get(k) is not None}
    handler["active"] = bool(doc.get("active") or False)
    handler["actions"] = [_action(a) for a in actions or ()]
    return handler


def _action(action: Any) -> dict[str, Any]:
    """An Action as the server keeps it: its fields, ``expandInlineJSON`` always present."""
    doc = {k: v for k, v in dict(action).items() if v is not None} if isinstance(action, Mapping) else {}
    doc["expandInlineJSON"] = bool(doc.get("expandInlineJSON") or False)
    return doc


def _path_name(call: Call) -> str:
    return str(call.path.get("event") or "")


class EventHandlersApi:
    """Handlers of /api/event (the OSS server's EventResource)."""

    def __init__(self, store: HandlerStore) -> None:
        self.store = store

    def handlers(self) -> dict[str, Handler]:
        return {
            "addEventHandler": self.add,
            "updateEventHandler": self.update,
            "getEventHandlers": self.list_all,
            "getEventHandlersForEvent": self.for_event,
            "removeEventHandlerStatus": self.remove,
        }

    async def add(self, call: Call) -> Response:
        handler = validated("addEventHandler", call.body)
        if not await self.store.add(tenant(call), handler):
            raise Conflict(f"EventHandler with name {handler['name']} already exists!")
        return empty_response()

    async def update(self, call: Call) -> Response:
        handler = validated("updateEventHandler", call.body)
        if not await self.store.update(tenant(call), handler):
            raise NotFound(f"EventHandler with name {handler['name']} not found!")
        return empty_response()

    async def list_all(self, call: Call) -> Response:
        return json_response(await self.store.of_tenant(tenant(call)))

    async def for_event(self, call: Call) -> Response:
        active_only = call.query.get("activeOnly")
        found = await self.store.for_event(tenant(call), _path_name(call), active_only is not False)
        return json_response(found)

    async def remove(self, call: Call) -> Response:
        name = _path_name(call)
        if not await self.store.remove(tenant(call), name):
            raise NotFound(f"EventHandler with name {name} not found!")
        return empty_response()
