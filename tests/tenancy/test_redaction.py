"""Issue 21: no credential carried by a request -- in its path, headers or body -- reaches the access log,
any other log line, /metrics, or an error message; the webhook path token is masked as ``[redacted]``."""

from __future__ import annotations

import json
import logging

import httpx
import pytest

from tests.tenancy.conftest import SECRETS, TwoTenants
from wfgateway.redaction import MARK, Redactor


def _webhook_workflow(client: httpx.Client, name: str) -> str:
    auth = client.post("/workflows/authorization")
    assert auth.status_code == 200, auth.text
    made = client.post("/workflows", json={"name": name, "authorization_id": auth.json()["id"], "edges": [],
                                           "nodes": [{"id": "hook", "type": "webhook_trigger", "position": {"x": 0, "y": 0},
                                                      "data": {"componentId": "webhook_trigger"}}]})
    assert made.status_code == 201, made.text
    return made.json()["webhook_url"].rsplit("/", 1)[1]


def test_no_credential_reaches_a_log_line_metrics_or_an_error(tenants: TwoTenants, caplog: pytest.LogCaptureFixture):
    url = tenants.gateway.url
    acme = tenants.acme
    token = _webhook_workflow(acme.altostrat, "hooked")
    secrets = [*SECRETS.values(), token, acme.conductor.headers["x-authorization"]]
    answers: list[httpx.Response] = []
    with caplog.at_level(logging.DEBUG), httpx.Client(base_url=url, timeout=30) as anonymous:
        # the webhook token in every shape a caller may send it
        answers.append(anonymous.post(f"/workflows/webhooks/{token}", json={"event": "x"}))
        answers.append(anonymous.get(f"/workflows/webhooks/{token}"))  # 405
        answers.append(anonymous.post(f"/workflows/webhooks/{token}/extra", json={}))  # 404
        answers.append(anonymous.post(f"/workflows/webhooks/{token}/", json={}))
        answers.append(anonymous.post(f"/workflows//webhooks/{token}", json={}))
        answers.append(anonymous.post(f"/Workflows/Webhooks/{token}", json={}))  # a 404 of another case
        half = len(token) // 2
        answers.append(anonymous.post(f"/workflows/webhooks/{token[:half]}%2F{token[half:]}", json={}))
        answers.append(anonymous.post(f"/workflows/webhooks/{token}x", json={}))  # unknown token: 404
        # header and body credentials of each dialect, good and bad
        answers.append(anonymous.post("/api/token", json={"keyId": "acme-key",
                                                           "keySecret": SECRETS["TENANCY_CONDUCTOR_ACME"]}))
        answers.append(anonymous.post("/api/token", json={"keyId": "acme-key",
                                                           "keySecret": SECRETS["TENANCY_CONDUCTOR_RIVAL"]}))
        answers.append(acme.conductor.get("/api/metadata/workflow"))
        answers.append(anonymous.get("/api/metadata/workflow",
                                     headers={"X-Authorization": SECRETS["TENANCY_TOKEN_SECRET"]}))
        answers.append(acme.cognite.get("/workflows"))
        answers.append(anonymous.get("/api/v1/projects/rival/workflows",
                                     headers={"Authorization": f"Bearer {SECRETS['TENANCY_COGNITE_ACME']}"}))
        answers.append(anonymous.get("/api/v1/token/inspect",
                                     headers={"Authorization": f"Bearer {SECRETS['TENANCY_COGNITE_RIVAL']}"}))
        answers.append(acme.cognite.post("/sessions", json={"items": [
            {"clientId": "cid", "clientSecret": SECRETS["TENANCY_COGNITE_RIVAL"]}]}))
        answers.append(acme.altostrat.get("/workflows"))
        answers.append(anonymous.get("/workflows", headers={"Authorization": f"Bearer {SECRETS['TENANCY_ALTO_RIVAL']}x"}))
        metrics = anonymous.get("/metrics")
    assert answers[0].status_code == 202 and answers[1].status_code == 405
    assert all(a.status_code < 500 for a in answers)
    assert metrics.status_code == 200
    assert tenants.gateway.app.context.redactor.path(f"/workflows/webhooks/{token}") == f"/workflows/webhooks/{MARK}"
    access = [json.loads(r.getMessage()) for r in caplog.records if r.name == "wfgateway.access"]
    assert len(access) >= len(answers) and any(a["path"] == f"/workflows/webhooks/{MARK}" for a in access)
    gateway_lines = [r.getMessage() for r in caplog.records if not r.name.startswith(("httpx", "httpcore"))]
    written = gateway_lines + [metrics.text] + \
              [a.text for a in answers if a.status_code >= 400]
    for secret in secrets:
        for part in {secret, secret[: len(secret) // 2], secret[len(secret) // 2:]}:
            leaks = [w for w in written if part in w]
            assert not leaks, f"{part!r} written in {leaks[:2]}"


def test_the_redactor_masks_the_declared_segment_and_what_follows():
    r = Redactor()
    r.declare("/hooks/{org}/{token}", path_params=["token"], query_params=["apikey"])
    assert r.path("/hooks/o1/s3cr3t") == f"/hooks/o1/{MARK}"
    assert r.path("/hooks/o1/s3/cr3t/") == f"/hooks/o1/{MARK}"
    assert r.path("/hooks/o1") == "/hooks/o1" and r.path("/other/o1/s3cr3t") == "/other/o1/s3cr3t"
    assert r.path("/HOOKS/o1/s3cr3t") == f"/HOOKS/o1/{MARK}"
    assert r.query("a=1&apikey=s3cr3t") == f"a=1&apikey={MARK}" and r.query("a=1") == "a=1"
    assert r.text("No endpoint POST /hooks/o1/s3cr3t/x", "/hooks/o1/s3cr3t/x") == f"No endpoint POST /hooks/o1/{MARK}"
