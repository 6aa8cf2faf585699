"""What a user of Altostrat's API meets when probing odd corners: deleted workflows take their runs
with them, errors never repeat a secret or a huge value, a terminate node's message is the run's
error, schedules and pages read as the vendor reads them.  httpx against the real gateway."""

from __future__ import annotations

import time
import uuid

from tests.altostrat.conftest import checked, new_authorization, wait_run
from tests.altostrat.graphs import edge, node


def create(client, body):
    return checked(client.post("/workflows", json=body), "createWorkflow", 201)


def test_deleting_a_workflow_deletes_its_runs_and_stops_the_running_one(org1, target):
    t, url = target
    path = f"/{uuid.uuid4().hex[:8]}/after-delay"
    wf = create(org1, {"name": "Waits", "authorization_id": new_authorization(org1),
                       "nodes": [node("n1", "manual_trigger"), node("n2", "delay", duration=2, unit="seconds"),
                                 node("n3", "webhook", method="POST", url=f"{url}{path}")],
                       "edges": [edge("n1", "n2"), edge("n2", "n3")]})
    # the first run waits out its delay and calls the target; the second is deleted mid-delay
    done = checked(org1.post(f"/workflows/{wf['id']}/execute"), "executeWorkflow", 202)["id"]
    assert wait_run(org1, done)["status"] == "completed"
    assert len(t.calls(path)) == 1
    running = checked(org1.post(f"/workflows/{wf['id']}/execute"), "executeWorkflow", 202)["id"]
    assert checked(org1.get(f"/workflows/runs/{running}"), "getWorkflowRun", 200)["status"] == "running"

    checked(org1.delete(f"/workflows/{wf['id']}"), "deleteWorkflow", 204)
    for run_id in (done, running):
        gone = checked(org1.get(f"/workflows/runs/{run_id}"), "getWorkflowRun", 404)
        assert gone["code"] == "resource_missing"
        assert checked(org1.post(f"/workflows/runs/{run_id}/rerun"), "rerunWorkflowRun", 404)["code"] == "resource_missing"
    time.sleep(3)  # past the deleted run's delay: it never calls the target
    assert len(t.calls(path)) == 1
    recent = checked(org1.get("/workflows/logs/recent"), "listRecentWorkflowLogs", 200)
    assert not [e for e in recent if e["execution_id"] in (done, running)]


def test_validation_errors_never_repeat_a_secret_or_a_huge_value(org1):
    secret = "sk_live_" + "Q" * 2000
    refused = checked(org1.post("/workflows/vault", json={"name": "too-long", "secret": secret}),
                      "createVaultItem", 422)
    assert refused["code"] == "parameter_invalid"
    assert "Q" * 20 not in refused["message"] and "sk_live_" not in refused["message"]
    assert refused["message"] == "The 'secret' parameter is invalid: the value is longer than 2000 characters"
    item = checked(org1.post("/workflows/vault", json={"name": f"kept-{uuid.uuid4().hex[:6]}",
                                                       "secret": uuid.uuid4().hex}), "createVaultItem", 201)
    again = checked(org1.put(f"/workflows/vault/{item['id']}", json={"secret": secret}), "updateVaultItem", 422)
    assert "sk_live_" not in again["message"]
    checked(org1.delete(f"/workflows/vault/{item['id']}"), "deleteVaultItem", 204)

    huge = org1.post("/workflows", json={"name": "N" * 100_000, "authorization_id": "auth_x",
                                         "nodes": [node("n1", "manual_trigger")], "edges": []})
    body = checked(huge, "createWorkflow", 422)
    assert len(huge.content) < 1000
    assert body["message"].startswith("The 'name' parameter is invalid: the value is longer than")
    many = checked(org1.post("/workflows", json={"name": "Wide", "authorization_id": "auth_x", "edges": [],
                                                 "nodes": [node(f"n{i}", "manual_trigger") for i in range(501)]}),
                   "createWorkflow", 422)
    assert many["message"] == "The 'nodes' parameter is invalid: the value has more than 500 items"
    long_id = "fl_" + "z" * 20_000
    missing = org1.get(f"/workflows/{long_id}")
    assert checked(missing, "getWorkflow", 404)["code"] == "resource_missing"
    assert len(missing.content) < 1000


def test_a_terminate_node_that_fails_the_run_gives_its_message_after_a_handled_error(org1, target):
    _t, url = target
    base = f"{url}/{uuid.uuid4().hex[:8]}"
    _t.fail(base.removeprefix(url) + "/flaky", times=1)
    wf = create(org1, {"name": "Gives up", "authorization_id": new_authorization(org1),
                       "nodes": [node("n1", "manual_trigger"),
                                 node("n2", "webhook", method="GET", url=f"{base}/flaky", continue_on_error=True),
                                 node("n3", "terminate", status="failed", message="Health check failed, giving up.")],
                       "edges": [edge("n1", "n2"), edge("n2", "n3", "error")]})
    run = wait_run(org1, checked(org1.post(f"/workflows/{wf['id']}/execute"), "executeWorkflow", 202)["id"])
    assert run["status"] == "failed"
    assert run["error_message"] == "Health check failed, giving up."
    assert [(x["node_id"], x["status"]) for x in run["logs"]] == [("n1", "success"), ("n2", "error"), ("n3", "success")]


