"""Acceptance: synchronous execute (``POST /api/workflow/execute/{name}/{version}``) through the
unmodified conductor-python 2.0.0 -- ``WorkflowExecutor.execute`` with a real worker process,
``ConductorWorkflow.execute`` with an inline definition -- and on PostgreSQL with two gateway
replicas, where a worker of the *other* replica completes the workflow and the waiting call sees it.

No test here measures time: a wait that is not woken answers ``signalTimeout: true`` with the
workflow still RUNNING, which is what the assertions would catch.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from conductor.client.configuration.configuration import Configuration
from conductor.client.http.api.workflow_resource_api import WorkflowResourceApi
from conductor.client.http.api_client import ApiClient
from conductor.client.http.models import TaskDef
from conductor.client.http.models.workflow_def import WorkflowDef
from conductor.client.http.models.workflow_task import WorkflowTask
from conductor.client.http.rest import ApiException
from conductor.client.orkes_clients import OrkesClients
from conductor.client.workflow.conductor_workflow import ConductorWorkflow
from conductor.client.workflow.executor.workflow_executor import WorkflowExecutor
from conductor.client.workflow.task.set_variable_task import SetVariableTask

from tests.conductor.sdk_support import worker_processes
from tests.conductor.workers import flaky
from tests.engine.pg import PG_DSN, create_schema, drop_schema
from tests.support.server import RunningGateway, run_gateway

ONLY_CONDUCTOR = {"cognite": {"enabled": False}, "altostrat": {"enabled": False}}





def register(clients: OrkesClients, name: str, tasks: list[WorkflowTask]) -> None:
    outputs = {"result": "${last_ref.output.seen}"} if any(t.task_reference_name == "last_ref" for t in tasks) else {}
    clients.get_metadata_client().register_workflow_def(
        WorkflowDef(name=name, version=1, tasks=tasks, schema_version=2, timeout_seconds=0,
                    output_parameters=outputs), overwrite=True)


def simple(ref: str) -> WorkflowTask:
    return WorkflowTask(name="sx_work", task_reference_name=ref, type="SIMPLE", input_parameters={"n": "${workflow.input.n}"})


def test_workflow_executor_execute_answers_the_completed_run(config: Configuration, clients: OrkesClients) -> None:
    register(clients, "sx_two_steps", [simple("first_ref"), simple("last_ref")])
    executor = WorkflowExecutor(config)
    with worker_processes(config, clients, "sx_work", flaky):
        run = executor.execute("sx_two_steps", version=1, workflow_input={"n": 7}, wait_for_seconds=60,
                               request_id="req-7")
    assert run.status == "COMPLETED"
    assert run.output == {"result": {"n": 7}}
    assert run.request_id == "req-7"
    assert [t.reference_task_name for t in run.tasks] == ["first_ref", "last_ref"]
    assert clients.get_workflow_client().get_workflow(run.workflow_id, include_tasks=False).status == "COMPLETED"


def test_conductor_workflow_execute_runs_an_inline_definition(config: Configuration) -> None:
    workflow = ConductorWorkflow(executor=WorkflowExecutor(config), name="sx_inline", version=1)
    remember = SetVariableTask(task_ref_name="set_ref")
    remember.input_parameters = {"seen": "${workflow.input.who}"}
    workflow.add(remember)
    workflow.output_parameters({"who": "${workflow.input.who}"})
    run = workflow.execute(workflow_input={"who": "ada"}, wait_for_seconds=30)
    assert run.status == "COMPLETED"
    assert run.output == {"who": "ada"}
    assert run.variables == {"seen": "ada"}


def test_wait_until_task_ref_answers_when_that_task_is_done(config: Configuration, clients: OrkesClients,
                                                            gateway: str) -> None:
    register(clients, "sx_then_wait", [simple("last_ref"), WorkflowTask(name="hold", task_reference_name="hold_ref",
                                                                        type="WAIT")])
    with worker_processes(config, clients, "sx_work", flaky):
        run = WorkflowExecutor(config).execute("sx_then_wait", version=1, workflow_input={"n": 1},
                                               wait_until_task_ref="last_ref", wait_for_seconds=60)
    assert run.status == "RUNNING"  # the untimed WAIT holds the workflow; the named task is done
    assert {t.reference_task_name: t.status for t in run.tasks}["last_ref"] == "COMPLETED"


def test_an_untimed_wait_blocks_and_blocking_task_answers_a_task_run(gateway: str, clients: OrkesClients) -> None:
    register(clients, "sx_wait_only", [WorkflowTask(name="hold", task_reference_name="hold_ref", type="WAIT")])
    got = httpx.post(f"{gateway}/api/workflow/execute/sx_wait_only/1",
                     params={"returnStrategy": "BLOCKING_TASK", "waitForSeconds": 60}, json={"name": "sx_wait_only"})
    assert got.status_code == 200, got.text
    run = got.json()
    assert run["referenceTaskName"] == "hold_ref" and run["taskType"] == "WAIT" and run["status"] == "IN_PROGRESS"
    assert run["targetWorkflowStatus"] == "RUNNING" and run["signalTimeout"] is False
    assert run["responseType"] == "BLOCKING_TASK"


def test_a_wait_that_runs_out_answers_the_running_workflow(gateway: str, clients: OrkesClients) -> None:
    clients.get_metadata_client().register_task_def(TaskDef(name="sx_nobody", retry_count=0, timeout_seconds=60,
                                                                response_timeout_seconds=30))
    register(clients, "sx_no_worker", [WorkflowTask(name="sx_nobody", task_reference_name="last_ref", type="SIMPLE")])
    got = httpx.post(f"{gateway}/api/workflow/execute/sx_no_worker/0", params={"waitForSeconds": 1},
                     json={"name": "sx_no_worker"})
    run = got.json()
    assert got.status_code == 200 and run["status"] == "RUNNING" and run["signalTimeout"] is True
    assert run["targetWorkflowId"] == run["workflowId"]
    assert httpx.get(f"{gateway}/api/workflow/{run['workflowId']}").json()["status"] == "RUNNING"  # it runs on


def test_unknown_workflow_is_conductors_404(config: Configuration) -> None:
    with pytest.raises(ApiException) as err:
        WorkflowExecutor(config).execute("sx_nothing_here", version=3)
    assert err.value.status == 404
    assert "No such workflow defined. name=sx_nothing_here, version=3" in err.value.body


def test_execute_as_api_runs_the_latest_version_and_answers_its_output(config: Configuration,
                                                                      clients: OrkesClients, gateway: str) -> None:
    for version in (1, 2):
        remember = WorkflowTask(name="remember", task_reference_name="set_ref", type="SET_VARIABLE",
                                input_parameters={"seen": "${workflow.input.who}"})
        clients.get_metadata_client().register_workflow_def(WorkflowDef(
            name="sx_api", version=version, tasks=[remember], schema_version=2, timeout_seconds=0,
            output_parameters={"version": version, "who": "${workflow.input.who}"}), overwrite=True)
    api = WorkflowResourceApi(ApiClient(config))
    # conductor-python sends these as headers: an int waitForSeconds fails in httpx before it is sent
    assert api.execute_workflow_as_api({"who": "ada"}, "sx_api", wait_for_seconds="30") == {"version": 2, "who": "ada"}
    assert api.execute_workflow_as_api({"who": "bo"}, "sx_api", version=1) == {"version": 1, "who": "bo"}

    register(clients, "sx_api_hold", [WorkflowTask(name="hold", task_reference_name="hold_ref", type="WAIT")])
    held = httpx.post(f"{gateway}/api/workflow/execute/sx_api_hold", headers={"waitForSeconds": "30"}, json={})
    assert held.status_code == 206 and held.json() == {}  # blocked by the untimed WAIT: incomplete
    unknown = httpx.post(f"{gateway}/api/workflow/execute/sx_api_nothing", json={})
    assert unknown.status_code == 404 and "sx_api_nothing" in unknown.json()["message"]
    bad = httpx.post(f"{gateway}/api/workflow/execute/sx_api", headers={"waitForSeconds": "soon"}, json={})
    assert bad.status_code == 400


# -- two replicas on one PostgreSQL database -------------------------------------------------------

@pytest.fixture
def replicas(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[RunningGateway, RunningGateway]]:
    schema = create_schema()
    store = {"kind": "postgres", "dsn": PG_DSN, "schema": schema}
    try:
        with run_gateway(tmp_path_factory.mktemp("replica-a"), dialects=ONLY_CONDUCTOR, store=store) as a, \
                run_gateway(tmp_path_factory.mktemp("replica-b"), dialects=ONLY_CONDUCTOR, store=store) as b:
            yield a, b
    finally:
        drop_schema(schema)


@pytest.mark.postgres
def test_the_waiting_replica_sees_another_replica_complete_the_workflow(
        replicas: tuple[RunningGateway, RunningGateway]) -> None:
    a, b = replicas
    definition: dict[str, Any] = {"name": "sx_pg", "version": 1, "schemaVersion": 2, "timeoutSeconds": 0,
                                  "tasks": [{"name": "sx_pg_work", "taskReferenceName": "w_ref", "type": "SIMPLE"}]}
    assert httpx.post(f"{a.url}/api/metadata/workflow", json=definition).status_code == 200
    answer: dict[str, Any] = {}

    def execute() -> None:
        answer["response"] = httpx.post(f"{a.url}/api/workflow/execute/sx_pg/1", params={"waitForSeconds": 120},
                                        json={"name": "sx_pg", "input": {"k": 1}}, timeout=150)

    caller = threading.Thread(target=execute)
    caller.start()
    polled = None
    for _ in range(600):  # replica B's worker: long polls (5 s at most each) until the task is there
        got = httpx.get(f"{b.url}/api/tasks/poll/batch/sx_pg_work", params={"timeout": 500, "workerid": "b"})
        if got.status_code == 200 and got.json():
            polled = got.json()[0]
            break
    assert polled is not None, "replica B never saw the task"
    done = httpx.post(f"{b.url}/api/tasks", json={"workflowInstanceId": polled["workflowInstanceId"],
                                                  "taskId": polled["taskId"], "status": "COMPLETED",
                                                  "outputData": {"by": "b"}})
    assert done.status_code == 200, done.text
    caller.join(timeout=150)
    run = answer["response"].json()
    assert run["status"] == "COMPLETED", run
    assert run["signalTimeout"] is False  # woken by B's commit, not by the 120 s running out
    assert run["tasks"][0]["outputData"] == {"by": "b"}
