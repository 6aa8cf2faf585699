"""Conductor secrets: conductor-python's SecretClient against /api/secrets, and ``${workflow.secrets.X}``
in a run -- the worker that polls the task and the server an HTTP task calls get the value; the run as
stored and shown keeps the reference, and the HTTP task's output masks the value.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from conductor.client.configuration.configuration import Configuration
from conductor.client.http.rest import ApiException
from conductor.client.orkes.models.metadata_tag import MetadataTag
from conductor.client.orkes_clients import OrkesClients
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from tests.conductor.spec_check import checked_client
from tests.support.server import RunningGateway, ThreadServer

TOKEN = "tok-4f1b9e"


@pytest.fixture(scope="module")
def clients(open_gateway: RunningGateway) -> OrkesClients:
    return OrkesClients(configuration=Configuration(server_api_url=f"{open_gateway.url}/api"))


@pytest.fixture(scope="module")
def echo_server() -> Iterator[str]:
    """A real HTTP server that answers with the Authorization header it was sent."""

    async def echo(request: Request) -> JSONResponse:
        return JSONResponse({"auth": request.headers.get("authorization")})

    server = ThreadServer(Starlette(routes=[Route("/echo", echo, methods=["POST"])]))
    server.start()
    try:
        yield server.url
    finally:
        server.stop()


def test_secret_client_round_trip(clients: OrkesClients) -> None:
    secrets = clients.get_secret_client()
    secrets.put_secret("db_password", "pa ss{w}ord")
    assert secrets.get_secret("db_password") == "pa ss{w}ord"
    assert secrets.secret_exists("db_password") is True
    assert "db_password" in secrets.list_all_secret_names()
    assert "db_password" in secrets.list_secrets_that_user_can_grant_access_to()

    secrets.put_secret("db_password", "rotated")
    assert secrets.get_secret("db_password") == "rotated"

    secrets.delete_secret("db_password")
    assert secrets.secret_exists("db_password") is False
    assert "db_password" not in secrets.list_all_secret_names()
    with pytest.raises(ApiException) as missing:
        secrets.get_secret("db_password")
    assert missing.value.status == 404


def test_secret_tags_are_added_listed_removed_and_go_with_the_secret(clients: OrkesClients) -> None:
    """Orkes' SecretClient.set/get/delete_secret_tags, as conductor-python's own lifecycle test uses them."""
    secrets = clients.get_secret_client()
    secrets.put_secret("api_token", "t0k")
    secrets.set_secret_tags([MetadataTag("env", "prod"), MetadataTag("team", "payments")], "api_token")
    secrets.set_secret_tags([MetadataTag("env", "staging")], "api_token")  # same type and key: new value
    assert sorted((t.key, t.value) for t in secrets.get_secret_tags("api_token")) == [
        ("env", "staging"), ("team", "payments")]
    assert "api_token" in secrets.list_all_secret_names()  # tags are no secrets of their own

    secrets.delete_secret_tags([MetadataTag("team", "payments"), MetadataTag("owner", "nobody")], "api_token")
    assert [(t.key, t.value) for t in secrets.get_secret_tags("api_token")] == [("env", "staging")]

    secrets.delete_secret("api_token")
    secrets.put_secret("api_token", "again")
    assert secrets.get_secret_tags("api_token") == []  # a secret created again starts untagged
    with pytest.raises(ApiException) as missing:
        secrets.set_secret_tags([MetadataTag("env", "prod")], "never_stored")
    assert missing.value.status == 404 and "Secret never_stored not found" in missing.value.body


def test_bad_keys_and_values_are_refused(open_gateway: RunningGateway) -> None:
    with checked_client(open_gateway.url) as api:
        bad = api.put("/api/secrets/no.dots", content=b"v", headers={"content-type": "text/plain"})
        assert bad.status_code == 400
        assert [e["path"] for e in bad.json()["validationErrors"]] == ["path.key"]
        empty = api.put("/api/secrets/k1", json="")
        assert empty.status_code == 400 and empty.json()["validationErrors"][0]["path"] == "body"
        assert api.get("/api/secrets/k1/exists").json() is False  # nothing was stored
        missing = api.get("/api/secrets/never_set")
        assert missing.status_code == 404 and missing.json()["message"] == "Secret never_set not found"


def _definition(echo_url: str) -> dict:
    return {
        "name": "uses_secrets", "version": 1,
        "tasks": [
            {"name": "secret_worker", "taskReferenceName": "work_ref", "type": "SIMPLE",
             "inputParameters": {"password": "${workflow.secrets.api_token}",
                                 "header": "Bearer ${workflow.secrets.api_token}", "user": "${workflow.input.user}"}},
            {"name": "call", "taskReferenceName": "http_ref", "type": "HTTP",
             "inputParameters": {"http_request": {"uri": f"{echo_url}/echo", "method": "POST", "body": {},
                                                  "headers": {"Authorization": "Bearer ${workflow.secrets.api_token}"}}}},
        ],
    }


def test_a_run_hands_the_value_over_and_shows_only_the_reference(
        open_gateway: RunningGateway, clients: OrkesClients, echo_server: str) -> None:
    clients.get_secret_client().put_secret("api_token", TOKEN)
    with checked_client(open_gateway.url) as api:
        assert api.post("/api/metadata/workflow", json=_definition(echo_server)).status_code == 200
        # the definition reads back as registered
        got = api.get("/api/metadata/workflow/uses_secrets").json()
        assert got["tasks"][0]["inputParameters"]["password"] == "${workflow.secrets.api_token}"

        wid = api.post("/api/workflow/uses_secrets", json={"user": "ada"}).text
        polled = api.get("/api/tasks/poll/secret_worker", params={"workerid": "w1"}).json()
        assert polled["inputData"] == {"password": TOKEN, "header": f"Bearer {TOKEN}", "user": "ada"}
        done = api.post("/api/tasks", json={"workflowInstanceId": wid, "taskId": polled["taskId"],
                                            "status": "COMPLETED", "outputData": {}})
        assert done.status_code == 200

        run = None
        for _ in range(200):
            run = api.get(f"/api/workflow/{wid}", params={"includeTasks": "true"}).json()
            if run["status"] != "RUNNING":
                break
        assert run is not None and run["status"] == "COMPLETED", run
        work, call = run["tasks"]
        assert work["inputData"]["password"] == "${workflow.secrets.api_token}"
        assert call["inputData"]["http_request"]["headers"]["Authorization"] == "Bearer ${workflow.secrets.api_token}"
        # the server got the value; the stored output masks it
        assert call["outputData"]["response"]["body"] == {"auth": "Bearer ***"}
        assert TOKEN not in httpx.get(f"{open_gateway.url}/api/workflow/{wid}",
                                      params={"includeTasks": "true"}).text