def test_an_interval_of_zero_is_refused(org1):
    body = {"name": "Every tick", "authorization_id": new_authorization(org1), "schedule_type": "interval",
            "schedule_value": "0 minutes", "nodes": [node("n1", "manual_trigger")], "edges": []}
    refused = checked(org1.post("/workflows", json=body), "createWorkflow", 422)
    assert refused["message"] == "The schedule_value '0 minutes' is not a valid interval (e.g. '5 minutes')."
    assert not [w for w in checked(org1.get("/workflows"), "listWorkflows", 200) if w["name"] == "Every tick"]
    ok = create(org1, {**body, "schedule_value": "5 minutes"})
    refused = checked(org1.put(f"/workflows/{ok['id']}", json={"schedule_value": "0 seconds"}), "updateWorkflow", 422)
    assert refused["code"] == "invalid_workflow"
    assert checked(org1.get(f"/workflows/{ok['id']}"), "getWorkflow", 200)["schedule_value"] == "5 minutes"
    checked(org1.delete(f"/workflows/{ok['id']}"), "deleteWorkflow", 204)


def test_pages_below_one_are_the_first_page(org1):
    wf = create(org1, {"name": "Paged", "authorization_id": new_authorization(org1),
                       "nodes": [node("n1", "manual_trigger")], "edges": []})
    run = checked(org1.post(f"/workflows/{wf['id']}/execute"), "executeWorkflow", 202)["id"]
    for page in (0, -3):
        got = checked(org1.get(f"/workflows/{wf['id']}/executions", params={"page": page}), "listWorkflowRuns", 200)
        assert [r["id"] for r in got["data"]] == [run]
        assert (got["meta"]["current_page"], got["links"]["prev"]) == (1, None)


def test_test_node_refuses_an_authorization_of_another_organisation(org1, org2):
    theirs = new_authorization(org2)
    body = {"node": node("n1", "manual_trigger"), "authorization_id": theirs}
    refused = checked(org1.post("/workflows/test-node", json=body), "testWorkflowNode", 422)
    assert (refused["code"], refused["message"]) == ("parameter_invalid", "The selected authorization_id is invalid.")
    mine = {**body, "authorization_id": new_authorization(org1)}
    assert checked(org1.post("/workflows/test-node", json=mine), "testWorkflowNode", 200)["status"] == "success"


def test_an_api_key_is_generated_even_when_a_secret_is_sent_as_the_older_docs_require(org1):
    given = uuid.uuid4().hex
    name = f"api-key:{uuid.uuid4().hex[:8]}"
    item = checked(org1.post("/workflows/vault", json={"name": name, "secret": given}), "createVaultItem", 201)
    assert item["name"] == name and item["api_key"].startswith("wfk_") and item["api_key"] != given
    assert "api_key" not in checked(org1.get(f"/workflows/vault/{item['id']}"), "getVaultItem", 200)
    checked(org1.delete(f"/workflows/vault/{item['id']}"), "deleteVaultItem", 204)


def test_one_run_embeds_its_workflow_as_the_older_reference_shows(org1):
    wf = create(org1, {"name": "Embedded", "authorization_id": new_authorization(org1),
                       "nodes": [node("n1", "manual_trigger")], "edges": []})
    started = checked(org1.post(f"/workflows/{wf['id']}/execute"), "executeWorkflow", 202)
    summary = {k: wf[k] for k in ("id", "name", "description", "schedule_type", "is_active", "created_at")}
    assert {k: started["workflow"][k] for k in summary} == summary
    assert "nodes" not in started["workflow"]
    got = checked(org1.get(f"/workflows/runs/{started['id']}"), "getWorkflowRun", 200)
    assert (got["workflow"]["id"], got["workflow"]["name"]) == (wf["id"], "Embedded")
    again = checked(org1.post(f"/workflows/runs/{started['id']}/rerun"), "rerunWorkflowRun", 202)
    assert again["new_run"]["workflow"]["id"] == wf["id"]
    # the older reference's run history embeds it in each listed run too (the current one has no
    # such field, so an extra one breaks none of its clients); logs stay out of lists, as the
    # current reference says ("Only returned when retrieving a single run")
    listed = checked(org1.get(f"/workflows/{wf['id']}/executions"), "listWorkflowRuns", 200)["data"]
    assert len(listed) == 2
    assert all({k: r["workflow"][k] for k in summary} == summary for r in listed)
    assert all("nodes" not in r["workflow"] and "logs" not in r for r in listed)


def test_a_one_character_secret_does_not_garble_run_outputs(org1, target):
    _t, url = target
    item = checked(org1.post("/workflows/vault", json={"name": f"pin-{uuid.uuid4().hex[:6]}", "secret": "s"}),
                   "createVaultItem", 201)
    try:
        wf = create(org1, {"name": "Status check", "authorization_id": new_authorization(org1),
                           "nodes": [node("n1", "manual_trigger"),
                                     node("n2", "webhook", method="GET", url=f"{url}/status")],
                           "edges": [edge("n1", "n2")]})
        run = wait_run(org1, checked(org1.post(f"/workflows/{wf['id']}/execute"), "executeWorkflow", 202)["id"])
        output = run["logs"][-1]["output"]
        assert output["status"] == 200 and output["body"]["name"] == "status"
    finally:
        checked(org1.delete(f"/workflows/vault/{item['id']}"), "deleteVaultItem", 204)
