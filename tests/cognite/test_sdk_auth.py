"""Bearer tokens per project (dialects.cognite.auth.tokens) as the SDK experiences them."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from cognite.client.exceptions import CogniteAPIError, CogniteProjectAccessError

from tests.cognite.conftest import FunctionServer, cognite_settings, sdk_client
from tests.cognite.test_sdk_retry import async_task, unique, upsert
from tests.support.server import RunningGateway, run_gateway

ACME_TOKEN = "acme-secret-token"
ALL_TOKEN = "all-projects-token"


@pytest.fixture(scope="module")
def secured(tmp_path_factory: pytest.TempPathFactory, functions: FunctionServer) -> Iterator[RunningGateway]:
    mp = pytest.MonkeyPatch()
    mp.setenv("WFG_TEST_COGNITE_ACME", ACME_TOKEN)
    mp.setenv("WFG_TEST_COGNITE_ALL", ALL_TOKEN)
    auth = {"tokens": [{"token_env": "WFG_TEST_COGNITE_ACME", "projects": ["acme"]},
                       {"token_env": "WFG_TEST_COGNITE_ALL", "projects": ["*"]}]}
    try:
        with run_gateway(tmp_path_factory.mktemp("cognite-auth"),
                         dialects={"cognite": cognite_settings(functions, auth=auth)}) as gw:
            yield gw
    finally:
        mp.undo()


def test_allowed_token_works_through_the_sdk(secured):
    client = sdk_client(secured.url, "acme", ACME_TOKEN)
    xid = unique("secure")
    upsert(client, xid, [async_task("a")])
    run = client.workflows.executions.run(xid, "1")
    assert run.status == "running"
    assert client.workflows.executions.retrieve_detailed(run.id).workflow_external_id == xid
    wildcard = sdk_client(secured.url, "anything", ALL_TOKEN)
    assert wildcard.workflows.retrieve(xid) is None  # another project: its own, empty world


def test_bad_or_missing_token_is_401_and_sdk_raises_project_access_error(secured):
    with pytest.raises(CogniteProjectAccessError):
        sdk_client(secured.url, "acme", "wrong-token").workflows.list(limit=5)
    r = httpx.get(f"{secured.url}/api/v1/projects/acme/workflows")
    assert r.status_code == 401 and r.json()["error"]["code"] == 401 and r.json()["error"]["message"]
    r = httpx.get(f"{secured.url}/api/v1/projects/acme/workflows", headers={"authorization": "Basic abc"})
    assert r.status_code == 401


def test_token_for_another_project_is_403(secured):
    with pytest.raises(CogniteAPIError) as denied:
        sdk_client(secured.url, "globex", ACME_TOKEN).workflows.list(limit=5)
    assert denied.value.code == 403 and "globex" in denied.value.message


def test_token_inspect_lists_the_projects_of_the_token(secured):
    r = httpx.get(f"{secured.url}/api/v1/token/inspect", headers={"authorization": f"Bearer {ACME_TOKEN}"})
    assert r.status_code == 200
    assert r.json()["projects"] == [{"projectUrlName": "acme", "groups": []}]
    assert httpx.get(f"{secured.url}/api/v1/token/inspect").status_code == 401
