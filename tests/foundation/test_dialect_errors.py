"""Issue 2's bad-input table, for each dialect, against the real gateway with credentials configured.

Each row is a request a user could send; the answer must be a 4xx in that vendor's own error shape
and never reach a backend.
"""

from __future__ import annotations

import gzip
import os

import httpx
import orjson
import pytest

from tests.support.raw_http import raw_head
from tests.support.server import run_gateway

SECRETS = {
    "WFGW_TEST_CONDUCTOR_SECRET": "conductor-secret",
    "WFGW_TEST_COGNITE_TOKEN": "cognite-token",
    "WFGW_TEST_ALTOSTRAT_TOKEN": "altostrat-token",
}

AUTH_CONFIG = {
    "conductor": {"auth": {"keys": [{"key_id": "ci", "key_secret_env": "WFGW_TEST_CONDUCTOR_SECRET"}]}},
    "cognite": {"auth": {"tokens": [{"token_env": "WFGW_TEST_COGNITE_TOKEN", "projects": ["p1"]}]}},
    "altostrat": {"auth": {"tokens": [{"token_env": "WFGW_TEST_ALTOSTRAT_TOKEN", "org": "org_1"}]}},
}


@pytest.fixture(scope="module")
def gateway(tmp_path_factory):
    old = {k: os.environ.get(k) for k in SECRETS}
    os.environ.update(SECRETS)
    try:
        with run_gateway(tmp_path_factory.mktemp("errors"), dialects=AUTH_CONFIG,
                         server={"max_body_bytes": 32_768}) as gw:
            with httpx.Client(base_url=gw.url, timeout=10) as client:
                token = client.post("/api/token", json={"keyId": "ci", "keySecret": "conductor-secret"})
                assert token.status_code == 200, token.text
                yield client, {
                    "conductor": {"X-Authorization": token.json()["token"]},
                    "cognite": {"Authorization": "Bearer cognite-token"},
                    "altostrat": {"Authorization": "Bearer altostrat-token"},
                }
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def check_shape(dialect: str, r: httpx.Response, status: int) -> dict:
    """The vendor's own error body (facts: Conductor ErrorResponse, Cognite error object, Altostrat error)."""
    assert r.status_code == status, (r.status_code, r.text)
    assert "Traceback" not in r.text
    body = r.json()
    if dialect == "conductor":
        assert body["status"] == status and isinstance(body["message"], str) and body["message"]
        assert "retryable" in body
    elif dialect == "cognite":
        assert body["error"]["code"] == status and body["error"]["message"]
    else:
        assert set(body) >= {"type", "code", "message", "doc_url"}
    return body


# A schema-failing body, a body missing a required field, and a valid body, per dialect.
CASES = {
    "conductor": {
        "post": "/api/workflow",
        "bad_schema": {"name": "x", "version": "not-a-number"},
        "missing_required": {"version": 1, "input": {}},
        "valid_post": ("/api/metadata/workflow", {
            "name": "gz_flow", "version": 1, "schemaVersion": 2, "timeoutSeconds": 0,
            "tasks": [{"name": "a", "taskReferenceName": "a_ref", "type": "SIMPLE"}]}),
        "unknown": "/api/nothing/here",
        "wrong_method": ("PATCH", "/api/workflow/abc"),
    },
    "cognite": {
        "post": "/api/v1/projects/p1/workflows",
        "bad_schema": {"items": [{"externalId": 5}]},
        "missing_required": {"items": [{"description": "no externalId"}]},
        "valid_post": ("/api/v1/projects/p1/workflows", {"items": [{"externalId": "gz-flow"}]}),
        "unknown": "/api/v1/projects/p1/nothing",
        "wrong_method": ("DELETE", "/api/v1/projects/p1/workflows"),
    },
    "altostrat": {
        "post": "/workflows",
        "bad_schema": {"name": 12, "nodes": "nope"},
        "missing_required": {"description": "no name"},
        "valid_post": ("/workflows", {
            "name": "gz flow", "authorization_id": "auth_01h3j4k5l6m7n8p9q0r1s2t3u4",
            "nodes": [{"id": "n1", "type": "manual_trigger", "position": {"x": 0, "y": 0},
                       "data": {"componentId": "manual_trigger"}}],
            "edges": []}),
        "unknown": "/workflows/runs/x/y/z/nothing",
        "wrong_method": ("PATCH", "/workflows"),
    },
}

