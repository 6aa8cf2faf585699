"""Acceptance through the unmodified conductor-python 2.0.0: completing tasks by reference name
(``TaskClient.update_task_by_ref_name`` / ``update_task_sync``), signalling a blocked WAIT task
(``WorkflowExecutor.signal`` / ``signal_async``), and the small workflow and metadata reads that
come with them (running ids, names and versions, terminate-remove)."""

from __future__ import annotations

import time

import httpx
import pytest
from conductor.client.configuration.configuration import Configuration
from conductor.client.http.models import StartWorkflowRequest
from conductor.client.http.models.sub_workflow_params import SubWorkflowParams
from conductor.client.http.models.task import Task
from conductor.client.http.models.workflow_def import WorkflowDef
from conductor.client.http.models.workflow_task import WorkflowTask
from conductor.client.http.rest import ApiException
from conductor.client.orkes_clients import OrkesClients
from conductor.client.workflow.executor.workflow_executor import WorkflowExecutor

from tests.conductor.sdk_support import wait_status

ONLY_CONDUCTOR = {"cognite": {"enabled": False}, "altostrat": {"enabled": False}}




@pytest.fixture(scope="module")
def clients(gateway: str, config: Configuration) -> OrkesClients:
    clients = OrkesClients(configuration=config)
    for version in (1, 2):
        clients.get_metadata_client().register_workflow_def(WorkflowDef(
            name="sig_two_waits", version=version, schema_version=2, timeout_seconds=0,
            tasks=[WorkflowTask(name="first", task_reference_name="first_ref", type="WAIT"),
                   WorkflowTask(name="second", task_reference_name="second_ref", type="WAIT")],
            output_parameters={"first": "${first_ref.output}", "second": "${second_ref.output}"}), overwrite=True)
    # two levels of sub-workflows, a WAIT in each: signalling the outer run goes down to them; the
    # grandchild's HTTP task (the gateway's /healthz) ends in a commit of its own, before its WAIT
    health = WorkflowTask(name="health", task_reference_name="health", type="HTTP",
                          input_parameters={"http_request": {"uri": f"{gateway}/healthz", "method": "GET"}})
    nested = {"sig_inner": [health, WorkflowTask(name="inner", task_reference_name="inner_wait", type="WAIT")],
              "sig_mid": [WorkflowTask(name="mid", task_reference_name="mid_wait", type="WAIT"),
                          sub_workflow("to_inner", "sig_inner")],
              "sig_outer": [sub_workflow("to_mid", "sig_mid")]}
    for name, tasks in nested.items():
        clients.get_metadata_client().register_workflow_def(
            WorkflowDef(name=name, version=1, schema_version=2, timeout_seconds=0, tasks=tasks), overwrite=True)
    return clients


def sub_workflow(ref: str, name: str) -> WorkflowTask:
    return WorkflowTask(name=ref, task_reference_name=ref, type="SUB_WORKFLOW",
                        sub_workflow_param=SubWorkflowParams(name=name, version=1))


def start(clients: OrkesClients, version: int = 1) -> str:
    return clients.get_workflow_client().start_workflow(StartWorkflowRequest(name="sig_two_waits", version=version))


def test_update_by_ref_name_then_sync(clients: OrkesClients) -> None:
    workflow_id = start(clients)
    tasks = clients.get_task_client()
    task_id = tasks.update_task_by_ref_name(workflow_id, "first_ref", "COMPLETED", {"approved": True})
    wf = clients.get_workflow_client().get_workflow(workflow_id, include_tasks=True)
    first = next(t for t in wf.tasks if t.reference_task_name == "first_ref")
    assert task_id == first.task_id and first.status == "COMPLETED"
    assert first.output_data == {"result": {"approved": True}}  # the SDK wraps the output in "result"

    done = tasks.update_task_sync(workflow_id, "second_ref", "COMPLETED", {"n": 2})
    assert done.status == "COMPLETED"
    assert done.output == {"first": {"result": {"approved": True}}, "second": {"n": 2}}  # sync sends it as is

    with pytest.raises(ApiException) as err:
        tasks.update_task_sync(workflow_id, "second_ref", "COMPLETED", {})
    assert err.value.status == 404
    assert f"Found no running task second_ref of workflow {workflow_id} to update" in err.value.body


