"""Same-vendor upstream: the front gateway validates, forwards raw with its own upstream credentials,
and checks the upstream's answers against the spec (report or enforce)."""

from __future__ import annotations

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse
from starlette.routing import Route

from tests.routing.support import MemoryBackend, relay_gateway, serve, upstream
from tests.support.raw_http import raw_head

FRONT = {"Authorization": "Bearer front-secret"}


@pytest.fixture
def pair(tmp_path, monkeypatch):
    """back: a gateway on a memory backend (token back-secret); front: routes everything to back."""
    monkeypatch.setenv("RELAY_UPSTREAM_TOKEN", "back-secret")
    back_engine = MemoryBackend("back")
    with relay_gateway(tmp_path / "back", engine=back_engine, token="back-secret") as (back_url, _), \
            relay_gateway(tmp_path / "front", engine=MemoryBackend("front"), token="front-secret",
                          backends={"engine": {"kind": "engine"}, "back": upstream(back_url)},
                          routes=[{"name": "all", "match": {}, "backend": "back"}]) as (front_url, front_app):
        yield front_url, front_app, back_engine


def test_requests_pass_through_with_upstream_credentials(pair):
    front, app, back = pair
    with httpx.Client(base_url=front, headers=FRONT) as c:
        r = c.post("/relay/workflows/orders/start", json={"input": {"n": 1}, "correlationId": "c-1"})
        assert r.status_code == 200, r.text
        assert r.headers["content-type"].startswith("text/plain")
        new_id = r.text
        assert new_id in back.executions  # it ran on the back gateway's backend
        got = c.get(f"/relay/executions/{new_id}", params={"verbose": "true"})
        assert got.status_code == 200
        assert got.json()["input"] == {"n": 1} and got.json()["correlationId"] == "c-1"
        assert "x-wfgateway-drift" not in got.headers
        assert c.post(f"/relay/executions/{new_id}/rerun").json()["runs"] == 2
        assert [e["id"] for e in c.post("/relay/executions/search", json={"workflow": "orders"}).json()["items"]] \
            == [new_id]
    assert back.calls == ["start", "get", "rerun", "get", "search"]  # rerun reads first
    assert app.dialects[0].backends_seen == []  # the front's handlers were bypassed


def test_upstream_errors_pass_through_in_the_vendor_format(pair):
    front, _, _ = pair
    with httpx.Client(base_url=front, headers=FRONT) as c:
        r = c.get("/relay/executions/nope")
    assert r.status_code == 404
    assert r.json()["error"]["message"] == "no execution nope"


def test_invalid_requests_never_reach_the_upstream(pair):
    front, _, back = pair
    with httpx.Client(base_url=front, headers=FRONT) as c:
        r = c.post("/relay/workflows/Bad-Name/start", json={"input": {}})
        assert r.status_code == 400 and r.json()["error"]["kind"] == "validation_failed"
        assert c.post("/relay/workflows/ok/start", json={"input": 5}).status_code == 400
        assert c.get("/relay/executions/x", headers={"Authorization": "Bearer back-secret"}).status_code == 401
    assert back.calls == []


def test_local_operations_stay_on_the_gateway(pair):
    front, _, _ = pair
    r = httpx.post(front + "/relay/token")
    assert r.text == "front-secret"  # the front's own token endpoint, not the upstream's


def off_spec_upstream() -> Starlette:
    """A vendor that has drifted from the spec: unknown status word, extra field, wrong types."""

    async def get(request: Request) -> JSONResponse:
        assert request.headers["authorization"] == "Bearer back-secret"
        return JSONResponse({"id": request.path_params["id"], "workflow": "w", "status": "EXPLODED", "extra": 1})

    async def start(request: Request) -> PlainTextResponse:
        return PlainTextResponse("x-1", status_code=201)

    return Starlette(routes=[Route("/relay/executions/{id}", get),
                             Route("/relay/workflows/{name}/start", start, methods=["POST"])])


@pytest.mark.parametrize("mode", ["report", "enforce"])
def test_drift_is_reported_or_enforced(tmp_path, monkeypatch, mode):
    monkeypatch.setenv("RELAY_UPSTREAM_TOKEN", "back-secret")
    with serve(off_spec_upstream()) as bad, \
            relay_gateway(tmp_path, token="front-secret",
                          backends={"engine": {"kind": "engine"}, "bad": upstream(bad, response_validation=mode)},
                          routes=[{"name": "drifty", "match": {}, "backend": "bad"}]) as (front, _):
        with httpx.Client(base_url=front, headers=FRONT) as c:
            r = c.get("/relay/executions/e1")
            started = c.post("/relay/workflows/w/start", json={})
            metrics = c.get("/metrics").text
    if mode == "report":
        assert r.status_code == 200 and r.json()["status"] == "EXPLODED"
        assert "EXPLODED" in r.headers["x-wfgateway-drift"]
        assert "status 201 is not documented" in started.headers["x-wfgateway-drift"]
    else:
        assert r.status_code == 502
        assert r.json()["error"]["kind"] == "bad_gateway" and "EXPLODED" in r.json()["error"]["message"]
        assert started.status_code == 502
    assert 'wfgateway_response_drift_total{backend="bad",operation="getExecution",route="drifty"} 1.0' in metrics


def test_a_head_is_forwarded_as_the_get_it_stands_for(pair):
    """The upstream pool never reads a HEAD answer (a Content-Length with no body would hang it): the
    front asks the GET and its server drops the body."""
    front, _, back = pair
    with httpx.Client(base_url=front, headers=FRONT) as c:
        new_id = c.post("/relay/workflows/orders/start", json={"input": {}}).text
        got = c.get(f"/relay/executions/{new_id}")
    status, headers, body = raw_head(front, f"/relay/executions/{new_id}", FRONT)
    assert status == 200 and body == b""
    assert headers["content-type"] == got.headers["content-type"]
    assert back.calls == ["start", "get", "get"]
