"""Orkes' tags on secrets (``/api/secrets/{key}/tags``) and schedules
(``/api/scheduler/schedules/{name}/tags``): conductor-python's ``set_secret_tags`` /
``set_scheduler_tags``, ``get_...`` and ``delete_...``, kept per tenant beside the definitions' tags.

``PUT`` tags the secret or schedule with each listed tag (one already there with that type and key gets
the new value, as on definitions); ``DELETE`` removes each listed tag that has that key and value (and type,
when given), ignoring those it does not have.  Each call is a 404 for a secret or schedule the tenant does
not have, with the message its own GET answers; deleting the secret or schedule drops its tags.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from starlette.responses import Response
from wfgateway.adapters.conductor.common import tenant
from wfgateway.adapters.conductor.responses import empty_response, json_response
from wfgateway.adapters.conductor.scheduler_api import not_found as schedule_not_found
from wfgateway.adapters.conductor.schedules import ScheduleStore
from wfgateway.adapters.conductor.secrets_api import SecretStore, check_key
from wfgateway.adapters.conductor.tags_api import TagStore, tag_of, with_tag

from wfgateway.core.errors import NotFound
from wfgateway.dialect import Call, Handler


class ResourceTagsApi:
    def __init__(self, tags: TagStore, secrets: SecretStore, schedules: ScheduleStore) -> None:
        self.tags = tags
        self.secrets = secrets
        self.schedules = schedules

    async def _owner(self, call: Call, kind: str) -> str:
        """The secret's key or schedule's name, or the 404 its own GET answers."""
        if kind == "secret":
            key = call.path["key"]
            check_key(key)
            if await self.secrets.get(tenant(call), key) is None:
                raise NotFound(f"Secret {key} not found")
            return key
        name = call.path["name"]
        if await self.schedules.get(tenant(call), name) is None:
            raise schedule_not_found(name)
        return name

    async def get_tags(self, call: Call, kind: str) -> Response:
        name = await self._owner(call, kind)
        return json_response(await self.tags.get(tenant(call), kind, name))

    async def put_tags(self, call: Call, kind: str) -> Response:
        name = await self._owner(call, kind)
        tags = await self.tags.get(tenant(call), kind, name)
        for doc in call.body:
            tags = with_tag(tags, tag_of(doc))
        await self.tags.put(tenant(call), kind, name, tags)
        return empty_response()

    async def delete_tags(self, call: Call, kind: str) -> Response:
        name = await self._owner(call, kind)
        gone = [tag_of(doc) | {"type": doc.get("type")} for doc in call.body]

        def listed(t: dict[str, Any]) -> bool:
            return any(t["key"] == g["key"] and str(t.get("value")) == str(g.get("value"))
                       and (not g["type"] or t["type"] == g["type"]) for g in gone)

        tags = await self.tags.get(tenant(call), kind, name)
        await self.tags.put(tenant(call), kind, name, [t for t in tags if not listed(t)])
        return empty_response()

    def forgetting(self, kind: str, delete: Handler) -> Handler:
        """``delete`` (the secret or schedule), then its tags: one created again later starts untagged."""
        async def handler(call: Call) -> Response:
            response = await delete(call)
            await self.tags.put(tenant(call), kind, call.path["key" if kind == "secret" else "name"], [])
            return response

        return handler

    def handlers(self, delete_secret: Handler, delete_schedule: Handler) -> dict[str, Handler]:
        return {
            "getSecretTags": _bound(self.get_tags, "secret"),
            "putTagForSecret": _bound(self.put_tags, "secret"),
            "deleteTagForSecret": _bound(self.delete_tags, "secret"),
            "getTagsForSchedule": _bound(self.get_tags, "schedule"),
            "putTagForSchedule": _bound(self.put_tags, "schedule"),
            "deleteTagForSchedule": _bound(self.delete_tags, "schedule"),
            "deleteSecret": self.forgetting("secret", delete_secret),
            "deleteSchedule": self.forgetting("schedule", delete_schedule),
        }


def _bound(method: Callable[[Call, str], Awaitable[Response]], kind: str) -> Handler:
    async def handler(call: Call) -> Response:
        return await method(call, kind)

    return handler