def test_update_by_ref_name_with_nothing_pending_is_an_empty_200(gateway: str, clients: OrkesClients) -> None:
    workflow_id = start(clients)
    got = httpx.post(f"{gateway}/api/tasks/{workflow_id}/no_such_ref/COMPLETED", json={})
    assert got.status_code == 200 and got.text == ""
    bad = httpx.post(f"{gateway}/api/tasks/{workflow_id}/first_ref/DONE", json={})
    assert bad.status_code == 400


def test_signal_sync_answers_when_the_workflow_blocks_again_and_async_finishes_it(
        config: Configuration, clients: OrkesClients) -> None:
    workflow_id = start(clients)
    executor = WorkflowExecutor(config)
    run = executor.signal(workflow_id, "COMPLETED", {"v": 1})
    assert run.target_workflow_id == workflow_id
    assert run.status == "RUNNING"  # blocked again, at second_ref
    assert run.response_type == "TARGET_WORKFLOW"

    finished = executor.signal(workflow_id, "COMPLETED", {"v": 2}, return_strategy="BLOCKING_WORKFLOW")
    assert finished.target_workflow_status == "COMPLETED" and finished.workflow_id == workflow_id
    assert finished.output == {"first": {"v": 1}, "second": {"v": 2}}

    with pytest.raises(ApiException) as err:
        executor.signal(workflow_id, "COMPLETED", {})
    assert err.value.status == 404
    assert f"Found no blocked task in workflow {workflow_id} to signal" in err.value.body

    other = start(clients)
    executor.signal_async(other, "COMPLETED", {"v": 3})
    executor.signal_async(other, "FAILED", {"v": 4})
    failed = wait_status(clients, other, "FAILED")
    assert [t.status for t in failed.tasks] == ["COMPLETED", "FAILED"]


def test_signal_sync_answers_the_task_a_grandchild_blocks_on(config: Configuration, clients: OrkesClients) -> None:
    """conductor-python's own signal scenarios: the signal completes the WAIT in the child, the run
    goes on into a grandchild and blocks on its WAIT -- the answer (BLOCKING_TASK) is that task, not
    the bare target the wait answers when nothing woke it before timeoutMillis ran out."""
    outer = clients.get_workflow_client().start_workflow(StartWorkflowRequest(name="sig_outer", version=1))
    mid = wait_task(clients, outer, "to_mid", "IN_PROGRESS").sub_workflow_id
    wait_task(clients, mid, "mid_wait", "IN_PROGRESS")

    run = WorkflowExecutor(config).signal(outer, "COMPLETED", {"ok": 1}, return_strategy="BLOCKING_TASK")
    inner = wait_task(clients, mid, "to_inner", "IN_PROGRESS").sub_workflow_id
    assert run.response_type == "BLOCKING_TASK" and run.target_workflow_id == outer
    assert (run.reference_task_name, run.task_type, run.status.value) == ("inner_wait", "WAIT", "IN_PROGRESS")
    assert run.workflow_id == inner and run.task_id is not None


def wait_task(clients: OrkesClients, workflow_id: str, ref: str, status: str) -> Task:
    """The task ``ref`` of the workflow once it has ``status`` (sub-workflows start asynchronously)."""
    wc = clients.get_workflow_client()
    deadline = time.monotonic() + 20
    while True:
        tasks = [t for t in wc.get_workflow(workflow_id, include_tasks=True).tasks if t.reference_task_name == ref]
        if tasks and tasks[-1].status == status and (tasks[-1].task_type != "SUB_WORKFLOW" or tasks[-1].sub_workflow_id):
            return tasks[-1]
        assert time.monotonic() < deadline, f"{ref} of {workflow_id} never got {status}: {tasks}"
        time.sleep(0.05)


