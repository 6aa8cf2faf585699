"""A test-only dialect for tests/fixtures/contract/runs.yaml that can be made to answer off-spec.

Settings: ``token`` (the bearer token it accepts) and ``drift`` (True: ``getRun`` answers a status
outside the spec's enum, the kind of drift a vendor upgrade or an adapter bug produces).  It keeps
its runs in memory; it never needs the engine.
"""

from __future__ import annotations

import itertools
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from wfgateway.adapter import Adapter
from wfgateway.client_auth import bearer_token, constant_time_equals
from wfgateway.core.errors import ErrorContext, GatewayError, NotFound, Unauthorized
from wfgateway.dialect import Call, Principal

OFF_SPEC_STATUS = "RETRYING"  # not in the spec's enum [RUNNING, FAILED, COMPLETED]


class RunsDialect:
    name = "runs"
    path_prefixes = ("/runs",)
    open_mode = False

    def __init__(self, settings: dict[str, Any]) -> None:
        self.token = str(settings.get("token", "sesame"))
        self.drift = bool(settings.get("drift", False))
        self.runs: dict[str, dict[str, Any]] = {}
        self._ids = itertools.count(1)

    def handlers(self) -> dict[str, Any]:
        return {"startRun": self.start_run, "getRun": self.get_run, "deleteRun": self.delete_run}

    async def start_run(self, call: Call) -> Response:
        run = {"id": f"run-{next(self._ids)}", "status": "RUNNING", "attempts": 1}
        self.runs[run["id"]] = run
        return JSONResponse(run, status_code=201)

    async def get_run(self, call: Call) -> Response:
        run = self.runs.get(call.path["runId"])
        if run is None:
            raise NotFound(f"no run {call.path['runId']}")
        if self.drift:
            return JSONResponse({**run, "status": OFF_SPEC_STATUS})
        return JSONResponse(run)

    async def delete_run(self, call: Call) -> Response:
        if self.runs.pop(call.path["runId"], None) is None:
            raise NotFound(f"no run {call.path['runId']}")
        return Response(status_code=204)

    async def authenticate(self, request: Request, operation_id: str) -> Principal:
        token = bearer_token(request.headers)
        if token is None or not constant_time_equals(token, self.token):
            raise Unauthorized("missing or bad token")
        return Principal(tenant="t")

    def render_error(self, error: GatewayError, context: ErrorContext) -> Response:
        return JSONResponse({"error": error.message}, status_code=error.status)

    async def startup(self) -> None: ...

    async def shutdown(self) -> None: ...


def create_dialect(settings: dict[str, Any], gateway: Any) -> RunsDialect:
    return RunsDialect(settings)


ADAPTER = Adapter(create_dialect=create_dialect)
