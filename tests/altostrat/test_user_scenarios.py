"""What an Altostrat user's scripts do on their first day against the gateway: the documented create
example, the node shapes of both doc versions, validating before saving, and every kind of wrong
request answered in Altostrat's error body.  httpx against the real gateway."""

from __future__ import annotations

import re
import uuid

import pytest

from tests.altostrat.conftest import checked, new_authorization, wait_run
from tests.altostrat.graphs import edge, node

TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$")
ERROR_KEYS = {"type", "code", "message", "doc_url"}


def documented_create_body(auth_id: str) -> dict:
    """The request example of POST /workflows, as the vendor's reference shows it."""
    return {
        "name": "New Customer Onboarding", "description": "Sends a welcome email when a new site is created.",
        "is_active": True, "authorization_id": auth_id, "schedule_type": "manual",
        "nodes": [{"id": "n1", "type": "manual_trigger", "position": {"x": 100, "y": 100},
                   "data": {"componentId": "manual_trigger", "description": "Manually trigger this onboarding flow."}},
                  {"id": "n2", "type": "webhook", "position": {"x": 400, "y": 100},
                   "data": {"componentId": "webhook", "method": "POST", "url": "https://example.com/api/welcome",
                            "body": "{\"message\": \"Welcome!\", \"run_id\": \"{{ n1.run_id }}\"}"}}],
        "edges": [{"id": "e1-2", "source": "n1", "target": "n2"}],
    }


def test_the_documented_create_example_round_trips(org1):
    body = documented_create_body(new_authorization(org1))
    wf = checked(org1.post("/workflows", json=body), "createWorkflow", 201)
    assert re.match(r"^fl_[0-9a-z]{26}$", wf["id"])
    assert (wf["name"], wf["description"], wf["is_active"]) == (body["name"], body["description"], True)
    assert (wf["schedule_type"], wf["schedule_value"], wf["next_run_at"], wf["webhook_url"]) == ("manual", None, None, None)
    assert wf["nodes"] == body["nodes"] and wf["edges"] == body["edges"]
    assert TIMESTAMP.match(wf["created_at"]) and TIMESTAMP.match(wf["updated_at"])
    got = checked(org1.get(f"/workflows/{wf['id']}"), "getWorkflow", 200)
    assert got["nodes"] == body["nodes"] and got["edges"] == body["edges"]
    listed = next(w for w in checked(org1.get("/workflows"), "listWorkflows", 200) if w["id"] == wf["id"])
    assert "nodes" not in listed and "edges" not in listed and listed["name"] == body["name"]
    # the documented execute body; the node's host is not on the gateway's allow list, so the run fails there
    run = checked(org1.post(f"/workflows/{wf['id']}/execute", json={"context": {"user_id": "usr_123", "site_id": "site_456"}}),
                  "executeWorkflow", 202)
    assert run["id"].startswith("fl_run_") and run["status"] in ("pending", "running", "completed", "failed")
    done = wait_run(org1, run["id"])
    assert done["status"] == "failed" and done["error_message"].startswith("Webhook request failed: ")
    assert done["trigger_payload"] == {"user_id": "usr_123", "site_id": "site_456"}
    assert [(x["node_id"], x["component_id"], x["status"]) for x in done["logs"]] == [
        ("n1", "manual_trigger", "success"), ("n2", "webhook", "error")]
    assert done["logs"][0]["output"] == {"user_id": "usr_123", "site_id": "site_456", "trigger_type": "manual",
                                         "run_id": run["id"]}
    assert all(x["execution_id"] == run["id"] and x["id"].startswith("fl_log_") for x in done["logs"])


