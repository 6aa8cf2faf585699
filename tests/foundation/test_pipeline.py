"""The request pipeline, driven through a real uvicorn server with a minimal dialect."""

from __future__ import annotations

import gzip

import httpx
import pytest

from tests.support.server import REPO, ThreadServer
from wfgateway.app import create_app
from wfgateway.config import config_from_dict

AUTH = {"Authorization": "Bearer sesame"}


class _Engine:
    name = "engine"


@pytest.fixture(scope="module")
def toy(tmp_path_factory: pytest.TempPathFactory):
    tmp = tmp_path_factory.mktemp("toy")
    cfg = config_from_dict(
        {
            "server": {"max_body_bytes": 2000, "access_log": True},
            "store": {"kind": "sqlite", "path": str(tmp / "db")},
            "dialects": {"toy": {"adapter": "tests.foundation.toy_dialect",
                                 "spec": str(REPO / "tests/fixtures/toy/toy.yaml")}},
        },
        base_dir=REPO,
    )
    app = create_app(cfg, engine=_Engine())  # the pipeline alone: the handlers never reach an engine
    server = ThreadServer(app)
    server.start()
    with httpx.Client(base_url=server.url) as client:
        yield client, app.dialects[0]
    server.stop()


def test_valid_request_reaches_handler_with_coerced_params(toy):
    client, dialect = toy
    r = client.get("/toy/things/7?verbose=True&tags=a&tags=b", headers=AUTH)
    assert r.status_code == 200, r.text
    assert r.json() == {"name": "thing7", "size": 1}
    call = dialect.seen[-1]
    assert call.path == {"thingId": 7}
    assert call.query == {"verbose": True, "tags": ["a", "b"]}
    assert call.principal.tenant == "t1"
    assert r.headers["x-request-id"]


def test_request_id_is_echoed(toy):
    client, _ = toy
    r = client.get("/toy/things/1", headers={**AUTH, "X-Request-Id": "abc-123"})
    assert r.headers["x-request-id"] == "abc-123"


@pytest.mark.parametrize(
    ("method", "path", "kwargs", "status", "code"),
    [
        ("GET", "/toy/things/0", {}, 400, "validation_failed"),  # minimum 1
        ("GET", "/toy/things/x", {}, 400, "validation_failed"),  # not an integer
        ("GET", "/toy/things/1?verbose=maybe", {}, 400, "validation_failed"),
        ("POST", "/toy/things", {"json": {"name": "a"}}, 400, "validation_failed"),  # missing X-Mode header
        ("POST", "/toy/things", {"json": {"name": ""}, "headers": {"X-Mode": "a"}}, 400, "validation_failed"),
        ("POST", "/toy/things", {"content": b"{not json", "headers": {"X-Mode": "a", "Content-Type": "application/json"}},
         400, "malformed_body"),
        ("POST", "/toy/things", {"content": b"", "headers": {"X-Mode": "a"}}, 400, "validation_failed"),
        ("POST", "/toy/things", {"content": b"name=a", "headers": {"X-Mode": "a", "Content-Type": "text/plain"}},
         415, "unsupported_media_type"),
        ("POST", "/toy/things", {"json": {"name": "a" * 3000}, "headers": {"X-Mode": "a"}}, 413, "payload_too_large"),
        ("GET", "/toy/nothing", {}, 404, "route_not_found"),
        ("DELETE", "/toy/things/1", {}, 405, "method_not_allowed"),
    ],
)
def test_bad_requests_get_dialect_errors(toy, method, path, kwargs, status, code):
    client, _ = toy
    headers = {**AUTH, **kwargs.pop("headers", {})}
    r = client.request(method, path, headers=headers, **kwargs)
    assert r.status_code == status, r.text
    assert r.json()["code"] == code
    if status == 405:
        assert r.headers["allow"] == "GET, HEAD"


def test_missing_and_bad_credentials_are_401(toy):
    client, _ = toy
    assert client.get("/toy/things/1").status_code == 401
    assert client.get("/toy/things/1", headers={"Authorization": "Bearer nope"}).json()["code"] == "unauthorized"


def test_gzip_body_is_accepted_and_gzip_bomb_is_413(toy):
    client, dialect = toy
    body = gzip.compress(b'{"name": "zipped", "size": 3}')
    r = client.post("/toy/things", content=body,
                    headers={**AUTH, "X-Mode": "b", "Content-Encoding": "gzip", "Content-Type": "application/json"})
    assert r.status_code == 201, r.text
    assert r.json() == {"name": "zipped", "size": 3}
    bomb = gzip.compress(b'{"name": "' + b"a" * 100_000 + b'"}')
    r = client.post("/toy/things", content=bomb,
                    headers={**AUTH, "X-Mode": "b", "Content-Encoding": "gzip", "Content-Type": "application/json"})
    assert r.status_code == 413
    r = client.post("/toy/things", content=b"not gzip at all",
                    headers={**AUTH, "X-Mode": "b", "Content-Encoding": "gzip", "Content-Type": "application/json"})
    assert r.status_code == 400 and r.json()["code"] == "malformed_body"


def test_health_and_spec_endpoints(toy):
    client, _ = toy
    assert client.get("/healthz").json() == {"status": "ok"}
    assert client.get("/readyz").status_code == 200
    r = client.get("/openapi/toy.yaml")
    assert r.status_code == 200 and b"operationId: getThing" in r.content


def test_access_log_is_json_without_secrets(toy, caplog):
    client, _ = toy
    import json
    import logging

    with caplog.at_level(logging.INFO, logger="wfgateway.access"):
        client.get("/toy/things/3?verbose=true", headers=AUTH)
    lines = [json.loads(r.getMessage()) for r in caplog.records if r.name == "wfgateway.access"]
    assert lines and lines[-1]["status"] == 200 and lines[-1]["operation"] == "getThing"
    assert "sesame" not in caplog.text


def test_unknown_path_outside_any_dialect_is_json_404(toy):
    client, _ = toy
    r = client.get("/elsewhere")
    assert r.status_code == 404 and r.json()["error"]["code"] == 404
