"""Orkes-style keys: the SDK's token flow, wrong keys, and transparent refresh of an expired token."""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import pytest
from conductor.client.configuration.configuration import Configuration
from conductor.client.configuration.settings.authentication_settings import AuthenticationSettings
from conductor.client.http.models.workflow_def import WorkflowDef
from conductor.client.http.models.workflow_task import WorkflowTask
from conductor.client.http.rest import ApiException
from conductor.client.orkes_clients import OrkesClients

from tests.support.server import run_gateway

SECRET = "s3cret-for-tests"
TTL_SECONDS = 2


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    mp = pytest.MonkeyPatch()
    mp.setenv("WFG_TEST_CONDUCTOR_KEY_SECRET", SECRET)
    mp.setenv("WFG_TEST_CONDUCTOR_TOKEN_SECRET", "token-signing-secret-of-at-least-32-bytes")
    auth = {"keys": [{"key_id": "test-key", "key_secret_env": "WFG_TEST_CONDUCTOR_KEY_SECRET"}],
            "token_ttl_seconds": TTL_SECONDS, "token_secret_env": "WFG_TEST_CONDUCTOR_TOKEN_SECRET"}
    dialects = {"conductor": {"auth": auth}, "cognite": {"enabled": False}, "altostrat": {"enabled": False}}
    try:
        with run_gateway(tmp_path_factory.mktemp("conductor-auth"), dialects=dialects) as gw:
            yield gw.url
    finally:
        mp.undo()


def sdk(url: str, key: str = "test-key", secret: str = SECRET) -> tuple[Configuration, OrkesClients]:
    cfg = Configuration(server_api_url=f"{url}/api",
                        authentication_settings=AuthenticationSettings(key_id=key, key_secret=secret))
    return cfg, OrkesClients(configuration=cfg)


def definition(name: str) -> WorkflowDef:
    return WorkflowDef(name=name, version=1, timeout_seconds=0,
                       tasks=[WorkflowTask(name="auth_task", task_reference_name="t_ref", type="SIMPLE")])


def test_sdk_token_flow_and_transparent_refresh_of_an_expired_token(gateway: str) -> None:
    cfg, clients = sdk(gateway)
    metadata, workflows = clients.get_metadata_client(), clients.get_workflow_client()
    metadata.register_workflow_def(definition("auth_flow"), overwrite=True)
    first_token = cfg.AUTH_TOKEN
    assert first_token  # the SDK fetched a token from POST /api/token
    wid = workflows.start_workflow_by_name("auth_flow", {"a": 1}, version=1)
    time.sleep(TTL_SECONDS + 1.1)  # the gateway now rejects the token with EXPIRED_TOKEN
    wf = workflows.get_workflow(wid)  # ... and the SDK fetches a new one and retries, unnoticed
    assert wf.workflow_id == wid and wf.status == "RUNNING"
    assert cfg.AUTH_TOKEN and cfg.AUTH_TOKEN != first_token


def test_wrong_key_gets_401(gateway: str) -> None:
    _, clients = sdk(gateway, secret="wrong")
    with pytest.raises(ApiException) as err:
        clients.get_metadata_client().get_all_workflow_defs()
    assert err.value.status == 401
    r = httpx.post(f"{gateway}/api/token", json={"keyId": "test-key", "keySecret": "wrong"})
    assert r.status_code == 401 and "error" not in r.json()  # no refresh loop in the SDK
    r = httpx.post(f"{gateway}/api/token", json={"keyId": "other", "keySecret": SECRET})
    assert r.status_code == 401


def test_missing_invalid_and_expired_tokens_carry_the_sdk_error_codes(gateway: str) -> None:
    r = httpx.get(f"{gateway}/api/metadata/workflow")
    assert r.status_code == 401 and r.json()["error"] == "INVALID_TOKEN" and r.json()["status"] == 401
    r = httpx.get(f"{gateway}/api/metadata/workflow", headers={"X-Authorization": "not-a-jwt"})
    assert r.status_code == 401 and r.json()["error"] == "INVALID_TOKEN"
    token = httpx.post(f"{gateway}/api/token", json={"keyId": "test-key", "keySecret": SECRET}).json()["token"]
    assert httpx.get(f"{gateway}/api/metadata/workflow", headers={"X-Authorization": token}).status_code == 200
    time.sleep(TTL_SECONDS + 1.1)
    r = httpx.get(f"{gateway}/api/metadata/workflow", headers={"X-Authorization": token})
    assert r.status_code == 401 and r.json()["error"] == "EXPIRED_TOKEN"