def test_node_shapes_of_both_doc_versions(org1, target):
    t, url = target
    prefix = "/" + uuid.uuid4().hex[:8]
    auth_id = new_authorization(org1)
    # older docs: type is a category, the component is in data.componentId; or no type at all
    older = {"name": "Older shape", "authorization_id": auth_id,
             "nodes": [{"id": "node_0", "data": {"componentId": "manual_trigger"}},
                       {"id": "node_1", "type": "action", "data": {"componentId": "webhook", "method": "POST",
                                                                  "url": f"{url}{prefix}/hook"}}],
             "edges": [{"id": "edge_0_1", "source": "node_0", "target": "node_1"}]}
    wf = checked(org1.post("/workflows", json=older), "createWorkflow", 201)
    assert wf["nodes"] == older["nodes"]
    run = wait_run(org1, checked(org1.post(f"/workflows/{wf['id']}/execute"), "executeWorkflow", 202)["id"])
    assert run["status"] == "completed" and len(t.calls(f"{prefix}/hook")) == 1
    assert [x["component_id"] for x in run["logs"]] == ["manual_trigger", "webhook"]
    # a node naming no component at all is a graph error, answered as a validation failure
    nameless = {**older, "nodes": [older["nodes"][0], {"id": "node_1", "type": "action", "data": {}}]}
    bad = checked(org1.post("/workflows", json=nameless), "createWorkflow", 422)
    assert bad["code"] == "invalid_workflow" and "node_1" in bad["message"]
    # altostrat_api nodes are accepted; the call goes to Altostrat's API, which this gateway's allow list refuses
    api = {"name": "API call", "authorization_id": auth_id,
           "nodes": [node("n1", "manual_trigger"), node("n2", "altostrat_api", method="GET", endpoint="/sites")],
           "edges": [edge("n1", "n2")]}
    api_wf = checked(org1.post("/workflows", json=api), "createWorkflow", 201)
    failed = wait_run(org1, checked(org1.post(f"/workflows/{api_wf['id']}/execute"), "executeWorkflow", 202)["id"])
    assert failed["status"] == "failed"
    assert failed["error_message"].startswith("Altostrat API request failed: ") and "v1.api.altostrat.io" in failed["error_message"]
    no_endpoint = {**api, "nodes": [node("n1", "manual_trigger"), node("n2", "altostrat_api", method="GET")]}
    assert "endpoint" in checked(org1.post("/workflows", json=no_endpoint), "createWorkflow", 422)["message"]


def test_validate_reports_graph_errors_and_saves_nothing(org1):
    auth_id = new_authorization(org1)
    before = len(checked(org1.get("/workflows"), "listWorkflows", 200))
    broken = {"name": "Broken", "authorization_id": auth_id,
              "nodes": [node("a", "webhook", method="GET", url="http://127.0.0.1:9/x"), node("b", "webhook")],
              "edges": [edge("a", "b"), edge("b", "a")]}
    result = checked(org1.post("/workflows/validate", json=broken), "validateWorkflow", 200)
    assert result["valid"] is False
    joined = " ".join(result["errors"])
    assert "exactly one trigger" in joined and "cycle" in joined and "url" in joined
    two = {**broken, "nodes": [node("t1", "manual_trigger"), node("t2", "webhook_trigger")], "edges": []}
    assert any("exactly one trigger" in e for e in
               checked(org1.post("/workflows/validate", json=two), "validateWorkflow", 200)["errors"])
    dangling = {**broken, "nodes": [node("t", "manual_trigger")], "edges": [edge("t", "ghost")]}
    assert any("ghost" in e for e in
               checked(org1.post("/workflows/validate", json=dangling), "validateWorkflow", 200)["errors"])
    # a body the schema refuses is a 422, as for create
    missing = checked(org1.post("/workflows/validate", json={"nodes": [], "edges": []}), "validateWorkflow", 422)
    assert missing["code"] == "parameter_missing"
    assert len(checked(org1.get("/workflows"), "listWorkflows", 200)) == before


