"""Every Conductor error case answers Conductor's status and exact message in its ErrorResponse body.

Workflows here use a task type no worker serves; the test itself polls and completes tasks over
HTTP when it needs a finished workflow.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.conductor.spec_check import checked_client
from tests.conductor.test_spec import component
from tests.support.server import RunningGateway

DEF = {"name": "err_flow", "version": 1, "timeoutSeconds": 0,
       "tasks": [{"name": "err_task", "taskReferenceName": "t_ref", "type": "SIMPLE",
                  "inputParameters": {"x": "${workflow.input.x}"}}]}


@pytest.fixture(scope="module")
def api(open_gateway: RunningGateway) -> Iterator[httpx.Client]:
    with checked_client(open_gateway.url) as client:
        assert client.post("/api/metadata/taskdefs",
                           json=[{"name": "err_task", "retryCount": 0, "timeoutSeconds": 60, "responseTimeoutSeconds": 60}]).status_code == 200
        assert client.post("/api/metadata/workflow", json=DEF).status_code == 200
        yield client


def error(response: httpx.Response, status: int, message: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body = response.json()
    component("ErrorResponse").validate(body)
    assert body["status"] == status and body["message"] == message and body["retryable"] is False
    return body


def start(api: httpx.Client, **input: Any) -> str:
    r = api.post("/api/workflow/err_flow", json=input or {"x": 1})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
    return r.text


def status_of(api: httpx.Client, wid: str) -> str:
    return api.get(f"/api/workflow/{wid}/status").json()["status"]


def finish_task(api: httpx.Client, wid: str, status: str = "COMPLETED") -> str:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        polled = api.get("/api/tasks/poll/batch/err_task", params={"count": 10, "timeout": 200, "workerid": "t"})
        assert polled.status_code == 200
        for t in polled.json():
            component("Task").validate(t)
            result = {"workflowInstanceId": t["workflowInstanceId"], "taskId": t["taskId"], "status":
                      status if t["workflowInstanceId"] == wid else "COMPLETED", "outputData": {"ok": 1},
                      "reasonForIncompletion": "boom" if status != "COMPLETED" else None}
            r = api.post("/api/tasks", json=result)
            assert r.status_code == 200 and r.text == t["taskId"]
            if t["workflowInstanceId"] == wid:
                return t["taskId"]
    raise AssertionError("no task to finish")


def wait(api: httpx.Client, wid: str, wanted: str) -> None:
    deadline = time.monotonic() + 10
    while status_of(api, wid) != wanted:
        assert time.monotonic() < deadline, status_of(api, wid)
        time.sleep(0.02)


@pytest.mark.parametrize(("method", "path"), [
    ("GET", "/api/workflow/{id}"), ("GET", "/api/workflow/{id}/status"), ("DELETE", "/api/workflow/{id}"),
    ("POST", "/api/workflow/{id}/retry"), ("POST", "/api/workflow/{id}/restart"),
    ("PUT", "/api/workflow/{id}/pause"), ("PUT", "/api/workflow/{id}/resume"),
])
def test_unknown_workflow_id(api: httpx.Client, method: str, path: str) -> None:
    r = api.request(method, path.format(id="no-such-id"), content=b"{}", headers={"content-type": "application/json"})
    body = error(r, 404, "No such workflow found by id: no-such-id")
    assert body["instance"]


def test_unknown_workflow_id_on_rerun(api: httpx.Client) -> None:
    error(api.post("/api/workflow/nope/rerun", json={"reRunFromTaskId": "x"}), 404, "No such workflow found by id: nope")


def test_register_twice_without_overwrite_conflicts(api: httpx.Client) -> None:
    error(api.post("/api/metadata/workflow", json=DEF), 409, "Workflow with err_flow.1 already exists!")
    assert api.post("/api/metadata/workflow?overwrite=True", json=DEF).status_code == 200
    assert api.post("/api/metadata/workflow", params={"overwrite": "true"}, json=DEF).status_code == 200


def test_invalid_definitions_list_validation_errors(api: httpx.Client) -> None:
    r = api.post("/api/metadata/workflow", json={"name": "bad", "timeoutSeconds": 0})
    body = error(r, 400, "Validation failed, check below errors for detail.")
    assert body["validationErrors"] and all("path" in v and "message" in v for v in body["validationErrors"])
    dup = {**DEF, "name": "dup", "tasks": DEF["tasks"] * 2}
    body = error(api.post("/api/metadata/workflow", json=dup), 400, "Validation failed, check below errors for detail.")
    assert body["validationErrors"][0]["message"] == \
        "taskReferenceName: t_ref should be unique across tasks for a given workflowDefinition: dup"
    r = api.post("/api/metadata/workflow", json={**DEF, "name": "loop", "tasks": [
        {"name": "l", "taskReferenceName": "l", "type": "KAFKA_PUBLISH"}]})
    body = error(r, 400, "Validation failed, check below errors for detail.")
    assert any(v["path"] == "body.tasks.0.type" and v["invalidValue"] == "KAFKA_PUBLISH" for v in body["validationErrors"])
    r = api.post("/api/metadata/workflow", json={**DEF, "name": "event", "tasks": [
        {"name": "notify", "taskReferenceName": "n", "type": "EVENT"}]})
    body = error(r, 400, "Validation failed, check below errors for detail.")
    assert [v["message"] for v in body["validationErrors"]] == ["sink field is required for taskType: EVENT taskName: notify"]
    r = api.post("/api/metadata/workflow", json={**DEF, "name": "loop", "tasks": [
        {"name": "l", "taskReferenceName": "l", "type": "DO_WHILE", "loopCondition": "false"}]})
    error(r, 400, "DO_WHILE task l: loopOver needs at least one task")
    r = api.post("/api/metadata/workflow", json={**DEF, "name": "child", "tasks": [
        {"name": "c", "taskReferenceName": "c", "type": "SUB_WORKFLOW"}]})
    error(r, 400, "Validation failed, check below errors for detail.")  # subWorkflowParam.name is required


def test_operations_on_a_running_workflow(api: httpx.Client) -> None:
    wid = start(api)
    assert status_of(api, wid) == "RUNNING"
    label = f"err_flow.1/{wid}.RUNNING"
    error(api.post(f"/api/workflow/{wid}/rerun", json={}), 409,
          f"Workflow: {label} is not in terminal state, unable to rerun.")
    error(api.post(f"/api/workflow/{wid}/retry", content=b"{}", headers={"content-type": "application/json"}), 404,
          "Workflow is still running.  status=RUNNING")
    error(api.post(f"/api/workflow/{wid}/restart"), 409,
          f"Workflow: {label} is not in terminal state, unable to restart.")
    error(api.put(f"/api/workflow/{wid}/resume"), 409,
          f"The workflow {wid} is not PAUSED so cannot resume. Current status is RUNNING")
    assert api.put(f"/api/workflow/{wid}/pause", content=b"{}", headers={"content-type": "application/json"}
                   ).status_code == 200
    assert status_of(api, wid) == "PAUSED"
    error(api.post(f"/api/workflow/{wid}/retry"), 404, "Workflow is still running.  status=PAUSED")
    assert api.put(f"/api/workflow/{wid}/resume").status_code == 200
    r = api.delete(f"/api/workflow/{wid}", params={"reason": "stop it"})
    assert r.status_code == 200 and r.content == b""
    wf = api.get(f"/api/workflow/{wid}").json()
    assert wf["status"] == "TERMINATED" and wf["reasonForIncompletion"] == "stop it"
    error(api.put(f"/api/workflow/{wid}/pause"), 409, f"Workflow err_flow.1/{wid} has ended, status cannot be updated.")
    error(api.post(f"/api/workflow/{wid}/rerun", json={"reRunFromTaskId": "missing-task"}), 400,
          "Task missing-task not found")


def test_operations_on_a_completed_workflow(api: httpx.Client) -> None:
    wid = start(api)
    finish_task(api, wid)
    wait(api, wid, "COMPLETED")
    error(api.post(f"/api/workflow/{wid}/retry?resumeSubworkflowTasks=True"), 409,
          "There are no retryable tasks! Use restart if you want to attempt entire workflow execution again.")
    error(api.delete(f"/api/workflow/{wid}"), 409, "Cannot terminate a COMPLETED workflow.")
    r = api.post(f"/api/workflow/{wid}/rerun", json={"workflowInput": {"x": 2}, "correlationId": "c-2",
                                                     "reRunFromWorkflowId": "ignored", "unknownField": 1})
    assert r.status_code == 200 and r.text == wid and r.headers["content-type"].startswith("text/plain")
    wf = api.get(f"/api/workflow/{wid}").json()
    assert wf["status"] == "RUNNING" and wf["input"] == {"x": 2} and wf["correlationId"] == "c-2"
    assert wf["tasks"][0]["inputData"] == {"x": 2}


def test_retry_and_restart_answer_204(api: httpx.Client) -> None:
    wid = start(api)
    failed_task = finish_task(api, wid, "FAILED")
    wait(api, wid, "FAILED")
    r = api.post(f"/api/workflow/{wid}/retry", params={"resumeSubworkflowTasks": "True"})
    assert r.status_code == 204 and r.content == b""
    tasks = api.get(f"/api/workflow/{wid}").json()["tasks"]
    assert [(t["status"], t.get("retriedTaskId"), t["retryCount"]) for t in tasks] == [
        ("FAILED", None, 0), ("SCHEDULED", failed_task, 1)]
    finish_task(api, wid, "FAILED")
    wait(api, wid, "FAILED")
    r = api.post(f"/api/workflow/{wid}/restart", params={"useLatestDefinitions": "true"})
    assert r.status_code == 204
    tasks = api.get(f"/api/workflow/{wid}", params={"includeTasks": "True"}).json()["tasks"]
    assert [t["status"] for t in tasks] == ["SCHEDULED"]
    assert api.get(f"/api/workflow/{wid}", params={"includeTasks": "false"}).json()["tasks"] == []


def test_start_errors(api: httpx.Client) -> None:
    error(api.post("/api/workflow/nope", json={}), 404, "No such workflow found by name: nope, version: null")
    error(api.post("/api/workflow/err_flow?version=7", json={}), 404,
          "No such workflow found by name: err_flow, version: 7")
    error(api.post("/api/workflow", json={"name": "nope"}), 404, "No such workflow defined. name=nope, version=null")
    r = api.post("/api/workflow/err_flow?priority=100", json={})
    assert r.status_code == 400 and r.json()["validationErrors"]
    r = api.post("/api/workflow", json={"name": "err_flow", "input": {"x": 1}, "someNewField": True,
                                        "idempotencyStrategy": "FAIL"})
    assert r.status_code == 200 and r.text


def test_idempotency_fail_strategy_conflicts(api: httpx.Client) -> None:
    body = {"name": "err_flow", "input": {"x": 1}, "idempotencyKey": "k-1", "idempotencyStrategy": "FAIL"}
    first = api.post("/api/workflow", json=body)
    assert first.status_code == 200
    again = api.post("/api/workflow", json=body)
    assert again.status_code == 409 and "k-1" in again.json()["message"]
    same = api.post("/api/workflow", json={**body, "idempotencyStrategy": "RETURN_EXISTING"})
    assert same.status_code == 200 and same.text == first.text


def test_task_errors(api: httpx.Client) -> None:
    error(api.get("/api/tasks/poll/batch/err_task", params={"timeout": 6000}), 400,
          "Long Poll Timeout value cannot be more than 5 seconds")
    error(api.get("/api/tasks/no-such-task"), 404, "Task not found for taskId: no-such-task")
    error(api.post("/api/tasks", json={"workflowInstanceId": "nope", "taskId": "t", "status": "COMPLETED"}), 404,
          "No such workflow found by id: nope")
    wid = start(api)
    error(api.post("/api/tasks", json={"workflowInstanceId": wid, "taskId": "t", "status": "COMPLETED"}), 404,
          "No such task found by id: t")
    r = api.post("/api/tasks", json={"workflowInstanceId": wid, "taskId": "t", "status": "DONE"})
    assert r.status_code == 400 and r.json()["validationErrors"]
    assert api.get("/api/tasks/poll/nobody-polls-this").status_code == 204
    error(api.get("/api/metadata/taskdefs/nope"), 404, "No such taskType found by name: nope")
    error(api.get("/api/metadata/workflow/nope"), 404, "No such workflow found by name: nope, version: null")


def test_update_v2_hands_out_the_next_task_or_204(api: httpx.Client) -> None:
    first, second = start(api), start(api)
    polled = api.get("/api/tasks/poll/batch/err_task", params={"count": 1, "timeout": 500}).json()
    assert len(polled) == 1
    t = polled[0]
    r = api.post("/api/tasks/update-v2", json={"workflowInstanceId": t["workflowInstanceId"], "taskId": t["taskId"],
                                               "status": "COMPLETED", "workerId": "w", "extendLease": False})
    assert r.status_code in (200, 204)
    while r.status_code == 200:
        nxt = r.json()
        component("Task").validate(nxt)
        assert nxt["status"] == "IN_PROGRESS" and nxt["taskId"] != t["taskId"]
        r = api.post("/api/tasks/update-v2", json={"workflowInstanceId": nxt["workflowInstanceId"],
                                                   "taskId": nxt["taskId"], "status": "COMPLETED", "workerId": "w"})
    assert r.status_code == 204
    for wid in (first, second):
        wait(api, wid, "COMPLETED")


def test_task_logs(api: httpx.Client) -> None:
    wid = start(api)
    task_id = api.get(f"/api/workflow/{wid}").json()["tasks"][0]["taskId"]
    assert api.post(f"/api/tasks/{task_id}/log", json="step one").status_code == 200
    logs = api.get(f"/api/tasks/{task_id}/log").json()
    assert [entry["log"] for entry in logs] == ["step one"] and logs[0]["taskId"] == task_id


def test_search_returns_conductor_summaries(api: httpx.Client) -> None:
    wid = start(api, x=5)
    r = api.get("/api/workflow/search", params={"query": "workflowType = 'err_flow' AND status IN (RUNNING)",
                                                "start": 0, "size": 500, "freeText": "*", "queryId": ""})
    assert r.status_code == 200
    body = r.json()
    component("SearchResultWorkflowSummary").validate(body)
    hit = next(s for s in body["results"] if s["workflowId"] == wid)
    assert hit["input"] == '{"x":5}' and hit["startTime"].endswith("Z") and hit["parentWorkflowId"] == ""
    assert body["totalHits"] >= 1
    body = error(api.get("/api/workflow/search", params={"query": "bogus ~~ 1"}), 400,
                 "Validation failed, check below errors for detail.")
    assert body["validationErrors"][0]["path"] == "query.query"
    error(api.get("/api/workflow/search", params={"query": "status = DONE"}), 400,
          "Invalid workflow status in search query: 'status = DONE'")
    # '¹' passes str.isdigit() and is no number: a clause comparing a time or version with it is refused
    # (each answered 500), and so is one with an Arabic-Indic digit, which int() would have read as 3
    for path, query in (("/api/workflow/search", "startTime > \u00b9"), ("/api/workflow/search", "version = \u00b9"),
                        ("/api/tasks/search", "scheduledTime > \u00b9"), ("/api/workflow/search", "version = \u0663")):
        r = api.get(path, params={"query": query})
        assert r.status_code == 400 and query in r.json()["message"], (path, query, r.text)


def test_token_endpoint_is_404_in_open_mode(api: httpx.Client) -> None:
    r = api.post("/api/token", json={"keyId": "k", "keySecret": "s"})
    assert r.status_code == 404 and r.json()["status"] == 404


def test_unknown_paths_and_methods_use_conductors_error_body(api: httpx.Client) -> None:
    r = api.get("/api/workflow/a/b/c/d")
    assert r.status_code == 404 and r.json()["status"] == 404
    r = api.patch("/api/workflow/abc")
    assert r.status_code == 405 and r.json()["status"] == 405 and "allow" in r.headers


def test_idempotency_headers_on_start_by_name(api: httpx.Client) -> None:
    first = api.post("/api/workflow/err_flow", json={"x": 1}, headers={"X-Idempotency-key": "hdr-1"})
    assert first.status_code == 200
    again = api.post("/api/workflow/err_flow", json={"x": 1}, headers={"X-Idempotency-key": "hdr-1"})
    assert again.status_code == 409 and "hdr-1" in again.json()["message"]
    same = api.post("/api/workflow/err_flow", json={"x": 1},
                    headers={"X-Idempotency-key": "hdr-1", "X-on-conflict": "RETURN_EXISTING"})
    assert same.status_code == 200 and same.text == first.text


def test_remove_refuses_a_running_workflow_it_would_archive(api: httpx.Client) -> None:
    wid = start(api)
    error(api.delete(f"/api/workflow/{wid}/remove"), 400, f"Cannot archive workflow: {wid} with status: RUNNING")
    assert status_of(api, wid) == "RUNNING"
    assert api.delete(f"/api/workflow/{wid}/remove", params={"archiveWorkflow": "False"}).status_code == 200
    error(api.get(f"/api/workflow/{wid}"), 404, f"No such workflow found by id: {wid}")
    error(api.delete(f"/api/workflow/{wid}/remove"), 404, f"No such workflow found by id: {wid}")


def test_out_of_range_numbers_in_bad_requests_are_rendered(api: httpx.Client) -> None:
    r = api.post("/api/workflow/err_flow", params={"priority": str(2**70)}, json={})
    body = error(r, 400, "Validation failed, check below errors for detail.")
    assert body["validationErrors"][0]["path"] == "query.priority"


def test_bad_query_booleans_are_400(api: httpx.Client) -> None:
    r = api.get("/api/workflow/anything", params={"includeTasks": "maybe"})
    error(r, 400, "Validation failed, check below errors for detail.")


def test_big_numbers_in_input_are_kept(api: httpx.Client) -> None:
    # Jackson reads numbers past a Java long as BigInteger; such input round-trips here too
    r = api.post("/api/workflow/err_flow", content=b'{"n": {"deep": [1, 18446744073709551615]}}',
                 headers={"content-type": "application/json"})
    assert r.status_code == 200
    assert api.get(f"/api/workflow/{r.text}").json()["input"] == {"n": {"deep": [1, 18446744073709551615]}}


def test_huge_timeouts_and_audit_times_never_break_storage(api: httpx.Client) -> None:
    big = {**DEF, "name": "huge", "timeoutSeconds": 9223372036854775807, "timeoutPolicy": "TIME_OUT_WF",
           "createTime": 9223372036854775807}
    assert api.post("/api/metadata/workflow", json=big).status_code == 200
    stored = api.get("/api/metadata/workflow/huge").json()
    assert stored["timeoutSeconds"] == 9223372036854775807 and stored["createTime"] < 9223372036854775807
    r = api.post("/api/metadata/taskdefs", json=[{"name": "huge_task", "timeoutSeconds": 9223372036854775807,
                                                 "retryDelaySeconds": 2147483647}])
    assert r.status_code == 200
    assert api.post("/api/workflow/huge", json={}).status_code == 200


@pytest.mark.parametrize(("path", "body"), [
    # Java int fields (WorkflowTask.retryCount/startDelay, TaskDef.retryCount/retryDelaySeconds): Jackson refuses
    # a value past Integer.MAX_VALUE with 400; beyond 64 bits it must never become a server error
    ("/api/metadata/workflow", [{**DEF, "name": "int_wt", "tasks": [{**DEF["tasks"][0], "retryCount": 2**31}]}]),
    ("/api/metadata/workflow", [{**DEF, "name": "int_wt2", "tasks": [{**DEF["tasks"][0], "startDelay": 2**80}]}]),
    ("/api/metadata/taskdefs", [{"name": "int_td", "retryDelaySeconds": 2**31}]),
    ("/api/metadata/taskdefs", [{"name": "int_td2", "retryCount": 2**80}]),
])
def test_java_int_fields_refuse_values_past_int32(api: httpx.Client, path: str, body: list) -> None:
    r = api.put(path, json=body) if path.endswith("workflow") else api.post(path, json=body)
    assert r.status_code == 400, r.text
    assert r.json()["validationErrors"]


def test_numbers_past_64_bits_in_free_form_task_input_are_stored(api: httpx.Client) -> None:
    doc = {**DEF, "name": "bigint_params", "tasks": [{**DEF["tasks"][0], "inputParameters": {"n": 2**80}}]}
    assert api.post("/api/metadata/workflow", json=doc).status_code == 200
    assert api.get("/api/metadata/workflow/bigint_params").status_code == 200
