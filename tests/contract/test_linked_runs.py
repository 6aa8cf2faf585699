"""The specs' own links and examples lead from a definition to a failed run, its rerun or retry, and back.

define -> start -> get (until failed) -> rerun or retry -> get, each request built only from the spec:
its named examples for fresh steps and its OpenAPI links for the rest (tests/contract/linkwalk.py),
each answer checked by Schemathesis, on the in-process gateway with credentials configured.
Schemathesis' stateful phase explores the same links at random (test_schemathesis.py); this chain
shows deterministically that they reach failed runs and reruns.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from schemathesis.python import asgi

from tests.contract.gateways import SECRETS, keyed_document, secured_dialects, token_for
from tests.contract.linkwalk import LinkWalker, Step
from tests.support.server import REPO, gateway_config
from wfgateway.app import GatewayApp, create_app
from wfgateway.config import config_from_dict

CONDUCTOR_RERUN = [
    Step("define", "registerWorkflowDef", example="fails_at_once"),
    Step("start", "startWorkflowByName", links=(("define", "StartByName"),)),
    Step("get", "getWorkflow", links=(("start", "GetWorkflow"),), until=("status", "FAILED")),
    Step("rerun", "rerunWorkflow", links=(("get", "RerunFromFirstTask"),)),
    Step("again", "getWorkflow", links=(("rerun", "GetWorkflow"),), until=("status", "FAILED")),
]
CONDUCTOR_RETRY = [
    Step("define", "registerWorkflowDef", example="http_fails"),
    Step("start", "startWorkflowByName", links=(("define", "StartByName"),)),
    Step("get", "getWorkflow", links=(("start", "GetWorkflow"),), until=("status", "FAILED")),
    Step("retry", "retryWorkflow", links=(("start", "Retry"),)),
    Step("again", "getWorkflow", links=(("start", "GetWorkflow"),)),
]
COGNITE_RETRY = [
    Step("define", "upsertWorkflowVersions", example="fails_at_once"),
    Step("session", "createSessions", example="tokenExchange"),
    Step("run", "runWorkflow", links=(("define", "RunWorkflow"), ("session", "RunWithNonce"))),
    Step("get", "retrieveWorkflowExecution", links=(("run", "RetrieveExecution"),), until=("status", "FAILED")),
    Step("session2", "createSessions", example="tokenExchange"),
    Step("retry", "retryWorkflowExecution", links=(("run", "RetryExecution"), ("session2", "RetryWithNonce"))),
    Step("again", "retrieveWorkflowExecution", links=(("retry", "RetrieveExecution"),)),
]
ALTOSTRAT_RERUN = [
    Step("authorize", "createWorkflowAuthorizationUrl"),
    Step("define", "createWorkflow", links=(("authorize", "CreateFailingWorkflowWithAuthorization"),)),
    Step("start", "executeWorkflow", links=(("define", "ExecuteWorkflow"),)),
    Step("get", "getWorkflowRun", links=(("start", "GetWorkflowRun"),), until=("status", "failed")),
    Step("rerun", "rerunWorkflowRun", links=(("get", "RerunWorkflowRun"),)),
    Step("again", "getWorkflowRun", links=(("rerun", "GetNewRun"),)),
]


@pytest.fixture
def app(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[GatewayApp]:
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    logging.getLogger("wfgateway").setLevel(logging.CRITICAL)
    try:
        yield create_app(config_from_dict(gateway_config(tmp_path, dialects=secured_dialects()), base_dir=REPO))
    finally:
        asgi.shutdown_lifespans()
        logging.getLogger("wfgateway").setLevel(logging.NOTSET)


def _walker(dialect: str, app: GatewayApp) -> LinkWalker:
    def post(path: str, body: dict) -> dict:
        with asgi.get_client(app) as client:
            response = client.post(f"http://{asgi.HOST}{path}", json=body)
        response.raise_for_status()
        return response.json()

    token = token_for(dialect, post)
    credentials = {"X-Authorization": token} if dialect == "conductor" else {"Authorization": f"Bearer {token}"}
    return LinkWalker(keyed_document(dialect), app, credentials)


@pytest.mark.parametrize("steps", [CONDUCTOR_RERUN, CONDUCTOR_RETRY], ids=["rerun", "retry"])
def test_conductor_links_reach_a_failed_run_and_run_it_again(app: GatewayApp, steps: list[Step]) -> None:
    log = {e.step.name: e for e in _walker("conductor", app).walk(steps)}
    workflow_id = log["start"].answer
    assert log["get"].answer["workflowId"] == workflow_id and log["get"].answer["status"] == "FAILED"
    if "rerun" in log:
        assert log["rerun"].answer == workflow_id  # Conductor reruns in place, same id
    else:
        assert log["retry"].status == 204
    tasks = log["again"].answer["tasks"]
    assert len(tasks) > len(log["get"].answer["tasks"]) or "rerun" in log  # a retry adds an attempt


def test_cognite_links_reach_a_failed_execution_and_retry_it(app: GatewayApp) -> None:
    log = {e.step.name: e for e in _walker("cognite", app).walk(COGNITE_RETRY)}
    execution_id = log["run"].answer["id"]
    assert log["get"].answer["status"] == "FAILED"
    assert log["retry"].answer["id"] == execution_id  # Cognite retries in place
    assert log["again"].answer["id"] == execution_id


def test_altostrat_links_reach_a_failed_run_and_rerun_it(app: GatewayApp) -> None:
    log = {e.step.name: e for e in _walker("altostrat", app).walk(ALTOSTRAT_RERUN)}
    run_id = log["start"].answer["id"]
    assert log["get"].answer["id"] == run_id and log["get"].answer["status"] == "failed"
    assert log["rerun"].answer["original_run_id"] == run_id
    new_run = log["again"].answer
    assert new_run["id"] == log["rerun"].answer["new_run"]["id"] != run_id  # Altostrat reruns as a new run