@pytest.mark.parametrize(("method", "path", "operation"), [
    ("GET", "/workflows/fl_01h3j4k5l6m7n8p9q0r1s2t3u4", "getWorkflow"),
    ("PUT", "/workflows/fl_01h3j4k5l6m7n8p9q0r1s2t3u4", "updateWorkflow"),
    ("DELETE", "/workflows/fl_01h3j4k5l6m7n8p9q0r1s2t3u4", "deleteWorkflow"),
    ("POST", "/workflows/fl_01h3j4k5l6m7n8p9q0r1s2t3u4/execute", "executeWorkflow"),
    ("POST", "/workflows/sync/fl_01h3j4k5l6m7n8p9q0r1s2t3u4", "executeSyncWorkflow"),
    ("GET", "/workflows/fl_01h3j4k5l6m7n8p9q0r1s2t3u4/executions", "listWorkflowRuns"),
    ("GET", "/workflows/fl_01h3j4k5l6m7n8p9q0r1s2t3u4/logs", "listWorkflowLogs"),
    ("GET", "/workflows/fl_01h3j4k5l6m7n8p9q0r1s2t3u4/logs/stats", "getWorkflowLogStats"),
    ("GET", "/workflows/runs/fl_run_01h3j4k5l6m7n8p9q0r1s2t3u4", "getWorkflowRun"),
    ("POST", "/workflows/runs/fl_run_01h3j4k5l6m7n8p9q0r1s2t3u4/rerun", "rerunWorkflowRun"),
    ("POST", "/workflows/runs/fl_run_01h3j4k5l6m7n8p9q0r1s2t3u4/resume-from/n2", "resumeWorkflowRun"),
    ("GET", "/workflows/vault/vlt_01h3j4k5l6m7n8p9q0r1s2t3u4", "getVaultItem"),
    ("PUT", "/workflows/vault/vlt_01h3j4k5l6m7n8p9q0r1s2t3u4", "updateVaultItem"),
    ("DELETE", "/workflows/vault/vlt_01h3j4k5l6m7n8p9q0r1s2t3u4", "deleteVaultItem"),
    ("DELETE", "/workflows/authorization/auth_2m3h5n7k9j8g7f6e5d4c3b2a1", "deleteWorkflowAuthorization"),
    ("POST", "/workflows/webhooks/whsec_abc123", "triggerWorkflowWebhook"),
])
def test_unknown_ids_answer_404_in_the_vendor_shape(org1, method, path, operation):
    body = {"name": "Renamed"} if method == "PUT" else ({} if method == "POST" else None)
    answer = checked(org1.request(method, path, json=body), operation, 404)
    assert set(answer) == ERROR_KEYS
    assert (answer["type"], answer["code"]) == ("invalid_request_error", "resource_missing")
    assert answer["doc_url"] == "https://docs.altostrat.io/errors/resource_missing"


def test_wrong_requests_answer_in_the_vendor_shape(org1):
    wf = checked(org1.post("/workflows", json={"name": "Target", "authorization_id": new_authorization(org1),
                                               "nodes": [node("t", "manual_trigger")], "edges": []}),
                 "createWorkflow", 201)
    patch = org1.patch(f"/workflows/{wf['id']}", json={"name": "x"})  # PATCH is not documented
    assert patch.status_code == 405 and set(patch.json()) == ERROR_KEYS
    assert patch.json()["code"] == "method_not_allowed"
    assert {m.strip() for m in patch.headers["allow"].split(",")} == {"GET", "HEAD", "PUT", "DELETE"}
    assert org1.get(f"/workflows/{wf['id']}/execute").status_code == 405
    route = org1.get(f"/workflows/{wf['id']}/nothing/here")
    assert route.status_code == 404 and set(route.json()) == ERROR_KEYS
    for method, path, operation in (("PUT", f"/workflows/{wf['id']}", "updateWorkflow"),
                                    ("POST", f"/workflows/{wf['id']}/execute", "executeWorkflow"),
                                    ("POST", "/workflows/vault", "createVaultItem")):
        bad = org1.request(method, path, content=b'{"name": ', headers={"Content-Type": "application/json"})
        assert checked(bad, operation, 400)["code"] == "invalid_json"
        text = org1.request(method, path, content=b"name=x", headers={"Content-Type": "text/plain"})
        assert checked(text, operation, 415)["code"] == "unsupported_media_type"
    wrong_type = checked(org1.put(f"/workflows/{wf['id']}", json={"is_active": "yes"}), "updateWorkflow", 422)
    assert (wrong_type["code"], wrong_type["message"].split(":")[0]) == (
        "parameter_invalid", "The 'is_active' parameter is invalid")
    nested = checked(org1.put(f"/workflows/{wf['id']}", json={"nodes": [{"type": "manual_trigger"}]}),
                     "updateWorkflow", 422)
    assert nested["message"] == "The 'nodes.0.id' parameter is required for this request."
    context = checked(org1.post(f"/workflows/{wf['id']}/execute", json={"context": "usr_1"}), "executeWorkflow", 422)
    assert context["code"] == "parameter_invalid" and "'context'" in context["message"]
    # none of the refused requests changed the workflow or started a run
    assert checked(org1.get(f"/workflows/{wf['id']}"), "getWorkflow", 200)["name"] == "Target"
    assert checked(org1.get(f"/workflows/{wf['id']}/executions"), "listWorkflowRuns", 200)["meta"]["total"] == 0


