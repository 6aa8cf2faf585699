"""Conductor's secrets (``/api/secrets``): values kept per tenant, used as ``${workflow.secrets.NAME}``.

As in the OSS server, a run keeps the reference literally: the stored task input (and so every GET of
the run, its search rows and logs) shows ``${workflow.secrets.NAME}``; the value is put in only where
the task is handed off -- the task a worker polls, and the request an HTTP task sends (the engine's
secret resolver, which also masks the value as ``***`` in what the HTTP task stores).  Inside a
definition the reference is translated to the engine's own ``${secrets.NAME}`` (``to_engine``) and back
when a task is shown (``to_conductor``).
"""

from __future__ import annotations

import re
from typing import Any

from starlette.responses import Response
from wfgateway.adapters.conductor.common import tenant
from wfgateway.adapters.conductor.responses import empty_response, json_response, text_response
from wfgateway.adapters.conductor.secret_refs import fill, names_in

from wfgateway.core.errors import InvalidArgument, NotFound
from wfgateway.dialect import Call, Handler
from wfgateway.engine.store.kv import KeyValue
from wfgateway.engine.store.tables import StoreHome

NAMESPACE = "conductor_secrets"  # the persistence home's <namespace>_kv table
KEY_PATTERN = re.compile(r"[a-zA-Z0-9_-]+")  # the OSS server's SecretsService.ALLOWED_SECRET_NAME_PATTERN
MAX_KEY_LENGTH = 65535


class SecretStore:
    """Secret values by tenant in the persistence home's KV table (shared by every worker process)."""

    def __init__(self, home: StoreHome) -> None:
        self.kv = KeyValue(home, NAMESPACE)

    async def open(self) -> None:
        await self.kv.open()

    async def get(self, tenant_id: str, name: str) -> str | None:
        value = await self.kv.get(tenant_id, name)
        return value if isinstance(value, str) else None

    async def put(self, tenant_id: str, name: str, value: str) -> None:
        await self.kv.put(tenant_id, name, value)

    async def delete(self, tenant_id: str, name: str) -> bool:
        return await self.kv.delete(tenant_id, name)

    async def names(self, tenant_id: str) -> list[str]:
        out: list[str] = []
        after: str | None = None
        while True:
            rows = await self.kv.scan(tenant_id, "", after=after, limit=1000)
            out += [k for k, _ in rows]
            if len(rows) < 1000:
                return out
            after = rows[-1][0]


def check_key(key: str) -> None:
    """The OSS server's key rules, with its messages."""
    if not key.strip():
        raise InvalidArgument("key must not be blank")
    if len(key) > MAX_KEY_LENGTH:
        raise InvalidArgument("key must be at most 65535 characters")
    if not KEY_PATTERN.fullmatch(key):
        raise InvalidArgument(f"key must match pattern {KEY_PATTERN.pattern}")


async def reveal(store: SecretStore, tenant_id: str, value: Any) -> Any:
    """``value`` with ``${workflow.secrets.X}`` replaced by the secret (for the worker that polled it)."""
    names = names_in(value)
    if not names:
        return value
    known = {name: await store.get(tenant_id, name) for name in names}
    return fill(value, known)


class SecretsApi:
    """Handlers of /api/secrets (the OSS server's SecretResource)."""

    def __init__(self, store: SecretStore) -> None:
        self.store = store

    def handlers(self) -> dict[str, Handler]:
        return {
            "listAllSecretNames": self.list_names,
            "listSecretsThatUserCanGrantAccessTo": self.list_names,
            "getSecret": self.get_secret,
            "putSecret": self.put_secret,
            "deleteSecret": self.delete_secret,
            "secretExists": self.secret_exists,
        }

    async def list_names(self, call: Call) -> Response:
        return json_response(await self.store.names(tenant(call)))

    async def get_secret(self, call: Call) -> Response:
        key = call.path["key"]
        check_key(key)
        value = await self.store.get(tenant(call), key)
        if value is None:
            raise NotFound(f"Secret {key} not found")
        return text_response(value)

    async def put_secret(self, call: Call) -> Response:
        key = call.path["key"]
        check_key(key)
        # conductor-python sends the raw value labelled application/json; a JSON string is taken unquoted
        value = call.body if isinstance(call.body, str) else call.raw_body.decode("utf-8")
        if not value:
            raise InvalidArgument("value is required")
        await self.store.put(tenant(call), key, value)
        return empty_response()

    async def delete_secret(self, call: Call) -> Response:
        key = call.path["key"]
        check_key(key)
        await self.store.delete(tenant(call), key)
        return empty_response()

    async def secret_exists(self, call: Call) -> Response:
        key = call.path["key"]
        check_key(key)
        return json_response(await self.store.get(tenant(call), key) is not None)
