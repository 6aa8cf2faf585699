"""`wfgateway contract --open` against a gateway started as `make run` starts it (the shipped
config.yaml, open mode, its own process): it passes on every dialect, and what the user stored before
the run -- under the very names the spec's examples use -- is unchanged after it, with nothing the run
created left behind."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from tests.support.server import REPO, run_gateway_process

pytestmark = pytest.mark.slow  # started first: see tests/conftest.py

# A short run of every phase but coverage (its hundreds of cases per operation are what
# tests/contract/test_schemathesis.py runs in process); examples hit the spec's own names.
QUICK = ["--phases", "examples,fuzzing,stateful", "--max-examples", "3"]


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with run_gateway_process(tmp_path_factory.mktemp("live-contract")) as url:
        yield url


def contract(url: str, dialect: str, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "wfgateway.cli", "contract", "--dialect", dialect, "--url", url,
                           "--open", *QUICK, *extra], cwd=REPO, capture_output=True, text=True, timeout=900)


def ok(answer: httpx.Response) -> Any:
    assert answer.status_code < 300, answer.text
    return answer.json() if answer.content else None


def store_conductor(c: httpx.Client) -> Callable[[], Any]:
    """The user's task and workflow, named as the spec's examples name theirs."""
    ok(c.post("/api/metadata/taskdefs", json=[{"name": "charge", "retryCount": 7, "description": "mine"}]))
    ok(c.put("/api/secrets/api_key", content=b"mine"))
    ok(c.post("/api/metadata/workflow", json={
        "name": "order_flow", "version": 1, "description": "the user's own", "timeoutSeconds": 0,
        "tasks": [{"name": "charge", "taskReferenceName": "mine_ref", "type": "SIMPLE"}]}))
    return lambda: (ok(c.get("/api/metadata/taskdefs")), ok(c.get("/api/metadata/workflow")),
                    ok(c.get("/api/secrets")), c.get("/api/secrets/api_key").text)


def store_cognite(c: httpx.Client) -> Callable[[], Any]:
    base = "/api/v1/projects/default/workflows"
    ok(c.post(base, json={"items": [{"externalId": "my-workflow", "description": "the user's own"}]}))
    ok(c.post(f"{base}/versions", json={"items": [{"workflowExternalId": "my-workflow", "version": "1",
                                                   "workflowDefinition": {"tasks": []}}]}))
    return lambda: (ok(c.get(base)), ok(c.post(f"{base}/versions/list", json={})))


def store_altostrat(c: httpx.Client) -> Callable[[], Any]:
    auth = ok(c.post("/workflows/authorization"))["id"]
    ok(c.post("/workflows/vault", json={"name": "mine", "secret": "s3cret"}))
    ok(c.post("/workflows", json={
        "name": "Mine", "authorization_id": auth,
        "nodes": [{"id": "start", "type": "manual_trigger", "position": {"x": 0, "y": 0},
                   "data": {"componentId": "manual_trigger"}}], "edges": []}))
    return lambda: [ok(c.get(p)) for p in ("/workflows/authorization", "/workflows/vault", "/workflows")]


STORE = {"conductor": store_conductor, "cognite": store_cognite, "altostrat": store_altostrat}


@pytest.mark.parametrize("dialect", ["conductor", "cognite", "altostrat"])
def test_contract_open_passes_and_leaves_the_users_data_alone(gateway: str, dialect: str):
    with httpx.Client(base_url=gateway, timeout=30) as c:
        snapshot = STORE[dialect](c)
        before = snapshot()
        done = contract(gateway, dialect)
        assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-3000:]
        assert "result: PASS" in done.stdout
        assert "objects the run created deleted" in done.stdout
        assert snapshot() == before, "the run changed or left behind stored objects"


def test_the_spec_served_in_open_mode_makes_credentials_optional(gateway: str):
    import yaml

    for dialect in ("conductor", "cognite", "altostrat"):
        served = yaml.safe_load(httpx.get(f"{gateway}/openapi/{dialect}.yaml").text)
        assert {} in served["security"], dialect
        for item in served["paths"].values():
            for op in item.values():
                if isinstance(op, dict) and op.get("security"):
                    assert {} in op["security"], (dialect, op.get("operationId"))