def test_webhook_token_follows_the_trigger_and_the_active_flag(org1, anonymous):
    auth_id = new_authorization(org1)
    wf = checked(org1.post("/workflows", json={"name": "Hook", "authorization_id": auth_id,
                                               "nodes": [node("h", "webhook_trigger")], "edges": []}),
                 "createWorkflow", 201)
    token = wf["webhook_url"].rsplit("/", 1)[1]
    assert token.startswith("whsec_")
    checked(org1.put(f"/workflows/{wf['id']}", json={"is_active": False}), "updateWorkflow", 200)
    off = checked(anonymous.post(f"/workflows/webhooks/{token}", json={"a": 1}), "triggerWorkflowWebhook", 409)
    assert off["code"] == "workflow_inactive"
    on = checked(org1.put(f"/workflows/{wf['id']}", json={"is_active": True}), "updateWorkflow", 200)
    assert on["webhook_url"] == wf["webhook_url"]
    accepted = checked(anonymous.post(f"/workflows/webhooks/{token}", json={"a": 1}), "triggerWorkflowWebhook", 202)
    assert wait_run(org1, accepted["run_id"])["trigger_payload"]["webhook_payload"] == {"a": 1}
    # replacing the webhook trigger by a manual one retires the URL
    manual = checked(org1.put(f"/workflows/{wf['id']}", json={"nodes": [node("m", "manual_trigger")]}),
                     "updateWorkflow", 200)
    assert manual["webhook_url"] is None
    checked(anonymous.post(f"/workflows/webhooks/{token}", json={"a": 1}), "triggerWorkflowWebhook", 404)
    assert checked(org1.get(f"/workflows/{wf['id']}/executions"), "listWorkflowRuns", 200)["meta"]["total"] == 1


def test_authorizations_lifecycle(org1, org2):
    created = checked(org1.post("/workflows/authorization"), "createWorkflowAuthorizationUrl", 200)
    assert created["id"].startswith("auth_") and created["url"].startswith("http")
    listed = checked(org1.get("/workflows/authorization"), "listWorkflowAuthorizations", 200)
    mine = next(a for a in listed if a["id"] == created["id"])
    assert mine["status"] == "active" and TIMESTAMP.match(mine["created_at"])
    assert created["id"] not in [a["id"] for a in checked(org2.get("/workflows/authorization"),
                                                          "listWorkflowAuthorizations", 200)]
    wf = checked(org1.post("/workflows", json={"name": "Uses it", "authorization_id": created["id"],
                                               "nodes": [node("t", "manual_trigger")], "edges": []}),
                 "createWorkflow", 201)
    in_use = checked(org1.delete(f"/workflows/authorization/{created['id']}"), "deleteWorkflowAuthorization", 409)
    assert in_use["code"] == "authorization_in_use" and wf["id"] in in_use["message"]
    checked(org2.delete(f"/workflows/authorization/{created['id']}"), "deleteWorkflowAuthorization", 404)
    checked(org1.delete(f"/workflows/{wf['id']}"), "deleteWorkflow", 204)
    checked(org1.delete(f"/workflows/authorization/{created['id']}"), "deleteWorkflowAuthorization", 204)
    checked(org1.delete(f"/workflows/authorization/{created['id']}"), "deleteWorkflowAuthorization", 404)
    gone = checked(org1.post("/workflows", json={"name": "Too late", "authorization_id": created["id"],
                                                 "nodes": [node("t", "manual_trigger")], "edges": []}),
                   "createWorkflow", 422)
    assert "authorization_id" in gone["message"]
