"""Re-run and resume-from as an Altostrat user relies on them: which nodes run again, what the new run
inherits, that a fix made to the workflow applies, and which runs may be resumed.  httpx against
the real gateway, webhook nodes calling a real target."""

from __future__ import annotations

import uuid

from tests.altostrat.conftest import checked, new_authorization, wait_run
from tests.altostrat.graphs import edge, node


def scoped(url: str) -> tuple[str, str]:
    prefix = "/" + uuid.uuid4().hex[:8]
    return url + prefix, prefix


def chain(base: str, auth_id: str) -> dict:
    """n1 (manual) -> n2 GET /a -> n3 POST /b (uses n2's output and the context) -> n4 POST /c."""
    return {
        "name": "Chain", "authorization_id": auth_id,
        "nodes": [node("n1", "manual_trigger"),
                  node("n2", "webhook", method="GET", url=f"{base}/a"),
                  node("n3", "webhook", method="POST", url=f"{base}/b",
                       body={"from": "{{ n2.body.name }}", "user": "{{ n1.user_id }}"}),
                  node("n4", "webhook", method="POST", url=f"{base}/c")],
        "edges": [edge("n1", "n2"), edge("n2", "n3"), edge("n3", "n4")],
    }


def execute(client, wf_id: str, context: dict | None = None) -> dict:
    body = {"context": context} if context is not None else None
    run = checked(client.post(f"/workflows/{wf_id}/execute", json=body), "executeWorkflow", 202)
    return wait_run(client, run["id"])


def steps(run: dict) -> list[tuple[str, str]]:
    return [(x["node_id"], x["status"]) for x in run["logs"]]


def test_resume_runs_only_what_follows_the_node_with_the_inherited_outputs(org1, target):
    t, url = target
    base, prefix = scoped(url)
    wf = checked(org1.post("/workflows", json=chain(base, new_authorization(org1))), "createWorkflow", 201)
    t.fail(f"{prefix}/b", times=1)
    failed = execute(org1, wf["id"], {"user_id": "usr_123"})
    assert failed["status"] == "failed" and steps(failed) == [("n1", "success"), ("n2", "success"), ("n3", "error")]
    assert failed["trigger_payload"] == {"user_id": "usr_123"}  # the context, nothing added

    answer = checked(org1.post(f"/workflows/runs/{failed['id']}/resume-from/n2"), "resumeWorkflowRun", 202)
    assert answer["message"] == "Workflow resumed successfully from node 'n2'."
    assert answer["original_run_id"] == failed["id"]
    new_id = answer["new_run"]["id"]
    assert new_id.startswith("fl_run_") and new_id != failed["id"]
    resumed = wait_run(org1, new_id)
    assert resumed["status"] == "completed" and resumed["error_message"] is None
    assert resumed["original_run_id"] == failed["id"]
    assert resumed["trigger_payload"] == failed["trigger_payload"]
    assert steps(resumed) == [("n3", "success"), ("n4", "success")]  # only the nodes this run executed
    assert len(t.calls(f"{prefix}/a")) == 1  # n2 did not run again ...
    assert [h.body for h in t.calls(f"{prefix}/b")][-1] == {"from": "a", "user": "usr_123"}  # ... its output was used
    assert len(t.calls(f"{prefix}/c")) == 1
    # the original run is left as it was, and both runs are in the history, newest first
    assert wait_run(org1, failed["id"]) == failed
    history = checked(org1.get(f"/workflows/{wf['id']}/executions"), "listWorkflowRuns", 200)
    assert [r["id"] for r in history["data"]] == [new_id, failed["id"]]


