"""A fourth vendor is one adapter package and one spec, named in config.yaml: this test writes both
into a folder outside the repository (on sys.path), serves them through a real uvicorn gateway next
to the three shipped dialects, and calls it -- docs/contributing.md walks through the same files."""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import httpx
import pytest

from tests.support.server import REPO, ThreadServer, gateway_config
from wfgateway.app import create_app
from wfgateway.config import config_from_dict

SPEC = """\
openapi: 3.1.0
info: {title: acme, version: "1"}
servers: [{url: /}]
paths:
  /acme/jobs/{name}:
    post:
      operationId: startJob
      parameters:
        - {name: name, in: path, required: true, schema: {type: string, pattern: "^[a-z]+$"}}
      requestBody:
        content: {application/json: {schema: {type: object}}}
      responses:
        "200": {description: started, content: {application/json: {schema: {type: object, required: [job]}}}}
  /acme/jobs/{name}/runs/{runId}:
    get:
      operationId: getRun
      parameters:
        - {name: name, in: path, required: true, schema: {type: string}}
        - {name: runId, in: path, required: true, schema: {type: string}}
      responses:
        "200": {description: the run, content: {application/json: {schema: {type: object}}}}
"""

ADAPTER = '''
"""Acme Jobs: a toy fourth vendor, written against wfgateway.adapter only."""

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from wfgateway.adapter import Adapter
from wfgateway.core.errors import ErrorContext, GatewayError
from wfgateway.core.model import TaskSpec, WorkflowDefinition
from wfgateway.dialect import Call, Principal


class AcmeDialect:
    name = "acme"
    path_prefixes = ("/acme/",)
    open_mode = True

    def __init__(self, settings, gateway):
        self.gateway = gateway

    def handlers(self):
        async def start_job(call: Call) -> Response:
            name = call.path["name"]
            await call.backend.put_definition(WorkflowDefinition(
                tenant=call.principal.tenant, name=name, version=1, dialect="acme",
                tasks=[TaskSpec(ref="only", kind="noop", name="only")]))
            run = await call.backend.start(call.principal.tenant, name, 1, call.body or {}, dialect="acme")
            return JSONResponse({"job": name, "run": run.id})

        async def get_run(call: Call) -> Response:
            run = await call.backend.get(call.path["runId"], tenant=call.principal.tenant)
            return JSONResponse({"run": run.id, "state": run.status.value})

        return {"startJob": start_job, "getRun": get_run}

    async def authenticate(self, request: Request, operation_id: str) -> Principal:
        return Principal(tenant="default")

    def render_error(self, error: GatewayError, context: ErrorContext) -> Response:
        return JSONResponse({"acmeError": error.message}, status_code=error.status)

    async def startup(self) -> None: ...

    async def shutdown(self) -> None: ...


ADAPTER = Adapter(create_dialect=AcmeDialect,
                  route_keys={"startJob": {"workflow": "path.name"}, "getRun": {"execution_id": "path.runId"}})
'''


@pytest.fixture
def acme(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    outside = tmp_path / "vendors"
    (outside / "acme_adapter").mkdir(parents=True)
    (outside / "acme_adapter" / "__init__.py").write_text(textwrap.dedent(ADAPTER))
    (outside / "acme.yaml").write_text(SPEC)
    assert REPO not in outside.parents
    monkeypatch.syspath_prepend(str(outside))
    yield outside
    sys.modules.pop("acme_adapter", None)


def test_a_fourth_dialect_from_outside_the_repository_serves_beside_the_three(tmp_path: Path, acme: Path) -> None:
    data = gateway_config(tmp_path, dialects={"acme": {"adapter": "acme_adapter", "spec": str(acme / "acme.yaml")}})
    server = ThreadServer(create_app(config_from_dict(data, base_dir=REPO)))
    server.start()
    try:
        with httpx.Client(base_url=server.url) as client:
            started = client.post("/acme/jobs/nightly", json={"day": 1})
            assert started.status_code == 200, started.text
            run = started.json()["run"]
            got = client.get(f"/acme/jobs/nightly/runs/{run}")
            assert got.status_code == 200 and got.json() == {"run": run, "state": "COMPLETED"}
            refused = client.post("/acme/jobs/Not-Valid", json={})  # the spec's pattern, in the vendor's error format
            assert refused.status_code == 400 and "acmeError" in refused.json()
            missing = client.get("/acme/jobs/nightly/runs/nope")
            assert missing.status_code == 404 and "acmeError" in missing.json()
            assert client.get("/api/metadata/workflow").status_code == 200  # the shipped dialects still serve
    finally:
        server.stop()
