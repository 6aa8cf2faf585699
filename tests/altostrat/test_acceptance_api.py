"""Issue 6 acceptance: workflows CRUD and validation, auth and organisations, the webhook trigger,
the vault (a secret never leaks), logs, the synchronous run and test-node.  httpx, real servers."""

from __future__ import annotations

import logging
import uuid

from tests.altostrat.conftest import TOKENS, checked, new_authorization, wait_run
from tests.altostrat.graphs import branching, edge, node
from wfgateway.client_auth import issue_token

SECRET = "sk_live_" + uuid.uuid4().hex


def scoped(url: str) -> tuple[str, str]:
    prefix = "/" + uuid.uuid4().hex[:8]
    return url + prefix, prefix


def test_workflow_crud_and_validation(org1, target):
    _, url = target
    base, _ = scoped(url)
    auth_id = new_authorization(org1)
    body = branching(base, auth_id=auth_id)
    wf = checked(org1.post("/workflows", json=body), "createWorkflow", 201)
    assert wf["name"] == "Branching" and wf["is_active"] is True and wf["schedule_type"] == "manual"
    assert wf["webhook_url"] is None and wf["authorization"]["id"] == auth_id
    assert wf["created_at"].endswith("Z")
    got = checked(org1.get(f"/workflows/{wf['id']}"), "getWorkflow", 200)
    assert got["nodes"] == body["nodes"] and got["edges"] == body["edges"]
    listed = checked(org1.get("/workflows"), "listWorkflows", 200)
    assert wf["id"] in [w["id"] for w in listed] and all("nodes" not in w for w in listed)
    upd = checked(org1.put(f"/workflows/{wf['id']}", json={"name": "Renamed", "is_active": False}), "updateWorkflow", 200)
    assert (upd["name"], upd["is_active"], upd["nodes"]) == ("Renamed", False, body["nodes"])
    assert wf["id"] not in [w["id"] for w in checked(org1.get("/workflows/triggerable-workflows"),
                                                       "listTriggerableWorkflows", 200)]
    inactive = checked(org1.post(f"/workflows/{wf['id']}/execute"), "executeWorkflow", 409)
    assert inactive["code"] == "workflow_inactive"
    assert checked(org1.delete(f"/workflows/{wf['id']}"), "deleteWorkflow", 204) is None
    gone = checked(org1.get(f"/workflows/{wf['id']}"), "getWorkflow", 404)
    assert gone["code"] == "resource_missing" and gone["doc_url"].endswith("/resource_missing")

    missing = checked(org1.post("/workflows", json={k: v for k, v in body.items() if k != "name"}), "createWorkflow", 422)
    assert missing == {"type": "invalid_request_error", "code": "parameter_missing",
                       "message": "The 'name' parameter is required for this request.",
                       "doc_url": "https://docs.altostrat.io/errors/parameter_missing"}
    no_trigger = {**body, "nodes": body["nodes"][1:], "edges": body["edges"][1:]}
    bad = checked(org1.post("/workflows", json=no_trigger), "createWorkflow", 422)
    assert bad["code"] == "invalid_workflow" and "exactly one trigger" in bad["message"]
    unknown_auth = checked(org1.post("/workflows", json={**body, "authorization_id": "auth_nope"}), "createWorkflow", 422)
    assert "authorization_id" in unknown_auth["message"]
    assert checked(org1.post("/workflows/validate", json=body), "validateWorkflow", 200) == {"valid": True, "errors": []}
    result = checked(org1.post("/workflows/validate", json=no_trigger), "validateWorkflow", 200)
    assert result["valid"] is False and any("exactly one trigger" in e for e in result["errors"])
    malformed = org1.post("/workflows", content=b"{not json", headers={"Content-Type": "application/json"})
    assert checked(malformed, "createWorkflow", 400)["code"] == "invalid_json"