def test_a_fix_to_the_workflow_applies_to_rerun_and_resume(org1, target):
    t, url = target
    base, prefix = scoped(url)
    body = chain(base, new_authorization(org1))
    body["nodes"][2]["data"]["url"] = f"{base}/broken"
    wf = checked(org1.post("/workflows", json=body), "createWorkflow", 201)
    t.fail(f"{prefix}/broken", times=1000)
    failed = execute(org1, wf["id"], {"user_id": "usr_9"})
    assert failed["error_message"] == "Webhook request failed: 503 Service Unavailable"

    body["nodes"][2]["data"]["url"] = f"{base}/b"  # the user fixes the node
    checked(org1.put(f"/workflows/{wf['id']}", json={"nodes": body["nodes"]}), "updateWorkflow", 200)

    rerun = checked(org1.post(f"/workflows/runs/{failed['id']}/rerun"), "rerunWorkflowRun", 202)
    again = wait_run(org1, rerun["new_run"]["id"])
    assert again["status"] == "completed"
    assert steps(again) == [("n1", "success"), ("n2", "success"), ("n3", "success"), ("n4", "success")]
    assert len(t.calls(f"{prefix}/a")) == 2  # a re-run executes every node again
    resumed = wait_run(org1, checked(org1.post(f"/workflows/runs/{failed['id']}/resume-from/n2"),
                                     "resumeWorkflowRun", 202)["new_run"]["id"])
    assert resumed["status"] == "completed" and steps(resumed) == [("n3", "success"), ("n4", "success")]
    assert len(t.calls(f"{prefix}/a")) == 2
    assert [h.body for h in t.calls(f"{prefix}/b")] == [{"from": "a", "user": "usr_9"}] * 2
    assert len(t.calls(f"{prefix}/broken")) == 1


def test_resume_keeps_the_branch_the_condition_took(org1, target):
    """The condition before the resume node is not evaluated again: its branch is inherited."""
    t, url = target
    base, prefix = scoped(url)
    body = {"name": "Branch then fail", "authorization_id": new_authorization(org1),
            "nodes": [node("n1", "manual_trigger"),
                      node("n2", "webhook", method="GET", url=f"{base}/check"),
                      node("n3", "condition", left="{{ n2.body.healthy }}", operator="equals", right=True),
                      node("n4", "webhook", method="POST", url=f"{base}/healthy"),
                      node("n5", "webhook", method="POST", url=f"{base}/unhealthy"),
                      node("n6", "webhook", method="POST", url=f"{base}/after", body={"via": "{{ n4.body.name }}"})],
            "edges": [edge("n1", "n2"), edge("n2", "n3"), edge("n3", "n4", "true"), edge("n3", "n5", "false"),
                      edge("n4", "n6")]}
    wf = checked(org1.post("/workflows", json=body), "createWorkflow", 201)
    t.fail(f"{prefix}/after", times=1)
    failed = execute(org1, wf["id"])
    assert steps(failed)[-1] == ("n6", "error")
    t.healthy = False  # were n2 and n3 to run again, the false branch would be taken
    try:
        resumed = wait_run(org1, checked(org1.post(f"/workflows/runs/{failed['id']}/resume-from/n4"),
                                         "resumeWorkflowRun", 202)["new_run"]["id"])
    finally:
        t.healthy = True
    assert resumed["status"] == "completed" and steps(resumed) == [("n6", "success")]
    assert len(t.calls(f"{prefix}/check")) == 1 and len(t.calls(f"{prefix}/healthy")) == 1
    assert t.calls(f"{prefix}/unhealthy") == []
    assert t.calls(f"{prefix}/after")[-1].body == {"via": "healthy"}
    # a node on the branch the run did not take never completed: it cannot be resumed from
    refused = checked(org1.post(f"/workflows/runs/{failed['id']}/resume-from/n5"), "resumeWorkflowRun", 422)
    assert refused["code"] == "node_not_completed" and "n5" in refused["message"]


