"""Issue 6 acceptance: runs fail on a real webhook target, rerun and resume-from behave as Altostrat
documents, idempotent execution and paginated run lists.  httpx against the real gateway."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor

import httpx

from tests.altostrat.conftest import checked, new_authorization, wait_run
from tests.altostrat.graphs import branching, edge, node


def create(client, body):
    return checked(client.post("/workflows", json=body), "createWorkflow", 201)


def scoped(url: str) -> str:
    """A unique path prefix on the target for one test."""
    return f"{url}/{uuid.uuid4().hex[:8]}"


def test_failed_run_rerun_and_resume_from(org1, target):
    t, url = target
    base = scoped(url)
    prefix = base.removeprefix(url)
    auth_id = new_authorization(org1)
    wf = create(org1, branching(base, auth_id=auth_id))
    assert wf["id"].startswith("fl_") and [n["id"] for n in wf["nodes"]] == ["n1", "n2", "n3", "n4", "n5"]
    t.fail(f"{prefix}/check", times=1)

    started = checked(org1.post(f"/workflows/{wf['id']}/execute", json={"context": {"user_id": "usr_123"}}),
                      "executeWorkflow", 202)
    assert started["id"].startswith("fl_run_")
    assert started["status"] in ("pending", "running", "failed")
    failed = wait_run(org1, started["id"])
    assert failed["status"] == "failed"
    assert failed["error_message"] == "Webhook request failed: 503 Service Unavailable"
    assert [(x["node_id"], x["status"]) for x in failed["logs"]] == [("n1", "success"), ("n2", "error")]
    assert failed["completed_at"] is not None and failed["duration_in_seconds"] >= 0
    assert failed["started_at"].endswith("Z") and len(failed["started_at"]) == len("2025-10-31T12:00:00.000000Z")
    assert len(t.calls(f"{prefix}/check")) == 1 and t.calls(f"{prefix}/healthy") == []

    rerun = checked(org1.post(f"/workflows/runs/{failed['id']}/rerun"), "rerunWorkflowRun", 202)
    assert rerun["message"] == "Workflow re-run initiated successfully."
    assert rerun["original_run_id"] == failed["id"]
    new = rerun["new_run"]
    assert new["id"].startswith("fl_run_") and new["id"] != failed["id"]
    done = wait_run(org1, new["id"])
    assert done["status"] == "completed", done
    assert done["error_message"] is None
    assert done["trigger_payload"] == failed["trigger_payload"] == {"user_id": "usr_123"}
    assert [(x["node_id"], x["status"]) for x in done["logs"]] == [
        ("n1", "success"), ("n2", "success"), ("n3", "success"), ("n4", "success")]
    checks = t.calls(f"{prefix}/check")
    assert len(checks) == 2
    assert checks[1].body == {"user": "usr_123", "run": new["id"]}  # the templates of the new run
    assert checks[1].headers["x-run"] == new["id"]
    assert [h.body for h in t.calls(f"{prefix}/healthy")] == [{"from": "check"}]
    assert t.calls(f"{prefix}/unhealthy") == []
    # the original run is left as it was
    assert wait_run(org1, failed["id"])["status"] == "failed"

    # only a failed run can be resumed
    refused = checked(org1.post(f"/workflows/runs/{done['id']}/resume-from/n2"), "resumeWorkflowRun", 409)
    assert refused["code"] == "run_not_failed"


def test_resume_from_needs_a_completed_node(org1, target):
    t, url = target
    base = scoped(url)
    prefix = base.removeprefix(url)
    wf = create(org1, branching(base, auth_id=new_authorization(org1)))
    t.fail(f"{prefix}/check", times=1)
    run = checked(org1.post(f"/workflows/{wf['id']}/execute"), "executeWorkflow", 202)
    failed = wait_run(org1, run["id"])
    r = org1.post(f"/workflows/runs/{failed['id']}/resume-from/n2")
    assert checked(r, "resumeWorkflowRun", 422)["code"] == "node_not_completed"
    r = org1.post(f"/workflows/runs/{failed['id']}/resume-from/nope")
    assert checked(r, "resumeWorkflowRun", 404)["type"] == "invalid_request_error"
    # resuming from the trigger reruns everything after it, with the original payload
    again = wait_run(org1, checked(org1.post(f"/workflows/runs/{failed['id']}/resume-from/n1"),
                                   "resumeWorkflowRun", 202)["new_run"]["id"])
    assert again["status"] == "completed"
    assert len(t.calls(f"{prefix}/check")) == 2


def test_idempotency_key_returns_the_original_run(org1, target):
    _, url = target
    wf = create(org1, branching(scoped(url), auth_id=new_authorization(org1)))
    key = str(uuid.uuid4())
    first = checked(org1.post(f"/workflows/{wf['id']}/execute", json={"context": {"a": 1}},
                              headers={"Idempotency-Key": key}), "executeWorkflow", 202)
    second = checked(org1.post(f"/workflows/{wf['id']}/execute", json={"context": {"a": 2}},
                               headers={"Idempotency-Key": key}), "executeWorkflow", 202)
    assert second["id"] == first["id"]
    page = checked(org1.get(f"/workflows/{wf['id']}/executions"), "listWorkflowRuns", 200)
    assert page["meta"]["total"] == 1
    other = checked(org1.post(f"/workflows/{wf['id']}/execute", headers={"Idempotency-Key": str(uuid.uuid4())}),
                    "executeWorkflow", 202)
    assert other["id"] != first["id"]
    assert checked(org1.get(f"/workflows/{wf['id']}/executions"), "listWorkflowRuns", 200)["meta"]["total"] == 2
    # concurrent requests with one key still start one run
    key = str(uuid.uuid4())

    def fire(_):
        with httpx.Client(base_url=str(org1.base_url), headers=dict(org1.headers), timeout=30) as c:
            return checked(c.post(f"/workflows/{wf['id']}/execute", headers={"Idempotency-Key": key}),
                           "executeWorkflow", 202)["id"]

    with ThreadPoolExecutor(6) as pool:
        assert len(set(pool.map(fire, range(6)))) == 1
    assert checked(org1.get(f"/workflows/{wf['id']}/executions"), "listWorkflowRuns", 200)["meta"]["total"] == 3
    # a key that is not a UUID works the same way
    named = [checked(org1.post(f"/workflows/{wf['id']}/execute", headers={"Idempotency-Key": "nightly-2025-10-31"}),
                     "executeWorkflow", 202)["id"] for _ in range(2)]
    assert named[0] == named[1]
    assert checked(org1.get(f"/workflows/{wf['id']}/executions"), "listWorkflowRuns", 200)["meta"]["total"] == 4


def test_executions_are_paginated_like_laravel(org1):
    wf = create(org1, {"name": "Only a trigger", "authorization_id": new_authorization(org1),
                       "nodes": [node("t", "manual_trigger")], "edges": []})
    ids = [checked(org1.post(f"/workflows/{wf['id']}/execute", json={"context": {"i": i}}),
                   "executeWorkflow", 202)["id"] for i in range(17)]
    p1 = checked(org1.get(f"/workflows/{wf['id']}/executions"), "listWorkflowRuns", 200)
    assert [r["id"] for r in p1["data"]] == list(reversed(ids))[:15]
    assert p1["meta"] | {"path": None} == {"current_page": 1, "from": 1, "last_page": 2, "path": None,
                                           "per_page": 15, "to": 15, "total": 17}
    assert p1["meta"]["path"].endswith(f"/workflows/{wf['id']}/executions")
    assert p1["links"]["prev"] is None and p1["links"]["next"].endswith("?page=2")
    assert p1["links"]["first"].endswith("?page=1") and p1["links"]["last"].endswith("?page=2")
    p2 = checked(org1.get(f"/workflows/{wf['id']}/executions", params={"page": 2}), "listWorkflowRuns", 200)
    assert [r["id"] for r in p2["data"]] == list(reversed(ids))[15:]
    assert (p2["meta"]["from"], p2["meta"]["to"], p2["links"]["next"]) == (16, 17, None)
    assert p2["links"]["prev"].endswith("?page=1")
    p3 = checked(org1.get(f"/workflows/{wf['id']}/executions", params={"page": 3}), "listWorkflowRuns", 200)
    assert p3["data"] == [] and p3["meta"]["from"] is None and p3["meta"]["to"] is None
    # a page that is no number is the first, as Laravel's paginator reads it (test_laravel_paging.py)
    word = checked(org1.get(f"/workflows/{wf['id']}/executions", params={"page": "two"}), "listWorkflowRuns", 200)
    assert word["meta"]["current_page"] == 1 and word["data"] == p1["data"]


def test_continue_on_error_takes_the_error_path_and_the_run_completes(org1, target):
    t, url = target
    base = scoped(url)
    prefix = base.removeprefix(url)
    body = {"name": "Error path", "authorization_id": new_authorization(org1),
            "nodes": [node("t", "manual_trigger"),
                      node("w", "webhook", method="GET", url=f"{base}/flaky", continue_on_error=True),
                      node("ok", "webhook", method="POST", url=f"{base}/ok"),
                      node("alert", "webhook", method="POST", url=f"{base}/alert", body={"failed": "{{ w.status }}"})],
            "edges": [edge("t", "w"), edge("w", "ok"), edge("w", "alert", "error")]}
    wf = create(org1, body)
    t.fail(f"{prefix}/flaky", times=1)
    run = wait_run(org1, checked(org1.post(f"/workflows/{wf['id']}/execute"), "executeWorkflow", 202)["id"])
    assert run["status"] == "completed"
    assert run["error_message"] == "Webhook request failed: 503 Service Unavailable"
    assert [(x["node_id"], x["status"]) for x in run["logs"]] == [("t", "success"), ("w", "error"), ("alert", "success")]
    assert len(t.calls(f"{prefix}/alert")) == 1 and t.calls(f"{prefix}/ok") == []


def test_interval_schedule_starts_runs_until_deactivated(org1):
    import time

    wf = create(org1, {"name": "Every second", "authorization_id": new_authorization(org1),
                       "schedule_type": "interval", "schedule_value": "1 second",
                       "nodes": [node("s", "schedule")], "edges": []})
    assert wf["next_run_at"] is not None
    deadline = time.monotonic() + 8
    total = 0
    while time.monotonic() < deadline and total < 2:
        time.sleep(0.2)
        total = checked(org1.get(f"/workflows/{wf['id']}/executions"), "listWorkflowRuns", 200)["meta"]["total"]
    assert total >= 2
    run = checked(org1.get(f"/workflows/{wf['id']}/executions"), "listWorkflowRuns", 200)["data"][0]
    assert run["trigger_payload"] == {}
    assert wait_run(org1, run["id"])["logs"][0]["output"]["trigger_type"] == "schedule"
    off = checked(org1.put(f"/workflows/{wf['id']}", json={"is_active": False}), "updateWorkflow", 200)
    assert off["next_run_at"] is None
    settled = checked(org1.get(f"/workflows/{wf['id']}/executions"), "listWorkflowRuns", 200)["meta"]["total"]
    time.sleep(1.5)
    assert checked(org1.get(f"/workflows/{wf['id']}/executions"), "listWorkflowRuns", 200)["meta"]["total"] == settled


def test_false_branch_and_delay(org1, target):
    import time

    t, url = target
    base = scoped(url)
    prefix = base.removeprefix(url)
    body = branching(base, auth_id=new_authorization(org1))
    body["nodes"].append(node("wait", "delay", duration=1, unit="seconds"))
    body["nodes"].append(node("after", "webhook", method="GET", url=f"{base}/after"))
    body["edges"] += [edge("n5", "wait"), edge("wait", "after")]
    wf = create(org1, body)
    t.healthy = False
    try:
        began = time.monotonic()
        run = checked(org1.post(f"/workflows/{wf['id']}/execute"), "executeWorkflow", 202)
        assert checked(org1.get(f"/workflows/runs/{run['id']}"), "getWorkflowRun", 200)["status"] == "running"
        done = wait_run(org1, run["id"])
        elapsed = time.monotonic() - began
    finally:
        t.healthy = True
    assert done["status"] == "completed"
    assert [x["node_id"] for x in done["logs"]] == ["n1", "n2", "n3", "n5", "wait", "after"]
    assert done["logs"][2]["output"]["result"] is False
    assert t.calls(f"{prefix}/healthy") == [] and len(t.calls(f"{prefix}/unhealthy")) == 1
    assert elapsed >= 1.0 and done["duration_in_seconds"] >= 1.0


def test_a_payload_naming_the_triggers_own_fields_is_kept_as_sent(org1, target):
    """The trigger's output carries its own run_id and trigger_type (``{{ n1.run_id }}``); the run's
    trigger_payload is still what the caller sent, also after a re-run."""
    _, url = target
    wf = create(org1, branching(scoped(url), auth_id=new_authorization(org1)))
    sent = {"run_id": "mine", "trigger_type": "nightly", "user_id": "usr_1"}
    started = checked(org1.post(f"/workflows/{wf['id']}/execute", json={"context": sent}), "executeWorkflow", 202)
    run = wait_run(org1, started["id"])
    assert run["trigger_payload"] == sent
    trigger_log = next(x for x in run["logs"] if x["node_id"] == "n1")
    assert trigger_log["output"]["run_id"] == started["id"] and trigger_log["output"]["trigger_type"] == "manual"
    rerun = checked(org1.post(f"/workflows/runs/{started['id']}/rerun"), "rerunWorkflowRun", 202)
    assert wait_run(org1, rerun["new_run"]["id"])["trigger_payload"] == sent