def test_running_ids_names_versions_and_terminate_remove(gateway: str, clients: OrkesClients) -> None:
    http = httpx.Client(base_url=gateway)
    v1, v2 = start(clients, 1), start(clients, 2)
    assert v1 in http.get("/api/workflow/running/sig_two_waits").json()
    assert v2 not in http.get("/api/workflow/running/sig_two_waits").json()
    assert v2 in http.get("/api/workflow/running/sig_two_waits", params={"version": 2}).json()

    versions = http.get("/api/metadata/workflow/sig_two_waits/versions").json()
    assert [(v["name"], v["version"]) for v in versions] == [("sig_two_waits", 1), ("sig_two_waits", 2)]
    assert [v["version"] for v in http.get("/api/metadata/workflow/names-and-versions").json()["sig_two_waits"]] == [1, 2]
    assert "sig_two_waits" in http.get("/api/metadata/workflow/names").json()
    latest = [d for d in http.get("/api/metadata/workflow/latest-versions").json() if d["name"] == "sig_two_waits"]
    assert [d["version"] for d in latest] == [2]
    assert http.get("/api/metadata/workflow/nothing_here/versions").json() == []

    gone = http.delete(f"/api/workflow/{v1}/terminate-remove", params={"reason": "cleanup"})
    assert gone.status_code == 200, gone.text
    assert http.get(f"/api/workflow/{v1}").status_code == 404
    assert v1 not in http.get("/api/workflow/running/sig_two_waits").json()


def test_running_ids_are_every_running_run_oldest_first_or_any_created_in_a_range(clients: OrkesClients) -> None:
    """WorkflowResourceApi.get_running_workflow: the running runs of one version, each once, oldest first;
    with startTime and endTime, the runs of any status created in that range."""
    wc = clients.get_workflow_client()
    api = wc.workflowResourceApi
    before = set(api.get_running_workflow("sig_two_waits"))
    t0 = int(time.time() * 1000)
    mine = []
    for _ in range(4):
        mine.append(start(clients))
        time.sleep(0.005)  # a later start time for each: the order is by start time
    other_version = start(clients, 2)
    wc.terminate_workflow(mine[1], reason="not this one")
    t1 = int(time.time() * 1000)
    running = [i for i in api.get_running_workflow("sig_two_waits") if i not in before]
    assert running == [mine[0], mine[2], mine[3]]
    assert other_version in api.get_running_workflow("sig_two_waits", version=2)
    assert other_version not in api.get_running_workflow("sig_two_waits")
    created = api.get_running_workflow("sig_two_waits", start_time=t0, end_time=t1)
    assert created == mine  # the terminated one too: a range asks for runs of any status
    assert api.get_running_workflow("sig_two_waits", start_time=t1 + 60_000, end_time=t1 + 120_000) == []
    assert api.get_running_workflow("no_such_workflow") == []


def test_task_log_lines_as_the_sdk_sends_them(clients: OrkesClients) -> None:
    """conductor-python sends the line raw, labelled application/json; the OSS server takes it as text."""
    workflow_id = start(clients)
    task_id = clients.get_workflow_client().get_workflow(workflow_id, include_tasks=True).tasks[0].task_id
    tasks = clients.get_task_client()
    tasks.add_task_log(task_id, "processing item 3")
    tasks.add_task_log(task_id, "done")
    assert [entry.log for entry in tasks.get_task_logs(task_id)] == ["processing item 3", "done"]


def test_workflow_tasks_paged_and_decide(gateway: str, clients: OrkesClients) -> None:
    http = httpx.Client(base_url=gateway)
    workflow_id = start(clients)
    clients.get_task_client().update_task_by_ref_name(workflow_id, "first_ref", "COMPLETED", {})
    page = http.get(f"/api/workflow/{workflow_id}/tasks", params={"start": 0, "count": 1}).json()
    assert page["totalHits"] == 2 and [t["referenceTaskName"] for t in page["results"]] == ["first_ref"]
    done = http.get(f"/api/workflow/{workflow_id}/tasks", params={"status": "completed"}).json()
    assert done["totalHits"] == 1 and done["results"][0]["status"] == "COMPLETED"
    assert http.get(f"/api/workflow/{workflow_id}/tasks", params={"start": 5}).json() == {"totalHits": 2, "results": []}
    assert http.put(f"/api/workflow/decide/{workflow_id}").status_code == 200
    unknown = http.put("/api/workflow/decide/no-such-id")
    assert unknown.status_code == 404 and unknown.json()["message"] == "No such workflow found by id: no-such-id"
