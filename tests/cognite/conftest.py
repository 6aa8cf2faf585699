"""Real servers for the Cognite acceptance tests: the gateway under uvicorn, a local HTTP server that
plays the Cognite functions and the CDF API the tasks call, and the official cognite-sdk as client."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from cognite.client import ClientConfig, CogniteClient, global_config
from cognite.client.credentials import Token
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from tests.support.server import RunningGateway, ThreadServer, run_gateway

global_config.disable_pypi_version_check = True
global_config.max_retry_backoff = 1
global_config.max_retries = 3


@dataclass
class FunctionServer:
    """Stands in for Cognite Functions and the CDF API: records every call it gets."""

    url: str = ""
    calls: list[tuple[str, Any]] = field(default_factory=list)

    def count(self, path: str) -> int:
        return sum(1 for p, _ in self.calls if p == path)


def _function_app(record: FunctionServer) -> Starlette:
    async def echo(request: Request) -> JSONResponse:
        body = await request.json()
        record.calls.append(("/fn/echo", body))
        return JSONResponse(body)

    async def broken(request: Request) -> JSONResponse:
        record.calls.append(("/fn/broken", await request.body()))
        return JSONResponse({"error": "function crashed"}, status_code=500)

    async def started(request: Request) -> JSONResponse:
        record.calls.append(("/fn/started", await request.json()))
        return JSONResponse({"accepted": True}, status_code=202)

    async def timeseries(request: Request) -> JSONResponse:
        record.calls.append(("/cdf/timeseries", dict(request.query_params)))
        return JSONResponse({"items": [{"externalId": "ts-1"}]})

    return Starlette(routes=[
        Route("/fn/echo", echo, methods=["POST"]),
        Route("/fn/broken", broken, methods=["POST"]),
        Route("/fn/started", started, methods=["POST"]),
        Route("/cdf/timeseries", timeseries, methods=["GET"]),
    ])


@pytest.fixture(scope="session")
def functions() -> Iterator[FunctionServer]:
    record = FunctionServer()
    server = ThreadServer(_function_app(record))
    server.start()
    record.url = server.url
    yield record
    server.stop()


def cognite_settings(functions: FunctionServer, **extra: Any) -> dict[str, Any]:
    return {
        "functions": {"echo": {"url": f"{functions.url}/fn/echo"}, "broken": {"url": f"{functions.url}/fn/broken"},
                      "starter": {"url": f"{functions.url}/fn/started"}},
        "cdf_base_url": f"{functions.url}/cdf",
        **extra,
    }


@pytest.fixture(scope="session")
def gateway(tmp_path_factory: pytest.TempPathFactory, functions: FunctionServer) -> Iterator[RunningGateway]:
    tmp: Path = tmp_path_factory.mktemp("cognite-gateway")
    with run_gateway(tmp, dialects={"cognite": cognite_settings(functions)},
                     server={"response_validation": "enforce"}) as gw:
        yield gw


def sdk_client(url: str, project: str, token: str = "any-token") -> CogniteClient:
    return CogniteClient(ClientConfig(client_name="wfgateway-tests", base_url=url, project=project,
                                      credentials=Token(token), timeout=20))


@pytest.fixture(scope="session")
def client(gateway: RunningGateway) -> CogniteClient:
    return sdk_client(gateway.url, "acme")


def wait_for(fetch: Callable[[], Any], predicate: Callable[[Any], bool], timeout: float = 10.0) -> Any:
    """Poll ``fetch`` until ``predicate`` holds; fail with the last value otherwise."""
    deadline = time.monotonic() + timeout
    value = fetch()
    while not predicate(value):
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not reached within {timeout}s; last value: {describe(value)}")
        time.sleep(0.05)
        value = fetch()
    return value


def describe(value: Any) -> str:
    """A readable summary of an execution (its tasks' statuses) for failure messages."""
    tasks = getattr(value, "executed_tasks", None)
    if tasks is None:
        return repr(value)
    return f"{value.status}: " + ", ".join(f"{t.external_id}={t.status}" for t in tasks)