def test_resume_after_an_error_path_takes_the_error_path_again(org1, target):
    t, url = target
    base, prefix = scoped(url)
    body = {"name": "Error path then fail", "authorization_id": new_authorization(org1),
            "nodes": [node("t", "manual_trigger"),
                      node("w", "webhook", method="GET", url=f"{base}/flaky", continue_on_error=True),
                      node("alert", "webhook", method="POST", url=f"{base}/alert"),
                      node("last", "webhook", method="POST", url=f"{base}/last")],
            "edges": [edge("t", "w"), edge("w", "alert", "error"), edge("alert", "last")]}
    wf = checked(org1.post("/workflows", json=body), "createWorkflow", 201)
    t.fail(f"{prefix}/flaky", times=1)
    t.fail(f"{prefix}/last", times=1)
    failed = execute(org1, wf["id"])
    assert steps(failed) == [("t", "success"), ("w", "error"), ("alert", "success"), ("last", "error")]
    resumed = wait_run(org1, checked(org1.post(f"/workflows/runs/{failed['id']}/resume-from/alert"),
                                     "resumeWorkflowRun", 202)["new_run"]["id"])
    assert resumed["status"] == "completed" and steps(resumed) == [("last", "success")]
    assert resumed["error_message"] is None  # the inherited failure is the original run's, not this one's
    assert len(t.calls(f"{prefix}/flaky")) == 1 and len(t.calls(f"{prefix}/alert")) == 1


def test_which_runs_can_be_resumed_and_the_errors_otherwise(org1, org2, target):
    t, url = target
    base, prefix = scoped(url)
    auth_id = new_authorization(org1)
    wf = checked(org1.post("/workflows", json=chain(base, auth_id)), "createWorkflow", 201)
    t.fail(f"{prefix}/b", times=1)
    failed = execute(org1, wf["id"])
    completed = execute(org1, wf["id"])
    assert (failed["status"], completed["status"]) == ("failed", "completed")

    done = checked(org1.post(f"/workflows/runs/{completed['id']}/resume-from/n2"), "resumeWorkflowRun", 409)
    assert done["code"] == "run_not_failed" and done["type"] == "invalid_request_error"
    failed_node = checked(org1.post(f"/workflows/runs/{failed['id']}/resume-from/n3"), "resumeWorkflowRun", 422)
    assert failed_node["code"] == "node_not_completed"
    never_ran = checked(org1.post(f"/workflows/runs/{failed['id']}/resume-from/n4"), "resumeWorkflowRun", 422)
    assert never_ran["code"] == "node_not_completed"
    no_node = checked(org1.post(f"/workflows/runs/{failed['id']}/resume-from/n99"), "resumeWorkflowRun", 404)
    assert no_node["code"] == "resource_missing" and "n99" in no_node["message"]
    checked(org1.post("/workflows/runs/fl_run_01h3j4k5l6m7n8p9q0r1s2t3u4/resume-from/n2"), "resumeWorkflowRun", 404)
    checked(org2.post(f"/workflows/runs/{failed['id']}/resume-from/n2"), "resumeWorkflowRun", 404)

    slow = {"name": "Slow", "authorization_id": auth_id,
            "nodes": [node("n1", "manual_trigger"), node("d", "delay", duration=2, unit="seconds")],
            "edges": [edge("n1", "d")]}
    slow_wf = checked(org1.post("/workflows", json=slow), "createWorkflow", 201)
    running = checked(org1.post(f"/workflows/{slow_wf['id']}/execute"), "executeWorkflow", 202)
    busy = checked(org1.post(f"/workflows/runs/{running['id']}/resume-from/n1"), "resumeWorkflowRun", 409)
    assert busy["code"] == "run_in_progress"
    # nothing was started by the refusals
    assert checked(org1.get(f"/workflows/{wf['id']}/executions"), "listWorkflowRuns", 200)["meta"]["total"] == 2
    wait_run(org1, running["id"])


