"""Sessions (create, list, retrieve by ids, revoke) and GET /api/v1/token/inspect."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response
from wfgateway.adapters.cognite.paging import encode, field
from wfgateway.adapters.cognite.service import CogniteService, json, limit_of

from wfgateway.dialect import Call


def ids_of(body: dict[str, Any]) -> list[int]:
    return [int(item["id"]) for item in body["items"]]


def handlers(svc: CogniteService) -> dict[str, Any]:
    async def create_sessions(call: Call) -> Response:
        items = [await svc.sessions.create(call.principal.tenant, item) for item in call.body["items"]]
        return json({"items": items})

    async def list_sessions(call: Call) -> Response:
        limit = limit_of(call.query.get("limit"), 25)
        status = call.query.get("status")
        status = str(status).upper() if status else None  # CDF's docs spell it lower case, the SDK upper
        after = field(call, call.query.get("cursor"), "after", str, status)
        items, last = await svc.sessions.page(call.principal.tenant, status, after, limit)
        return json({"items": items, "nextCursor": encode(call, {"after": last}, status) if last else None})

    async def sessions_by_ids(call: Call) -> Response:
        return json({"items": await svc.sessions.by_ids(call.principal.tenant, ids_of(call.body))})

    async def revoke_sessions(call: Call) -> Response:
        ignore = bool(call.body.get("ignoreUnknownIds", False))
        return json({"items": await svc.sessions.revoke(call.principal.tenant, ids_of(call.body),
                                                        ignore_unknown=ignore)})

    async def inspect_token(call: Call) -> Response:
        projects = [p for p in call.principal.claims.get("projects", []) if p != "*"]
        return json({
            "subject": call.principal.subject,
            "projects": [{"projectUrlName": p, "groups": []} for p in projects],
            "capabilities": [],
        })

    return {"createSessions": create_sessions, "listSessions": list_sessions, "getSessionsByIds": sessions_by_ids,
            "revokeSessions": revoke_sessions, "inspectToken": inspect_token}
