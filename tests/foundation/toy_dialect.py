"""A minimal dialect used to test the pipeline itself, independent of the vendor adapters."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from wfgateway.adapter import Adapter
from wfgateway.client_auth import bearer_token
from wfgateway.core.errors import ErrorContext, GatewayError, Unauthorized
from wfgateway.dialect import Call, Principal


class ToyDialect:
    name = "toy"
    path_prefixes = ("/toy/",)
    open_mode = False

    def __init__(self, settings: dict[str, Any]) -> None:
        self.seen: list[Call] = []

    def handlers(self) -> dict[str, Any]:
        async def get_thing(call: Call) -> Response:
            self.seen.append(call)
            return JSONResponse({"name": f"thing{call.path['thingId']}", "size": 1})

        async def create_thing(call: Call) -> Response:
            self.seen.append(call)
            return JSONResponse(call.body, status_code=201)

        return {"getThing": get_thing, "createThing": create_thing}

    async def authenticate(self, request: Request, operation_id: str) -> Principal:
        if bearer_token(request.headers) != "sesame":
            raise Unauthorized("bad token")
        return Principal(tenant="t1")

    def render_error(self, error: GatewayError, context: ErrorContext) -> Response:
        body: dict[str, Any] = {"error": error.message, "code": error.code}
        if "violations" in error.details:
            body["violations"] = [v.location + ":" + v.pointer for v in error.details["violations"]]
        return JSONResponse(body, status_code=error.status)

    async def startup(self) -> None: ...

    async def shutdown(self) -> None: ...


def create_dialect(settings: dict[str, Any], gateway: Any) -> ToyDialect:
    return ToyDialect(settings)


ADAPTER = Adapter(create_dialect=create_dialect)