def test_authentication_and_organisations(org1, org2, anonymous, gateway, target):
    _, url = target
    for response in (anonymous.get("/workflows"),
                     anonymous.get("/workflows", headers={"Authorization": "Bearer wrong"}),
                     anonymous.get("/workflows", headers={"Authorization": "Basic " + TOKENS["ALTO_TEST_TOKEN_1"]})):
        body = checked(response, "listWorkflows", 401)
        assert (body["type"], body["code"]) == ("authentication_error", "unauthenticated")
    wf = checked(org1.post("/workflows", json=branching(url, auth_id=new_authorization(org1))), "createWorkflow", 201)
    assert checked(org2.get(f"/workflows/{wf['id']}"), "getWorkflow", 404)["code"] == "resource_missing"
    assert wf["id"] not in [w["id"] for w in checked(org2.get("/workflows"), "listWorkflows", 200)]
    run = checked(org1.post(f"/workflows/{wf['id']}/execute"), "executeWorkflow", 202)
    checked(org2.get(f"/workflows/runs/{run['id']}"), "getWorkflowRun", 404)
    checked(org2.post(f"/workflows/runs/{run['id']}/rerun"), "rerunWorkflowRun", 404)
    # a user JWT whose org claim is org_1 sees org_1's workflows
    jwt = issue_token("jwt-secret-for-altostrat-tests-0123456789", {"sub": "usr_7", "org": "org_1"}, 300)
    seen = anonymous.get(f"/workflows/{wf['id']}", headers={"Authorization": f"Bearer {jwt}"})
    assert checked(seen, "getWorkflow", 200)["id"] == wf["id"]
    forged = issue_token("not-the-secret-not-the-secret-0000", {"org": "org_1"}, 300)
    checked(anonymous.get("/workflows", headers={"Authorization": f"Bearer {forged}"}), "listWorkflows", 401)
    wait_run(org1, run["id"])


def test_webhook_trigger_runs_with_its_payload_and_needs_only_the_token(org1, anonymous, target):
    t, url = target
    base, prefix = scoped(url)
    body = {"name": "Hooked", "authorization_id": new_authorization(org1),
            "nodes": [node("hook", "webhook_trigger"),
                      node("fwd", "webhook", method="POST", url=f"{base}/forward",
                           body={"event": "{{ hook.webhook_payload.event_type }}",
                                 "email": "{{ hook.webhook_payload.data.email }}"})],
            "edges": [edge("hook", "fwd")]}
    wf = checked(org1.post("/workflows", json=body), "createWorkflow", 201)
    assert "/workflows/webhooks/whsec_" in wf["webhook_url"]
    token = wf["webhook_url"].rsplit("/", 1)[1]
    payload = {"event_type": "user.created", "data": {"id": "user_abc123", "email": "new.user@example.com"}}
    accepted = checked(anonymous.post(f"/workflows/webhooks/{token}", json=payload), "triggerWorkflowWebhook", 202)
    run = wait_run(org1, accepted["run_id"])
    assert run["status"] == "completed"
    assert run["trigger_payload"]["webhook_payload"] == payload
    assert [h.body for h in t.calls(f"{prefix}/forward")] == [{"event": "user.created", "email": "new.user@example.com"}]
    checked(anonymous.post("/workflows/webhooks/whsec_unknown", json=payload), "triggerWorkflowWebhook", 404)
    # the token survives updates and dies with the workflow
    upd = checked(org1.put(f"/workflows/{wf['id']}", json={"name": "Hooked v2"}), "updateWorkflow", 200)
    assert upd["webhook_url"] == wf["webhook_url"]
    checked(org1.delete(f"/workflows/{wf['id']}"), "deleteWorkflow", 204)
    checked(anonymous.post(f"/workflows/webhooks/{token}", json=payload), "triggerWorkflowWebhook", 404)


def test_vault_secret_is_used_but_never_returned_or_logged(org1, org2, target, caplog):
    caplog.set_level(logging.DEBUG)
    t, url = target
    base, prefix = scoped(url)
    item = checked(org1.post("/workflows/vault", json={"name": "api_token", "secret": SECRET}), "createVaultItem", 201)
    assert item["id"].startswith("vlt_") and item["expires_at"] is None
    responses = [item]
    wf = checked(org1.post("/workflows", json=branching(base, auth_id=new_authorization(org1), secret_header=True)),
                 "createWorkflow", 201)
    run_id = checked(org1.post(f"/workflows/{wf['id']}/execute"), "executeWorkflow", 202)["id"]
    run = wait_run(org1, run_id)
    assert run["status"] == "completed", run
    # the node really used the secret ...
    assert t.calls(f"{prefix}/check")[0].headers["authorization"] == f"Bearer {SECRET}"
    # ... and the target echoed it back, yet no response shows it
    texts = [
        org1.get(f"/workflows/runs/{run_id}").text,
        org1.get(f"/workflows/{wf['id']}/executions").text,
        org1.get(f"/workflows/{wf['id']}/logs").text,
        org1.get("/workflows/logs/recent").text,
        org1.get(f"/workflows/{wf['id']}/logs/stats").text,
        org1.get("/workflows/vault").text,
        org1.get(f"/workflows/vault/{item['id']}").text,
        org1.post(f"/workflows/runs/{run_id}/rerun").text,
    ]
    assert all(SECRET not in text for text in texts)
    assert "[REDACTED]" in texts[0] or "Bearer ***" in texts[0]  # the echoed header, scrubbed
    assert SECRET not in str(responses)
    assert not [r for r in caplog.records if SECRET in r.getMessage()]
    # other organisations cannot use or see it
    assert checked(org2.get(f"/workflows/vault/{item['id']}"), "getVaultItem", 404)["code"] == "resource_missing"
    assert checked(org2.get("/workflows/vault"), "listVaultItems", 200) == []
    upd = checked(org1.put(f"/workflows/vault/{item['id']}", json={"secret": SECRET + "x"}), "updateVaultItem", 200)
    assert "secret" not in upd
    past = checked(org1.post("/workflows/vault", json={"name": "old", "secret": "x", "expires_at": "2001-01-01T00:00:00Z"}),
                   "createVaultItem", 422)
    assert "future" in past["message"]
    checked(org1.delete(f"/workflows/vault/{item['id']}"), "deleteVaultItem", 204)
    checked(org1.delete(f"/workflows/vault/{item['id']}"), "deleteVaultItem", 404)


