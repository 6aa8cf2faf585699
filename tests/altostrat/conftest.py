"""A real gateway (uvicorn on 127.0.0.1) with only the Altostrat dialect, a real webhook target,
and httpx clients for two organisations."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.altostrat.spec_schemas import response_errors
from tests.altostrat.target import Target
from tests.support.server import ThreadServer, run_gateway

TOKENS = {"ALTO_TEST_TOKEN_1": "org-one-token-0123456789", "ALTO_TEST_TOKEN_2": "org-two-token-9876543210"}
JWT_SECRET = ("ALTO_TEST_JWT", "jwt-secret-for-altostrat-tests-0123456789")


@pytest.fixture(scope="package")
def target() -> Iterator[tuple[Target, str]]:
    t = Target()
    server = ThreadServer(t.app())
    server.start()
    try:
        yield t, server.url
    finally:
        server.stop()


@pytest.fixture(scope="package")
def gateway(tmp_path_factory) -> Iterator[Any]:
    saved = {k: os.environ.get(k) for k in [*TOKENS, JWT_SECRET[0]]}
    os.environ.update(TOKENS)
    os.environ[JWT_SECRET[0]] = JWT_SECRET[1]
    try:
        with run_gateway(
            tmp_path_factory.mktemp("altostrat"),
            dialects={
                "conductor": {"enabled": False},
                "cognite": {"enabled": False},
                "altostrat": {"auth": {"jwt_secret_env": JWT_SECRET[0], "tokens": [
                    {"token_env": "ALTO_TEST_TOKEN_1", "org": "org_1"},
                    {"token_env": "ALTO_TEST_TOKEN_2", "org": "org_2"}]}},
            },
        ) as gw:
            yield gw
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def _client(url: str, token: str | None) -> httpx.Client:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.Client(base_url=url, headers=headers, timeout=30)


@pytest.fixture(scope="package")
def org1(gateway) -> Iterator[httpx.Client]:
    with _client(gateway.url, TOKENS["ALTO_TEST_TOKEN_1"]) as c:
        yield c


@pytest.fixture(scope="package")
def org2(gateway) -> Iterator[httpx.Client]:
    with _client(gateway.url, TOKENS["ALTO_TEST_TOKEN_2"]) as c:
        yield c


@pytest.fixture(scope="package")
def anonymous(gateway) -> Iterator[httpx.Client]:
    with _client(gateway.url, None) as c:
        yield c


def checked(response: httpx.Response, operation_id: str, status: int) -> Any:
    """The JSON body, after asserting the status and that the body matches the spec."""
    assert response.status_code == status, response.text
    if status == 204:
        assert response.content == b""
        return None
    body = response.json()
    assert response_errors(operation_id, str(status), body) == []
    return body


def new_authorization(client: httpx.Client) -> str:
    return checked(client.post("/workflows/authorization"), "createWorkflowAuthorizationUrl", 200)["id"]


def wait_run(client: httpx.Client, run_id: str, timeout: float = 20.0) -> dict[str, Any]:
    """Poll GET /workflows/runs/{id} until the run is completed or failed."""
    deadline = time.monotonic() + timeout
    while True:
        run = checked(client.get(f"/workflows/runs/{run_id}"), "getWorkflowRun", 200)
        if run["status"] in ("completed", "failed"):
            return run
        assert time.monotonic() < deadline, f"run {run_id} still {run['status']}"
        time.sleep(0.05)
