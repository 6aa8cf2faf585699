"""A run started through Altostrat keeps its ``fl_run_`` id, and a cognite-sdk user who found it in the
execution list retrieves, cancels and retries it by that id (Altostrat's organisation ``default`` and
Cognite's project ``default`` are one tenant in open mode).  Ids that are neither UUIDs nor run ids the
gateway issues are still refused with Cognite's 400."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from cognite.client import CogniteClient
from cognite.client.exceptions import CogniteAPIError, CogniteNotFoundError

from tests.altostrat.graphs import edge, node
from tests.cognite.conftest import sdk_client, wait_for
from tests.support.server import RunningGateway, run_gateway


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningGateway]:
    with run_gateway(tmp_path_factory.mktemp("altostrat-cognite"),
                     server={"response_validation": "enforce"}) as gw:
        yield gw


@pytest.fixture(scope="module")
def altostrat(gateway: RunningGateway) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=gateway.url, timeout=15) as c:
        yield c


@pytest.fixture(scope="module")
def client(gateway: RunningGateway) -> CogniteClient:
    return sdk_client(gateway.url, "default")


def start_run(api: httpx.Client, name: str, second: dict[str, Any]) -> str:
    auth_id = api.post("/workflows/authorization").raise_for_status().json()["id"]
    workflow = api.post("/workflows", json={
        "name": name, "authorization_id": auth_id,
        "nodes": [node("start", "manual_trigger"), second],
        "edges": [edge("start", second["id"])],
    }).raise_for_status().json()
    run_id: str = api.post(f"/workflows/{workflow['id']}/execute", json={"context": {}}).raise_for_status().json()["id"]
    assert run_id.startswith("fl_run_")
    return run_id


def test_an_altostrat_run_is_listed_retrieved_and_retried_through_the_cognite_sdk(client, altostrat):
    # a webhook to a closed port fails the run
    run_id = start_run(altostrat, "xids-failing",
                       node("call", "webhook", method="POST", url="http://127.0.0.1:9/closed", body={}))
    wait_for(lambda: altostrat.get(f"/workflows/runs/{run_id}").json()["status"], lambda s: s == "failed")

    assert run_id in {e.id for e in client.workflows.executions.list(statuses=["failed"], limit=-1)}
    detailed = client.workflows.executions.retrieve_detailed(run_id)
    assert detailed is not None and detailed.id == run_id and detailed.status == "failed"

    retried = client.workflows.executions.retry(run_id)
    assert retried.id == run_id and retried.status == "running"


def test_a_running_altostrat_run_is_cancelled_through_the_cognite_sdk(client, altostrat):
    run_id = start_run(altostrat, "xids-waiting", node("wait", "delay", duration=10, unit="minutes"))
    cancelled = client.workflows.executions.cancel(run_id, reason="not needed")
    assert cancelled.id == run_id and cancelled.status == "terminated"
    assert altostrat.get(f"/workflows/runs/{run_id}").json()["status"] != "running"


def test_ids_the_gateway_never_issues_are_still_refused_as_cognite_does(client):
    unknown_run = "fl_run_01jeq3m6f7k2t9v4w8x5y1z0ab"
    assert client.workflows.executions.retrieve_detailed(unknown_run) is None
    with pytest.raises(CogniteNotFoundError):
        client.workflows.executions.cancel(unknown_run, reason=None)
    for garbage in ("not-a-uuid", "fl_run_short", "fl_01jeq3m6f7k2t9v4w8x5y1z0ab", "FL_RUN_01JEQ3M6F7K2T9V4W8X5Y1Z0AB"):
        assert client.workflows.executions.retrieve_detailed(garbage) is None
        with pytest.raises(CogniteAPIError) as refused:
            client.workflows.executions.cancel(garbage, reason=None)
        assert refused.value.code == 400, garbage
