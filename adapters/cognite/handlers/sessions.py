"""POST /sessions and GET /api/v1/token/inspect."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response
from wfgateway.adapters.cognite.service import CogniteService, json

from wfgateway.dialect import Call


def handlers(svc: CogniteService) -> dict[str, Any]:
    async def create_sessions(call: Call) -> Response:
        items = [await svc.sessions.create(call.principal.tenant, item) for item in call.body["items"]]
        return json({"items": items})

    async def inspect_token(call: Call) -> Response:
        projects = [p for p in call.principal.claims.get("projects", []) if p != "*"]
        return json({
            "subject": call.principal.subject,
            "projects": [{"projectUrlName": p, "groups": []} for p in projects],
            "capabilities": [],
        })

    return {"createSessions": create_sessions, "inspectToken": inspect_token}