DIALECTS = list(CASES)


@pytest.mark.parametrize("dialect", DIALECTS)
def test_body_failing_schema(gateway, dialect):
    client, auth = gateway
    r = client.post(CASES[dialect]["post"], json=CASES[dialect]["bad_schema"], headers=auth[dialect])
    assert r.status_code in (400, 422)
    check_shape(dialect, r, r.status_code)


@pytest.mark.parametrize("dialect", DIALECTS)
def test_missing_required_field(gateway, dialect):
    client, auth = gateway
    r = client.post(CASES[dialect]["post"], json=CASES[dialect]["missing_required"], headers=auth[dialect])
    assert r.status_code in (400, 422)
    check_shape(dialect, r, r.status_code)


@pytest.mark.parametrize("dialect", DIALECTS)
def test_malformed_json(gateway, dialect):
    client, auth = gateway
    r = client.post(CASES[dialect]["post"], content=b'{"name": ', headers={
        **auth[dialect], "Content-Type": "application/json"})
    check_shape(dialect, r, 400)


@pytest.mark.parametrize("dialect", DIALECTS)
def test_gzip_body_is_accepted(gateway, dialect):
    client, auth = gateway
    path, body = CASES[dialect]["valid_post"]
    if dialect == "altostrat":  # a workflow needs an authorization of the caller's organisation
        authorization = client.post("/workflows/authorization", headers=auth[dialect])
        assert authorization.status_code == 200, authorization.text
        body = {**body, "authorization_id": authorization.json()["id"]}
    r = client.post(path, content=gzip.compress(orjson.dumps(body)), headers={
        **auth[dialect], "Content-Type": "application/json", "Content-Encoding": "gzip"})
    assert 200 <= r.status_code < 300, r.text


@pytest.mark.parametrize("dialect", DIALECTS)
def test_oversized_body(gateway, dialect):
    client, auth = gateway
    r = client.post(CASES[dialect]["post"], content=b'{"pad": "' + b"x" * 40_000 + b'"}', headers={
        **auth[dialect], "Content-Type": "application/json"})
    check_shape(dialect, r, 413)


@pytest.mark.parametrize("dialect", DIALECTS)
def test_wrong_content_type(gateway, dialect):
    client, auth = gateway
    r = client.post(CASES[dialect]["post"], content=b"<xml/>", headers={**auth[dialect], "Content-Type": "application/xml"})
    check_shape(dialect, r, 415)


@pytest.mark.parametrize("dialect", DIALECTS)
def test_missing_and_bad_credentials(gateway, dialect):
    client, _ = gateway
    path, body = CASES[dialect]["valid_post"]
    check_shape(dialect, client.post(path, json=body), 401)
    bad = {"conductor": {"X-Authorization": "not-a-token"}, "cognite": {"Authorization": "Bearer wrong"},
           "altostrat": {"Authorization": "Bearer wrong"}}[dialect]
    check_shape(dialect, client.post(path, json=body, headers=bad), 401)


def message_of(dialect: str, body: dict) -> str:  # type: ignore[type-arg]
    """The message of an error answer: Cognite nests it under ``error``."""
    return str(body["error"]["message"] if dialect == "cognite" else body["message"])


@pytest.mark.parametrize("dialect", DIALECTS)
def test_unknown_path(gateway, dialect):
    """A vendor path the gateway does not serve says so (not "wrong base URL") and names where to look."""
    client, auth = gateway
    body = check_shape(dialect, client.get(CASES[dialect]["unknown"], headers=auth[dialect]), 404)
    message = message_of(dialect, body)
    assert f"does not serve GET {CASES[dialect]['unknown']}" in message
    assert "docs/compatibility.md" in message


@pytest.mark.parametrize("dialect", DIALECTS)
def test_wrong_method(gateway, dialect):
    client, auth = gateway
    method, path = CASES[dialect]["wrong_method"]
    r = client.request(method, path, headers=auth[dialect])
    check_shape(dialect, r, 405)
    assert r.headers["allow"]
    assert method not in r.headers["allow"]


