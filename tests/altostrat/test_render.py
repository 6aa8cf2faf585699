"""Executions and attempts rendered as Altostrat runs, logs and workflows (checked against the spec)."""

from __future__ import annotations

from wfgateway.adapters.altostrat import render
from wfgateway.adapters.altostrat import workflows as W
from wfgateway.adapters.altostrat.translate import translate

from tests.altostrat.graphs import branching
from tests.altostrat.spec_schemas import response_errors
from wfgateway.core.model import Execution, TaskAttempt, WorkflowDefinition
from wfgateway.core.statuses import ExecutionStatus, TaskStatus

T0 = 1_761_912_000_000  # 2025-10-31T12:00:00Z


def execution(status, attempts, **kw):
    graph = translate(branching("http://h")["nodes"], branching("http://h")["edges"])
    definition = WorkflowDefinition(tenant="o", name="fl_1", version=1, tasks=graph.tasks, dialect="altostrat")
    return Execution(id="fl_run_1", tenant="o", definition_name="fl_1", definition_version=1, status=status,
                     input={"user_id": "u1", "trigger_type": "manual", "run_id": "fl_run_1"},
                     created_ms=T0, started_ms=T0, ended_ms=T0 + 5000 if status.terminal else 0,
                     definition=definition, tasks=attempts, dialect="altostrat", **kw)


def attempt(ref, status, seq, output=None, **kw):
    return TaskAttempt(id=f"a-{ref}-{seq}", execution_id="fl_run_1", ref=ref, name="", kind="x", status=status,
                       seq=seq, output=output or {}, ended_ms=T0 + seq * 1000, **kw)


def test_failed_webhook_run_reads_like_the_vendor():
    e = execution(ExecutionStatus.FAILED, [
        attempt("n1", TaskStatus.COMPLETED, 1),
        attempt("n2", TaskStatus.FAILED, 2, {"status": 503, "body": "down"}, reason="HTTP 503"),
        attempt("n3", TaskStatus.CANCELED, 3),
    ])
    body = render.run(e)
    assert body["status"] == "failed"
    assert body["error_message"] == "Webhook request failed: 503 Service Unavailable"
    assert body["started_at"] == "2025-10-31T12:00:00.000000Z"
    assert body["completed_at"] == "2025-10-31T12:00:05.000000Z"
    assert body["duration_in_seconds"] == 5
    assert body["trigger_payload"] == {"user_id": "u1"}  # what the run was triggered with, nothing added
    assert [(x["node_id"], x["status"], x["component_id"]) for x in body["logs"]] == [
        ("n1", "success", "manual_trigger"), ("n2", "error", "webhook")]  # n3 never ran
    assert body["logs"][0]["output"]["user_id"] == "u1"
    assert body["logs"][1]["output"]["error"] == "Webhook request failed: 503 Service Unavailable"
    assert all(x["id"].startswith("fl_log_") and x["execution_id"] == "fl_run_1" for x in body["logs"])
    assert response_errors("getWorkflowRun", "200", body) == []


def test_completed_run_skips_untaken_branches_and_shows_condition_results():
    e = execution(ExecutionStatus.COMPLETED, [
        attempt("n1", TaskStatus.COMPLETED, 1),
        attempt("n2", TaskStatus.COMPLETED, 2, {"status": 200, "body": {"healthy": True}}),
        attempt("n3", TaskStatus.COMPLETED, 3, {}, branch="true"),
        attempt("n4", TaskStatus.COMPLETED, 4, {"status": 200}),
        attempt("n5", TaskStatus.SKIPPED, 5),
    ], cloned_from="fl_run_0")
    body = render.run(e)
    assert body["status"] == "completed" and body["error_message"] is None
    assert body["original_run_id"] == "fl_run_0"
    assert [x["node_id"] for x in body["logs"]] == ["n1", "n2", "n3", "n4"]
    assert body["logs"][2]["output"] == {"result": True, "branch": "true"}
    assert response_errors("rerunWorkflowRun", "202", {"message": "m", "original_run_id": "fl_run_0",
                                                       "new_run": body}) == []


def test_running_run_has_no_end():
    body = render.run(execution(ExecutionStatus.RUNNING, [attempt("n1", TaskStatus.COMPLETED, 1),
                                                          attempt("n2", TaskStatus.IN_PROGRESS, 2)]))
    assert body["status"] == "running"
    assert body["completed_at"] is None and body["duration_in_seconds"] is None
    assert [x["node_id"] for x in body["logs"]] == ["n1"]


def test_workflow_rendering_validates_and_hides_graph_in_lists():
    record = W.new_record({**branching("http://h"), "schedule_type": "cron", "schedule_value": "0 9 * * *"})
    record["webhook_token"] = "whsec_abc"
    full = render.workflow(record, "http://gw:1", {"id": "auth_1", "user_id": "u", "email": None,
                                                   "provider": "altostrat", "status": "active",
                                                   "created_at": "2025-10-31T12:00:00.000000Z"})
    assert full["id"].startswith("fl_") and full["nodes"] == record["nodes"]
    assert full["webhook_url"] == "http://gw:1/workflows/webhooks/whsec_abc"
    assert full["next_run_at"].endswith("T09:00:00.000000Z")
    assert response_errors("getWorkflow", "200", full) == []
    short = render.workflow(record, "http://gw:1", full=False)
    assert "nodes" not in short and "edges" not in short
    assert response_errors("listWorkflows", "200", [short]) == []