def test_rerun_repeats_the_trigger_payload_for_any_run(org1, anonymous, target):
    t, url = target
    base, prefix = scoped(url)
    auth_id = new_authorization(org1)
    wf = checked(org1.post("/workflows", json=chain(base, auth_id)), "createWorkflow", 201)
    completed = execute(org1, wf["id"], {"user_id": "usr_1", "site_id": "site_456"})
    first = checked(org1.post(f"/workflows/runs/{completed['id']}/rerun"), "rerunWorkflowRun", 202)
    assert first["message"] == "Workflow re-run initiated successfully."
    assert set(first) >= {"message", "new_run"} and first["new_run"]["status"] in ("pending", "running", "completed")
    second_run = wait_run(org1, first["new_run"]["id"])
    assert second_run["trigger_payload"] == {"user_id": "usr_1", "site_id": "site_456"}
    assert second_run["original_run_id"] == completed["id"]
    # a re-run of a re-run names its own original, and still carries the first payload
    third = checked(org1.post(f"/workflows/runs/{second_run['id']}/rerun"), "rerunWorkflowRun", 202)
    assert third["original_run_id"] == second_run["id"]
    third_run = wait_run(org1, third["new_run"]["id"])
    assert third_run["trigger_payload"] == completed["trigger_payload"]
    assert [h.body["user"] for h in t.calls(f"{prefix}/b")] == ["usr_1"] * 3
    # every run's own id reaches its templates
    headers = {"X-Run": "{{ h.run_id }}"}
    hooked = {"name": "Hooked", "authorization_id": auth_id,
              "nodes": [node("h", "webhook_trigger"),
                        node("fwd", "webhook", method="POST", url=f"{base}/fwd", headers=headers,
                             body={"event": "{{ h.webhook_payload.event_type }}"})],
              "edges": [edge("h", "fwd")]}
    hook_wf = checked(org1.post("/workflows", json=hooked), "createWorkflow", 201)
    token = hook_wf["webhook_url"].rsplit("/", 1)[1]
    accepted = checked(anonymous.post(f"/workflows/webhooks/{token}", json={"event_type": "site.added"}),
                       "triggerWorkflowWebhook", 202)
    hook_run = wait_run(org1, accepted["run_id"])
    rerun_of_hook = wait_run(org1, checked(org1.post(f"/workflows/runs/{hook_run['id']}/rerun"),
                                           "rerunWorkflowRun", 202)["new_run"]["id"])
    assert rerun_of_hook["status"] == "completed"
    assert [h.body for h in t.calls(f"{prefix}/fwd")] == [{"event": "site.added"}] * 2
    assert [h.headers["x-run"] for h in t.calls(f"{prefix}/fwd")] == [hook_run["id"], rerun_of_hook["id"]]
    # a running run can be re-run too: the re-run is a run of its own
    slow = {"name": "Slow", "authorization_id": auth_id,
            "nodes": [node("n1", "manual_trigger"), node("d", "delay", duration=1, unit="seconds")],
            "edges": [edge("n1", "d")]}
    slow_wf = checked(org1.post("/workflows", json=slow), "createWorkflow", 201)
    running = checked(org1.post(f"/workflows/{slow_wf['id']}/execute"), "executeWorkflow", 202)
    parallel = checked(org1.post(f"/workflows/runs/{running['id']}/rerun"), "rerunWorkflowRun", 202)
    assert parallel["new_run"]["id"] != running["id"]
    assert wait_run(org1, parallel["new_run"]["id"])["status"] == "completed"
    assert wait_run(org1, running["id"])["status"] == "completed"


def test_rerun_refusals(org1, org2, target):
    _, url = target
    base, _ = scoped(url)
    wf = checked(org1.post("/workflows", json=chain(base, new_authorization(org1))), "createWorkflow", 201)
    run = execute(org1, wf["id"])
    missing = checked(org1.post("/workflows/runs/fl_run_nope/rerun"), "rerunWorkflowRun", 404)
    assert missing == {"type": "invalid_request_error", "code": "resource_missing",
                       "message": "Workflow run 'fl_run_nope' not found.",
                       "doc_url": "https://docs.altostrat.io/errors/resource_missing"}
    checked(org2.post(f"/workflows/runs/{run['id']}/rerun"), "rerunWorkflowRun", 404)
    checked(org1.put(f"/workflows/{wf['id']}", json={"is_active": False}), "updateWorkflow", 200)
    inactive = checked(org1.post(f"/workflows/runs/{run['id']}/rerun"), "rerunWorkflowRun", 409)
    assert inactive["code"] == "workflow_inactive"
    checked(org1.delete(f"/workflows/{wf['id']}"), "deleteWorkflow", 204)
    # deleting a workflow deletes its runs
    checked(org1.get(f"/workflows/runs/{run['id']}"), "getWorkflowRun", 404)
    checked(org1.post(f"/workflows/runs/{run['id']}/rerun"), "rerunWorkflowRun", 404)