GET_PATHS = {"conductor": "/api/metadata/workflow", "cognite": "/api/v1/projects/p1/workflows", "altostrat": "/workflows"}
NO_GET = {"conductor": ("/api/workflow/bulk/pause", "PUT"),
          "cognite": ("/api/v1/projects/p1/workflows/executions/list", "POST"),
          "altostrat": ("/workflows/wf_none/execute", "POST")}


@pytest.mark.parametrize("dialect", DIALECTS)
def test_head_is_get_without_its_body(gateway, dialect):
    """Uptime checks and caches send HEAD; every vendor's server answers it for its GET routes."""
    client, auth = gateway
    got = client.get(GET_PATHS[dialect], headers=auth[dialect])
    assert got.status_code == 200, got.text
    status, headers, body = raw_head(str(client.base_url), GET_PATHS[dialect], auth[dialect])
    assert status == 200 and body == b""
    assert headers["content-type"] == got.headers["content-type"]


@pytest.mark.parametrize("dialect", DIALECTS)
def test_head_of_a_route_without_get_is_405(gateway, dialect):
    client, auth = gateway
    path, method = NO_GET[dialect]
    r = client.head(path, headers=auth[dialect])
    assert r.status_code == 405
    assert r.headers["allow"] == method
    wrong = client.request(*CASES[dialect]["wrong_method"], headers=auth[dialect])
    if "GET" in wrong.headers["allow"]:
        assert "HEAD" in wrong.headers["allow"]  # an Allow that lists GET lists HEAD too


@pytest.mark.parametrize("dialect", DIALECTS)
def test_unsupported_content_encoding_is_415(gateway, dialect):
    client, auth = gateway
    path, body = CASES[dialect]["valid_post"]
    r = client.post(path, content=orjson.dumps(body), headers={
        **auth[dialect], "Content-Type": "application/json", "Content-Encoding": "br"})
    body = check_shape(dialect, r, 415)
    message = message_of(dialect, body)
    assert "br" in message


DESCRIBED = {  # (path to create, body with a description, path to read it back)
    "conductor": ("/api/metadata/workflow", {**CASES["conductor"]["valid_post"][1], "name": "latin_flow",
                                             "description": "Café crème"}, "/api/metadata/workflow/latin_flow"),
    "cognite": ("/api/v1/projects/p1/workflows", {"items": [{"externalId": "latin-flow", "description": "Café crème"}]},
                "/api/v1/projects/p1/workflows/latin-flow"),
}


@pytest.mark.parametrize("dialect", list(DESCRIBED))
def test_a_body_in_the_charset_its_content_type_names_is_read_in_that_charset(gateway, dialect):
    """Spring's JSON reader (Conductor) and the others honour ``charset``: é sent as one ISO-8859-1 byte
    is stored and answered as é, not refused as bad UTF-8 or stored garbled."""
    client, auth = gateway
    path, body, read = DESCRIBED[dialect]
    r = client.post(path, content=orjson.dumps(body).decode().encode("iso-8859-1"), headers={
        **auth[dialect], "Content-Type": "application/json; charset=ISO-8859-1"})
    assert 200 <= r.status_code < 300, r.text
    got = client.get(read, headers=auth[dialect])
    assert got.status_code == 200, got.text
    assert "Café crème" in got.content.decode("utf-8")


@pytest.mark.parametrize("dialect", DIALECTS)
def test_an_unknown_charset_is_415_and_bytes_not_in_utf8_say_so(gateway, dialect):
    client, auth = gateway
    path, body = CASES[dialect]["valid_post"]
    r = client.post(path, content=orjson.dumps(body), headers={
        **auth[dialect], "Content-Type": "application/json; charset=klingon-8"})
    answer = check_shape(dialect, r, 415)
    assert "klingon-8" in message_of(dialect, answer)
    r = client.post(path, content=b'{"name": "caf\xe9"}', headers={**auth[dialect], "Content-Type": "application/json"})
    answer = check_shape(dialect, r, 400)
    assert "not valid UTF-8" in message_of(dialect, answer)
