"""The URLs an Altostrat answer carries -- a run listing's `links` and `meta.path`, a workflow's
`webhook_url`, an authorization's `url` -- are on the address the caller reached, as Laravel builds
them from the request, so a client can follow them.  httpx against the real gateway (on a port of
its own, never the configured 8080)."""

from __future__ import annotations

from tests.altostrat.conftest import checked, new_authorization
from tests.altostrat.graphs import node


def test_a_run_listings_links_lead_to_its_pages(org1, gateway):
    wf = checked(org1.post("/workflows", json={"name": "Linked", "authorization_id": new_authorization(org1),
                                               "nodes": [node("n1", "manual_trigger")], "edges": []}),
                 "createWorkflow", 201)
    ids = [checked(org1.post(f"/workflows/{wf['id']}/execute"), "executeWorkflow", 202)["id"] for _ in range(16)]
    first = checked(org1.get(f"/workflows/{wf['id']}/executions"), "listWorkflowRuns", 200)
    assert first["meta"]["path"] == f"{gateway.url}/workflows/{wf['id']}/executions"
    assert all(first["links"][k].startswith(gateway.url) for k in ("first", "last", "next"))
    second = checked(org1.get(first["links"]["next"]), "listWorkflowRuns", 200)
    assert [r["id"] for r in second["data"]] == ids[:1]
    back = checked(org1.get(second["links"]["prev"]), "listWorkflowRuns", 200)
    assert back["data"] == first["data"]


def test_a_webhook_url_triggers_its_workflow(org1, anonymous, gateway):
    wf = checked(org1.post("/workflows", json={"name": "Hooked", "authorization_id": new_authorization(org1),
                                               "nodes": [node("n1", "webhook_trigger")], "edges": []}),
                 "createWorkflow", 201)
    assert wf["webhook_url"].startswith(f"{gateway.url}/workflows/webhooks/whsec_")
    accepted = checked(anonymous.post(wf["webhook_url"], json={"event": "ping"}), "triggerWorkflowWebhook", 202)
    run = checked(org1.get(f"/workflows/runs/{accepted['run_id']}"), "getWorkflowRun", 200)
    assert run["trigger_payload"]["webhook_payload"] == {"event": "ping"}


def test_an_authorization_url_is_on_the_gateway(org1, gateway):
    made = checked(org1.post("/workflows/authorization"), "createWorkflowAuthorizationUrl", 200)
    assert made["url"].startswith(f"{gateway.url}/workflows/authorization?")


def test_the_host_a_client_names_is_the_host_of_its_links(org1):
    """Behind a proxy that keeps the Host header, links name the proxy's address, as Laravel's do."""
    wf = checked(org1.post("/workflows", json={"name": "Proxied", "authorization_id": new_authorization(org1),
                                               "nodes": [node("n1", "webhook_trigger")], "edges": []}),
                 "createWorkflow", 201)
    host = {"Host": "workflows.example.test:8443"}
    got = checked(org1.get(f"/workflows/{wf['id']}", headers=host), "getWorkflow", 200)
    assert got["webhook_url"].startswith("http://workflows.example.test:8443/workflows/webhooks/whsec_")
    listing = checked(org1.get(f"/workflows/{wf['id']}/executions", headers=host), "listWorkflowRuns", 200)
    assert listing["meta"]["path"] == f"http://workflows.example.test:8443/workflows/{wf['id']}/executions"