def test_logs_stats_sync_and_test_node(org1, target):
    t, url = target
    base, prefix = scoped(url)
    wf = checked(org1.post("/workflows", json=branching(base, auth_id=new_authorization(org1))), "createWorkflow", 201)
    t.fail(f"{prefix}/check", times=1)
    failed = wait_run(org1, checked(org1.post(f"/workflows/{wf['id']}/execute"), "executeWorkflow", 202)["id"])
    done = wait_run(org1, checked(org1.post(f"/workflows/runs/{failed['id']}/rerun"), "rerunWorkflowRun", 202)
                    ["new_run"]["id"])
    logs = checked(org1.get(f"/workflows/{wf['id']}/logs"), "listWorkflowLogs", 200)
    assert len(logs) == 6 and {x["execution_id"] for x in logs} == {failed["id"], done["id"]}
    errors = checked(org1.get(f"/workflows/{wf['id']}/logs", params={"level": "error"}), "listWorkflowLogs", 200)
    assert [(x["node_id"], x["execution_id"]) for x in errors] == [("n2", failed["id"])]
    only = checked(org1.get(f"/workflows/{wf['id']}/logs", params={"run_id": done["id"], "node_id": "n4"}),
                   "listWorkflowLogs", 200)
    assert [x["node_id"] for x in only] == ["n4"]
    # the older docs' names for the same filters
    same = checked(org1.get(f"/workflows/{wf['id']}/logs", params={"execution_id": failed["id"], "status": "info"}),
                   "listWorkflowLogs", 200)
    assert [(x["node_id"], x["execution_id"]) for x in same] == [("n1", failed["id"])]
    after = checked(org1.get(f"/workflows/{wf['id']}/logs", params={"start_date": done["started_at"]}),
                    "listWorkflowLogs", 200)
    assert {x["execution_id"] for x in after} == {done["id"]}
    stats = checked(org1.get(f"/workflows/{wf['id']}/logs/stats"), "getWorkflowLogStats", 200)
    assert stats == {"log_statuses": {"success": 5, "error": 1, "warning": 0},
                     "recent_runs": {"completed": 1, "failed": 1}, "total_runs": 2, "success_rate": 50.0}
    recent = checked(org1.get("/workflows/logs/recent"), "listRecentWorkflowLogs", 200)
    assert {x["id"] for x in logs} <= {x["id"] for x in recent} or len(recent) == 50

    synced = checked(org1.post(f"/workflows/sync/{wf['id']}", json={"resource_id": "res_abc123"}),
                     "executeSyncWorkflow", 200)
    assert synced["status"] == 200 and synced["body"]["name"] == "healthy"

    tested = checked(org1.post("/workflows/test-node", json={
        "node": node("n2", "webhook", method="POST", url=f"{base}/probe", body={"run": "{{ n1.run_id }}"}),
        "context": {"n1": {"trigger_type": "manual", "run_id": "fl_run_example"}}}), "testWorkflowNode", 200)
    assert tested["status"] == "success" and tested["output"]["status"] == 200
    assert t.calls(f"{prefix}/probe")[0].body == {"run": "fl_run_example"}
    t.fail(f"{prefix}/probe", times=1)
    failing = checked(org1.post("/workflows/test-node", json={
        "node": node("n2", "webhook", method="GET", url=f"{base}/probe")}), "testWorkflowNode", 422)
    assert failing["message"] == "Webhook request failed: 503 Service Unavailable"
