"""A small dialect for routing tests, independent of the vendor adapters: a start returns a text id,
executions are JSON, errors are ``{"error": {code, message, kind}}``.  Its route keys are declared
as a ``ROUTE_KEYS`` mapping, the way an adapter declares them."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response

from wfgateway.adapter import Adapter
from wfgateway.client_auth import bearer_token
from wfgateway.core.errors import ErrorContext, GatewayError, Unauthorized
from wfgateway.core.model import Execution
from wfgateway.dialect import Call, Principal

ROUTE_KEYS = {
    "issueToken": {"local": True},
    "startWorkflow": {"workflow": "path.name", "correlation_id": "body.correlationId", "created": "text"},
    "getExecution": {"execution_id": "path.id"},
    "rerunExecution": {"execution_id": "path.id"},
    "searchExecutions": {"workflow": "body.workflow", "idempotent": True},
}


def execution_json(e: Execution) -> dict[str, Any]:
    return {"id": e.id, "workflow": e.definition_name, "status": e.status.value if hasattr(e.status, "value") else
            str(e.status), "input": e.input, "correlationId": e.correlation_id, "runs": e.extra.get("runs", 1)}


class RelayDialect:
    name = "relay"
    path_prefixes = ("/relay/",)
    open_mode = False

    def __init__(self, settings: dict[str, Any]) -> None:
        self.token = (settings.get("auth") or {}).get("token", "sesame")
        self.backends_seen: list[str] = []

    def handlers(self) -> dict[str, Any]:
        async def issue_token(call: Call) -> Response:
            return PlainTextResponse(self.token)

        async def start(call: Call) -> Response:
            self.backends_seen.append(call.backend.name)
            body = call.body or {}
            e = await call.backend.start(call.principal.tenant, call.path["name"], None, body.get("input") or {},
                                         correlation_id=body.get("correlationId"))
            return PlainTextResponse(e.id)

        async def get(call: Call) -> Response:
            self.backends_seen.append(call.backend.name)
            return JSONResponse(execution_json(await call.backend.get(call.path["id"], tenant=call.principal.tenant)))

        async def rerun(call: Call) -> Response:
            self.backends_seen.append(call.backend.name)
            e = await call.backend.rerun(call.path["id"], tenant=call.principal.tenant)
            return JSONResponse(execution_json(e))

        async def search(call: Call) -> Response:
            page = await call.backend.search(call.principal.tenant, name=(call.body or {}).get("workflow"))
            return JSONResponse({"items": [execution_json(e) for e in page.items]})

        return {"issueToken": issue_token, "startWorkflow": start, "getExecution": get,
                "rerunExecution": rerun, "searchExecutions": search}

    async def authenticate(self, request: Request, operation_id: str) -> Principal:
        if operation_id != "issueToken" and bearer_token(request.headers) != self.token:
            raise Unauthorized("bad token")
        return Principal(tenant=request.headers.get("x-tenant", "t1"))

    def render_error(self, error: GatewayError, context: ErrorContext) -> Response:
        return JSONResponse({"error": {"code": error.status, "message": error.message, "kind": error.code}},
                            status_code=error.status)

    async def startup(self) -> None: ...

    async def shutdown(self) -> None: ...


def create_dialect(settings: dict[str, Any], gateway: Any) -> RelayDialect:
    return RelayDialect(settings)


ADAPTER = Adapter(create_dialect=create_dialect, route_keys=ROUTE_KEYS)
