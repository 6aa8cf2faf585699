"""Acceptance with conductor-python 2.0.0: the OSS server's own system tasks a team migrating from it
uses -- HUMAN, LAMBDA, START_WORKFLOW, EVENT, EXCLUSIVE_JOIN, DYNAMIC -- register, run and read back as
the OSS server runs them.  Definitions are built with the SDK's workflow and task classes (HumanTask,
StartWorkflowTask, ConductorEventTask ...), runs are started and tasks updated with its clients."""

from __future__ import annotations

import time
from typing import Any

import pytest
from conductor.client.http.models import StartWorkflowRequest, TaskDef, TaskResult, Workflow
from conductor.client.http.models.workflow_def import WorkflowDef
from conductor.client.http.models.workflow_task import WorkflowTask
from conductor.client.http.rest import ApiException
from conductor.client.orkes_clients import OrkesClients
from conductor.client.workflow.conductor_workflow import ConductorWorkflow
from conductor.client.workflow.executor.workflow_executor import WorkflowExecutor
from conductor.client.workflow.task.dynamic_task import DynamicTask
from conductor.client.workflow.task.event_task import ConductorEventTask, SqsEventTask
from conductor.client.workflow.task.human_task import HumanTask
from conductor.client.workflow.task.set_variable_task import SetVariableTask
from conductor.client.workflow.task.start_workflow_task import StartWorkflowTask
from conductor.client.workflow.task.task import TaskInterface
from conductor.client.workflow.task.task_type import TaskType

from tests.conductor.sdk_support import wait_status


def by_ref(wf: Workflow) -> dict[str, Any]:
    return {t.reference_task_name: t for t in wf.tasks}


def wait_task(clients: OrkesClients, workflow_id: str, ref: str, status: str) -> Workflow:
    """The workflow once its task ``ref`` is listed with ``status``."""
    wc = clients.get_workflow_client()
    deadline = time.monotonic() + 20
    while True:
        wf = wc.get_workflow(workflow_id, include_tasks=True)
        task = by_ref(wf).get(ref)
        if task is not None and task.status == status:
            return wf
        assert time.monotonic() < deadline, [(t.reference_task_name, t.status) for t in wf.tasks]
        time.sleep(0.05)


# -- HUMAN -------------------------------------------------------------------------------------------
def human_flow(executor: WorkflowExecutor) -> ConductorWorkflow:
    review = HumanTask("review_ref", display_name="Review the order")
    review.input_parameters["order"] = "${workflow.input.order}"
    after = SetVariableTask("after_ref")
    after.input_parameters["verdict"] = "${review_ref.output.verdict}"
    wf = ConductorWorkflow(executor=executor, name="oss_human", version=1).add(review).add(after)
    wf.output_parameters({"verdict": "${review_ref.output.verdict}"})
    return wf


def test_a_human_task_waits_in_progress_until_a_task_update_completes_it(
        clients: OrkesClients, executor: WorkflowExecutor) -> None:
    human_flow(executor).register(overwrite=True)
    wc, tc = clients.get_workflow_client(), clients.get_task_client()
    wid = wc.start_workflow_by_name("oss_human", {"order": "A-1"}, version=1)
    wf = wait_task(clients, wid, "review_ref", "IN_PROGRESS")
    review = by_ref(wf)["review_ref"]
    assert wf.status == "RUNNING" and [t.reference_task_name for t in wf.tasks] == ["review_ref"]
    assert (review.task_type, review.task_def_name, review.workflow_task.type) == ("HUMAN", "review_ref", "HUMAN")
    assert review.input_data["order"] == "A-1"
    assert review.input_data["__humanTaskDefinition"]["displayName"] == "Review the order"
    assert review.start_time > 0 and review.worker_id is None
    polled = tc.poll_task("HUMAN", worker_id="not-a-human")  # a system task: no worker polls it
    assert polled is None or polled.task_id is None
    tc.update_task(TaskResult(workflow_instance_id=wid, task_id=review.task_id, status="COMPLETED",
                              output_data={"verdict": "approved"}))
    done = wait_status(clients, wid, "COMPLETED")
    assert done.output == {"verdict": "approved"} and done.variables == {"verdict": "approved"}
    assert by_ref(done)["review_ref"].status == "COMPLETED"
    assert by_ref(done)["review_ref"].output_data == {"verdict": "approved"}


def test_a_human_task_failed_by_reference_name_fails_the_run(clients: OrkesClients,
                                                             executor: WorkflowExecutor) -> None:
    human_flow(executor).register(overwrite=True)
    wc, tc = clients.get_workflow_client(), clients.get_task_client()
    wid = wc.start_workflow_by_name("oss_human", {"order": "A-2"}, version=1)
    wait_task(clients, wid, "review_ref", "IN_PROGRESS")
    tc.update_task_by_ref_name(wid, "review_ref", "FAILED", {"verdict": "rejected"})
    failed = wait_status(clients, wid, "FAILED")
    review = by_ref(failed)["review_ref"]
    # the SDK sends its output as {"result": output}, which the OSS server takes as the task's output
    assert review.status == "FAILED" and review.output_data == {"result": {"verdict": "rejected"}}
    assert set(failed.failed_reference_task_names) == {"review_ref"}
    assert "after_ref" not in by_ref(failed)


def test_a_human_task_is_canceled_when_its_run_is_terminated(clients: OrkesClients,
                                                             executor: WorkflowExecutor) -> None:
    human_flow(executor).register(overwrite=True)
    wc = clients.get_workflow_client()
    wid = wc.start_workflow_by_name("oss_human", {"order": "A-3"}, version=1)
    wait_task(clients, wid, "review_ref", "IN_PROGRESS")
    wc.terminate_workflow(wid, reason="order withdrawn")
    ended = wait_status(clients, wid, "TERMINATED")
    assert by_ref(ended)["review_ref"].status == "CANCELED"


# -- LAMBDA ------------------------------------------------------------------------------------------
def lambda_task(ref: str, script: str, **inputs: Any) -> TaskInterface:
    """The SDK has no class of its own for the (deprecated) LAMBDA type: its TaskInterface names it."""
    return TaskInterface(task_reference_name=ref, task_type=TaskType.LAMBDA,
                         input_parameters={"scriptExpression": script, **inputs})


def test_a_lambda_task_returns_its_script_value_as_result(clients: OrkesClients, executor: WorkflowExecutor) -> None:
    # the OSS Lambda task's own example: the script is a function body reading ``$`` (the task input)
    check = lambda_task("check_ref", "if ($.input.a==1){return {testvalue: true}} else{return {testvalue: false} }",
                        input="${workflow.input}")
    count = lambda_task("count_ref", "var n = 0; for (var k in $.input) { n++; } return n * $.factor;",
                        input="${workflow.input}", factor=10)
    wf = ConductorWorkflow(executor=executor, name="oss_lambda", version=1).add(check).add(count)
    wf.output_parameters({"flag": "${check_ref.output.result.testvalue}", "n": "${count_ref.output.result}"})
    wf.register(overwrite=True)
    wc = clients.get_workflow_client()
    done = wait_status(clients, wc.start_workflow_by_name("oss_lambda", {"a": 1, "b": 2}, version=1), "COMPLETED")
    assert done.output == {"flag": True, "n": 20}
    first = by_ref(done)["check_ref"]
    assert (first.task_type, first.status, first.workflow_task.type) == ("LAMBDA", "COMPLETED", "LAMBDA")
    assert first.output_data == {"result": {"testvalue": True}}
    assert first.input_data == {"scriptExpression": check.input_parameters["scriptExpression"],
                                "input": {"a": 1, "b": 2}}
    other = wait_status(clients, wc.start_workflow_by_name("oss_lambda", {"a": 2}, version=1), "COMPLETED")
    assert other.output == {"flag": False, "n": 10}


def test_a_lambda_script_error_fails_its_task_with_the_error(clients: OrkesClients,
                                                             executor: WorkflowExecutor) -> None:
    broken = lambda_task("broken_ref", "return $.input.missing.length;", input="${workflow.input}")
    ConductorWorkflow(executor=executor, name="oss_lambda_error", version=1).add(broken).register(overwrite=True)
    wid = clients.get_workflow_client().start_workflow_by_name("oss_lambda_error", {"a": 1}, version=1)
    failed = wait_status(clients, wid, "FAILED")
    task = by_ref(failed)["broken_ref"]
    assert task.status == "FAILED" and task.task_type == "LAMBDA"
    assert task.reason_for_incompletion == "TypeError: cannot read property 'length' of undefined"
    assert task.output_data == {"error": task.reason_for_incompletion}


def test_a_lambda_task_without_a_script_registers_and_fails_when_it_runs(clients: OrkesClients,
                                                                          executor: WorkflowExecutor) -> None:
    """The OSS server checks scriptExpression only when the task runs."""
    empty = lambda_task("empty_ref", "${workflow.input.script}")
    ConductorWorkflow(executor=executor, name="oss_lambda_empty", version=1).add(empty).register(overwrite=True)
    wid = clients.get_workflow_client().start_workflow_by_name("oss_lambda_empty", {"script": " "}, version=1)
    task = by_ref(wait_status(clients, wid, "FAILED"))["empty_ref"]
    assert task.status == "FAILED" and task.reason_for_incompletion == (
        "Empty 'scriptExpression' in Lambda task's input parameters. A non-empty String value must be provided.")


# -- START_WORKFLOW ----------------------------------------------------------------------------------
def started_flow(executor: WorkflowExecutor) -> ConductorWorkflow:
    hold = HumanTask("hold_ref")
    hold.input_parameters["order"] = "${workflow.input.order}"
    return ConductorWorkflow(executor=executor, name="oss_started", version=1).add(hold)


def test_a_start_workflow_task_starts_a_run_of_its_own_and_completes_with_its_id(
        clients: OrkesClients, executor: WorkflowExecutor) -> None:
    started_flow(executor).register(overwrite=True)
    start = StartWorkflowTask("start_ref", "oss_started", StartWorkflowRequest(input={"order": "${workflow.input.order}"}),
                              version=1)
    after = SetVariableTask("after_ref")
    after.input_parameters["started"] = "${start_ref.output.workflowId}"
    wf = ConductorWorkflow(executor=executor, name="oss_starter", version=1).add(start).add(after)
    wf.output_parameters({"started": "${start_ref.output.workflowId}"})
    wf.register(overwrite=True)
    wc = clients.get_workflow_client()
    wid = wc.start_workflow(StartWorkflowRequest(name="oss_starter", version=1, input={"order": "B-1"},
                                                 correlation_id="corr-7"))
    done = wait_status(clients, wid, "COMPLETED")  # it does not wait for the run it started
    task = by_ref(done)["start_ref"]
    assert (task.task_type, task.status, task.workflow_task.type) == ("START_WORKFLOW", "COMPLETED", "START_WORKFLOW")
    started_id = task.output_data["workflowId"]
    assert task.output_data == {"workflowId": started_id} and done.output == {"started": started_id}
    assert task.input_data["startWorkflow"]["name"] == "oss_started"
    assert task.input_data["startWorkflow"]["input"] == {"order": "B-1"}
    started = wait_task(clients, started_id, "hold_ref", "IN_PROGRESS")
    assert (started.workflow_name, started.workflow_version, started.status) == ("oss_started", 1, "RUNNING")
    assert started.input == {"order": "B-1"} and started.parent_workflow_id is None
    assert started.correlation_id == "corr-7"  # the starting run's, as its request named none
    assert by_ref(started)["hold_ref"].input_data["order"] == "B-1"
    clients.get_task_client().update_task_by_ref_name(started_id, "hold_ref", "COMPLETED", {})
    assert wait_status(clients, started_id, "COMPLETED").status == "COMPLETED"
    assert wc.get_workflow(wid, include_tasks=False).status == "COMPLETED"


def test_a_start_workflow_task_naming_an_unknown_workflow_fails(clients: OrkesClients,
                                                                executor: WorkflowExecutor) -> None:
    start = StartWorkflowTask("start_ref", "oss_nowhere", StartWorkflowRequest(input={}))
    ConductorWorkflow(executor=executor, name="oss_start_unknown", version=1).add(start).register(overwrite=True)
    wid = clients.get_workflow_client().start_workflow_by_name("oss_start_unknown", {}, version=1)
    failed = wait_status(clients, wid, "FAILED")
    task = by_ref(failed)["start_ref"]
    assert task.status == "FAILED" and task.task_type == "START_WORKFLOW"
    assert task.reason_for_incompletion == "No such workflow defined. name=oss_nowhere, version=null"
    assert failed.reason_for_incompletion == (f"Task {task.task_id} failed with status: FAILED and reason: "
                                              "'No such workflow defined. name=oss_nowhere, version=null'")


@pytest.mark.parametrize("start_input,reason", [
    ({}, "Missing 'startWorkflow' in input data."),
    ({"startWorkflow": {"version": 1}},
     "startWorkflow validation failed. 'name' -> Workflow name cannot be null or empty. "),
    ({"startWorkflow": {"name": "oss_started", "priority": 100}},
     "startWorkflow validation failed. 'priority' -> priority: 100 should be maximum 99. "),
    ({"startWorkflow": {"name": "oss_started", "input": None}}, "NULL input passed when starting workflow"),
    ({"startWorkflow": {"name": "oss_started", "idempotencyKey": "k", "idempotencyStrategy": "SOMETIMES"}},
     "Error reading StartWorkflowRequest. 'idempotencyStrategy': \"SOMETIMES\" is not one of the values accepted "
     "for Enum class: [FAIL, RETURN_EXISTING, FAIL_ON_RUNNING]"),
    ({"startWorkflow": {"name": "oss_inline", "workflowDef": {"name": "oss_inline", "tasks": []}}},
     "startWorkflow validation failed. 'workflowDef.tasks' -> WorkflowTask list cannot be empty. "),
    ({"startWorkflow": {"name": "oss_inline", "workflowDef": {"tasks": [{"name": "h", "type": "HUMAN"}]}}},
     "startWorkflow validation failed. 'workflowDef.name' -> WorkflowDef name cannot be null or empty. "
     "'workflowDef.tasks[0].taskReferenceName' -> WorkflowTask taskReferenceName name cannot be empty or null. "),
])
def test_a_start_workflow_task_with_a_request_it_cannot_read_fails_with_the_servers_reason(
        clients: OrkesClients, executor: WorkflowExecutor, start_input: dict[str, Any], reason: str) -> None:
    bad = TaskInterface(task_reference_name="start_ref", task_type=TaskType.START_WORKFLOW, input_parameters=start_input)
    ConductorWorkflow(executor=executor, name="oss_start_bad", version=1).add(bad).register(overwrite=True)
    wid = clients.get_workflow_client().start_workflow_by_name("oss_start_bad", {}, version=1)
    task = by_ref(wait_status(clients, wid, "FAILED"))["start_ref"]
    assert task.status == "FAILED" and task.reason_for_incompletion == reason


def _starter(executor: WorkflowExecutor, name: str, start: dict[str, Any]) -> None:
    """A workflow whose one task is a START_WORKFLOW with ``start`` as its startWorkflow input."""
    task = TaskInterface(task_reference_name="start_ref", task_type=TaskType.START_WORKFLOW,
                         input_parameters={"startWorkflow": start})
    ConductorWorkflow(executor=executor, name=name, version=1).add(task).register(overwrite=True)


def _started(clients: OrkesClients, starter: str, run_input: dict[str, Any]) -> tuple[Any, Workflow]:
    """Run ``starter`` to its end; its START_WORKFLOW task and the run that task started."""
    wid = clients.get_workflow_client().start_workflow_by_name(starter, run_input, version=1)
    task = by_ref(wait_status(clients, wid, "COMPLETED"))["start_ref"]
    assert task.status == "COMPLETED" and set(task.output_data) == {"workflowId"}
    return task, wait_task(clients, task.output_data["workflowId"], "hold_ref", "IN_PROGRESS")


def test_a_start_workflow_task_runs_a_workflow_def_given_inline_without_registering_it(
        clients: OrkesClients, executor: WorkflowExecutor) -> None:
    inline = WorkflowDef(name="oss_inline_started", version=3, timeout_seconds=0,
                         output_parameters={"note": "from the inline definition"},
                         tasks=[WorkflowTask(name="hold", task_reference_name="hold_ref", type="HUMAN")])
    _starter(executor, "oss_inline_starter", {
        "name": "oss_inline_started", "input": {"order": "${workflow.input.order}"}, "correlationId": 42,
        "workflowDef": clients.get_metadata_client().api_client.sanitize_for_serialization(inline)})
    task, started = _started(clients, "oss_inline_starter", {"order": "D-1"})
    assert (started.workflow_name, started.workflow_version, started.status) == ("oss_inline_started", 3, "RUNNING")
    assert started.input == {"order": "D-1"} and started.correlation_id == "42"  # Jackson reads 42 as "42"
    assert started.workflow_definition.tasks[0].type == "HUMAN"
    with pytest.raises(ApiException) as unregistered:
        clients.get_metadata_client().get_workflow_def("oss_inline_started", version=3)
    assert unregistered.value.status == 404
    clients.get_task_client().update_task_by_ref_name(started.workflow_id, "hold_ref", "COMPLETED", {})
    done = wait_status(clients, started.workflow_id, "COMPLETED")
    assert done.output == {"note": "from the inline definition"}


def test_an_inline_workflow_def_started_by_a_start_workflow_task_takes_the_registered_taskdefs(
        clients: OrkesClients, executor: WorkflowExecutor) -> None:
    """The OSS WorkflowExecutor fills an inline definition's tasks with the TaskDefs registered under their
    names when the run starts (MetadataMapperService.populateTaskDefinitions): the TaskDef registered after
    the starter retries the inline SIMPLE task and gives its response timeout; a task carrying a
    taskDefinition of its own keeps that one."""
    inline = WorkflowDef(name="oss_inline_ruled", version=1, timeout_seconds=0, tasks=[
        WorkflowTask(name="oss_inline_simple", task_reference_name="own_ref", type="SIMPLE",
                     task_definition=TaskDef(name="oss_inline_simple", retry_count=0, response_timeout_seconds=9)),
        WorkflowTask(name="oss_inline_simple", task_reference_name="work_ref", type="SIMPLE")])
    _starter(executor, "oss_inline_ruled_starter", {
        "name": "oss_inline_ruled",
        "workflowDef": clients.get_metadata_client().api_client.sanitize_for_serialization(inline)})
    clients.get_metadata_client().register_task_def(TaskDef(
        name="oss_inline_simple", retry_count=1, retry_delay_seconds=0, response_timeout_seconds=77))
    wid = clients.get_workflow_client().start_workflow_by_name("oss_inline_ruled_starter", {}, version=1)
    started_id = by_ref(wait_status(clients, wid, "COMPLETED"))["start_ref"].output_data["workflowId"]
    tc = clients.get_task_client()
    own = tc.poll_task("oss_inline_simple", worker_id="inline-worker")
    assert own is not None and own.reference_task_name == "own_ref" and own.response_timeout_seconds == 9
    tc.update_task(TaskResult(workflow_instance_id=started_id, task_id=own.task_id, status="COMPLETED"))
    first = by_ref(wait_task(clients, started_id, "work_ref", "SCHEDULED"))["work_ref"]
    assert first.response_timeout_seconds == 77
    _fail_polled(clients, "oss_inline_simple", started_id)
    wf = wait_task(clients, started_id, "work_ref", "SCHEDULED")  # the registered TaskDef's one retry
    assert [(t.status, t.retry_count) for t in wf.tasks if t.reference_task_name == "work_ref"] == [
        ("FAILED", 0), ("SCHEDULED", 1)]
    _fail_polled(clients, "oss_inline_simple", started_id)
    failed = wait_status(clients, started_id, "FAILED")
    assert [(t.reference_task_name, t.status) for t in failed.tasks] == [
        ("own_ref", "COMPLETED"), ("work_ref", "FAILED"), ("work_ref", "FAILED")]


def test_a_start_workflow_task_naming_no_version_starts_the_latest_and_ignores_idempotency_keys(
        clients: OrkesClients, executor: WorkflowExecutor) -> None:
    """The OSS StartWorkflow task starts through WorkflowExecutor.startWorkflow, which reads neither
    idempotencyKey nor idempotencyStrategy: each run of the task starts a workflow of its own."""
    md = clients.get_metadata_client()
    for version in (1, 2):
        md.register_workflow_def(WorkflowDef(
            name="oss_versioned", version=version, timeout_seconds=0, tasks=[
                WorkflowTask(name="hold", task_reference_name="hold_ref", type="HUMAN",
                             input_parameters={"version": version})]), overwrite=True)
    _starter(executor, "oss_latest_starter", {"name": "oss_versioned", "input": {},
                                              "idempotencyKey": "once-only", "idempotencyStrategy": "FAIL"})
    first_task, first = _started(clients, "oss_latest_starter", {})
    assert first.workflow_version == 2 and by_ref(first)["hold_ref"].input_data == {"version": 2}
    assert first_task.input_data["startWorkflow"]["idempotencyKey"] == "once-only"
    _, second = _started(clients, "oss_latest_starter", {})
    assert second.workflow_id != first.workflow_id and second.status == "RUNNING"


# -- EVENT -------------------------------------------------------------------------------------------
def test_an_event_task_to_a_conductor_sink_completes_with_the_event_it_produced(
        clients: OrkesClients, executor: WorkflowExecutor) -> None:
    notify = ConductorEventTask("notify_ref", "orders")
    notify.input_parameters["order"] = "${workflow.input.order}"
    wf = ConductorWorkflow(executor=executor, name="oss_event", version=1).add(notify)
    wf.output_parameters({"queue": "${notify_ref.output.event_produced}"})
    wf.register(overwrite=True)
    wc = clients.get_workflow_client()
    wid = wc.start_workflow(StartWorkflowRequest(name="oss_event", version=1, input={"order": "C-1"},
                                                 correlation_id="corr-9"))
    done = wait_status(clients, wid, "COMPLETED")
    task = by_ref(done)["notify_ref"]
    assert (task.task_type, task.status, task.workflow_task.sink) == ("EVENT", "COMPLETED", "conductor:orders")
    assert task.input_data == {"order": "C-1", "sink": "conductor:orders", "asyncComplete": False}
    assert task.output_data == {"order": "C-1", "sink": "conductor:orders", "asyncComplete": False,
                                "workflowInstanceId": wid, "workflowType": "oss_event", "workflowVersion": 1,
                                "correlationId": "corr-9", "taskToDomain": {},
                                "event_produced": "conductor:oss_event:orders"}
    assert done.output == {"queue": "conductor:oss_event:orders"}


def test_the_bare_conductor_sink_is_the_queue_of_the_task_and_async_complete_waits(clients: OrkesClients) -> None:
    clients.get_metadata_client().register_workflow_def(WorkflowDef(
        name="oss_event_bare", version=1, timeout_seconds=0, tasks=[
            WorkflowTask(name="announce", task_reference_name="announce_ref", type="EVENT", sink="conductor"),
            WorkflowTask(name="await", task_reference_name="await_ref", type="EVENT", sink="conductor:acks",
                         async_complete=True)]), overwrite=True)
    wc = clients.get_workflow_client()
    wid = wc.start_workflow_by_name("oss_event_bare", {}, version=1)
    wf = wait_task(clients, wid, "await_ref", "IN_PROGRESS")  # published, then held for a task update
    tasks = by_ref(wf)
    assert tasks["announce_ref"].status == "COMPLETED"
    assert tasks["announce_ref"].output_data["event_produced"] == "conductor:oss_event_bare:announce_ref"
    assert tasks["await_ref"].output_data["event_produced"] == "conductor:oss_event_bare:acks"
    assert tasks["await_ref"].input_data["asyncComplete"] is True and wf.status == "RUNNING"
    clients.get_task_client().update_task(TaskResult(workflow_instance_id=wid, task_id=tasks["await_ref"].task_id,
                                                     status="COMPLETED", output_data={"acked": True}))
    done = wait_status(clients, wid, "COMPLETED")
    assert by_ref(done)["await_ref"].output_data == {"acked": True}


def test_an_event_task_to_a_sink_without_a_queue_provider_fails_as_on_the_oss_server(
        clients: OrkesClients, executor: WorkflowExecutor) -> None:
    """An OSS server has a queue provider for sqs, amqp, kafka, nats ... only when it is configured; this
    gateway has none of them, so the task fails as it does on a server without that provider."""
    ConductorWorkflow(executor=executor, name="oss_event_sqs", version=1).add(
        SqsEventTask("sqs_ref", "orders-queue")).register(overwrite=True)
    wid = clients.get_workflow_client().start_workflow_by_name("oss_event_sqs", {}, version=1)
    failed = wait_status(clients, wid, "FAILED")
    task = by_ref(failed)["sqs_ref"]
    assert task.status == "FAILED" and task.task_type == "EVENT"
    assert task.reason_for_incompletion == (f"Error loading queue:sqs:orders-queue, for task:{task.task_id}, "
                                            "error: Unknown queue type sqs")
    assert task.output_data["event_produced"] == "sqs:orders-queue" and task.output_data["workflowInstanceId"] == wid


def _refused_one_task_flow(clients: OrkesClients, name: str, task: str, task_type: str) -> str:
    """The 400 body of registering a workflow of one bare ``task_type`` task (its required fields left out)."""
    with pytest.raises(ApiException) as refused:
        clients.get_metadata_client().register_workflow_def(WorkflowDef(
            name=name, version=1, timeout_seconds=0,
            tasks=[WorkflowTask(name=task, task_reference_name=f"{task}_ref", type=task_type)]), overwrite=True)
    assert refused.value.status == 400
    return str(refused.value.body)


def test_an_event_task_needs_a_sink(clients: OrkesClients) -> None:
    refused = _refused_one_task_flow(clients, "oss_event_nosink", "notify", "EVENT")
    assert "sink field is required for taskType: EVENT taskName: notify" in refused


# -- EXCLUSIVE_JOIN ----------------------------------------------------------------------------------
def _inline(ref: str, expression: str) -> WorkflowTask:
    return WorkflowTask(name=ref, task_reference_name=ref, type="INLINE",
                        input_parameters={"evaluatorType": "javascript", "expression": expression})


@pytest.mark.parametrize("route,picked", [("a", "from a"), ("b", "from b"), ("other", "from the default")])
def test_an_exclusive_join_takes_the_output_of_the_case_that_ran(clients: OrkesClients, route: str,
                                                                 picked: str) -> None:
    clients.get_metadata_client().register_workflow_def(WorkflowDef(
        name="oss_exclusive", version=1, timeout_seconds=0,
        output_parameters={"picked": "${join_ref.output.result}"},
        tasks=[WorkflowTask(name="route", task_reference_name="route_ref", type="SWITCH",
                            evaluator_type="value-param", expression="route",
                            input_parameters={"route": "${workflow.input.route}"},
                            decision_cases={"a": [_inline("a_ref", "'from a'")],
                                            "b": [_inline("b0_ref", "'first'"), _inline("b_ref", "'from b'")]},
                            default_case=[_inline("d_ref", "'from the default'")]),
               WorkflowTask(name="join", task_reference_name="join_ref", type="EXCLUSIVE_JOIN",
                            join_on=["a_ref", "b_ref"], default_exclusive_join_task=["d_ref"])]), overwrite=True)
    wid = clients.get_workflow_client().start_workflow_by_name("oss_exclusive", {"route": route}, version=1)
    done = wait_status(clients, wid, "COMPLETED")
    join = by_ref(done)["join_ref"]
    assert (join.task_type, join.status, join.workflow_task.type) == ("EXCLUSIVE_JOIN", "COMPLETED", "EXCLUSIVE_JOIN")
    assert join.input_data == {"joinOn": ["a_ref", "b_ref"], "defaultExclusiveJoinTask": ["d_ref"]}
    assert join.output_data == {"result": picked} and done.output == {"picked": picked}


def test_an_exclusive_join_none_of_whose_tasks_ran_waits_in_progress_as_on_the_oss_server(
        clients: OrkesClients) -> None:
    """The OSS ExclusiveJoin finds no joinOn (or default) task that ran, so it leaves the join IN_PROGRESS
    and looks again at every decide: the run waits until it is terminated (or times out)."""
    clients.get_metadata_client().register_workflow_def(WorkflowDef(
        name="oss_exclusive_none", version=1, timeout_seconds=0,
        tasks=[WorkflowTask(name="route", task_reference_name="route_ref", type="SWITCH",
                            evaluator_type="value-param", expression="route",
                            input_parameters={"route": "${workflow.input.route}"},
                            decision_cases={"a": [_inline("a_ref", "'from a'")]}),
               WorkflowTask(name="join", task_reference_name="join_ref", type="EXCLUSIVE_JOIN", join_on=["a_ref"])]),
        overwrite=True)
    wc = clients.get_workflow_client()
    wid = wc.start_workflow_by_name("oss_exclusive_none", {"route": "z"}, version=1)
    waiting = wait_task(clients, wid, "join_ref", "IN_PROGRESS")
    join = by_ref(waiting)["join_ref"]
    assert waiting.status == "RUNNING" and join.output_data == {} and join.reason_for_incompletion is None
    assert by_ref(wc.get_workflow(wid, include_tasks=True))["join_ref"].status == "IN_PROGRESS"  # still
    wc.terminate_workflow(wid, reason="no case joined")
    ended = wait_status(clients, wid, "TERMINATED")
    assert by_ref(ended)["join_ref"].status == "CANCELED"


def test_an_exclusive_join_takes_the_output_of_an_optional_task_that_failed(clients: OrkesClients) -> None:
    """An optional task that fails ends COMPLETED_WITH_ERRORS, which the OSS ExclusiveJoin counts as ended
    well: the join completes with that task's output."""
    broken = WorkflowTask(name="broken", task_reference_name="broken_ref", type="INLINE", optional=True,
                          input_parameters={"evaluatorType": "javascript", "expression": "undefinedThing.x"})
    clients.get_metadata_client().register_workflow_def(WorkflowDef(
        name="oss_exclusive_optional", version=1, timeout_seconds=0,
        tasks=[WorkflowTask(name="route", task_reference_name="route_ref", type="SWITCH",
                            evaluator_type="value-param", expression="route",
                            input_parameters={"route": "${workflow.input.route}"},
                            decision_cases={"a": [broken], "b": [_inline("b_ref", "'from b'")]}),
               WorkflowTask(name="join", task_reference_name="join_ref", type="EXCLUSIVE_JOIN",
                            join_on=["broken_ref", "b_ref"])]), overwrite=True)
    wid = clients.get_workflow_client().start_workflow_by_name("oss_exclusive_optional", {"route": "a"}, version=1)
    done = wait_status(clients, wid, "COMPLETED")
    broken_task, join = by_ref(done)["broken_ref"], by_ref(done)["join_ref"]
    assert broken_task.status == "COMPLETED_WITH_ERRORS" and join.status == "COMPLETED"
    assert join.output_data == broken_task.output_data


# -- DYNAMIC -----------------------------------------------------------------------------------------
def test_a_dynamic_task_is_a_worker_task_named_by_its_input_when_scheduled(clients: OrkesClients,
                                                                           executor: WorkflowExecutor) -> None:
    clients.get_metadata_client().register_task_def(TaskDef(name="oss_dyn_pick", retry_count=0))
    dyn = DynamicTask("${workflow.input.task}", "dyn_ref")
    dyn.input_parameters["n"] = "${workflow.input.n}"
    wf = ConductorWorkflow(executor=executor, name="oss_dynamic", version=1).add(dyn)
    wf.output_parameters({"doubled": "${dyn_ref.output.doubled}"})
    wf.register(overwrite=True)
    wc, tc = clients.get_workflow_client(), clients.get_task_client()
    wid = wc.start_workflow_by_name("oss_dynamic", {"task": "oss_dyn_pick", "n": 4}, version=1)
    queued = by_ref(wc.get_workflow(wid, include_tasks=True))["dyn_ref"]
    assert (queued.task_type, queued.task_def_name, queued.status) == ("oss_dyn_pick", "oss_dyn_pick", "SCHEDULED")
    assert queued.workflow_task.type == "DYNAMIC" and queued.workflow_task.dynamic_task_name_param == "taskToExecute"
    polled = tc.poll_task("oss_dyn_pick", worker_id="dyn-worker")
    assert polled is not None and polled.task_id == queued.task_id
    assert polled.input_data == {"taskToExecute": "oss_dyn_pick", "n": 4}
    tc.update_task(TaskResult(workflow_instance_id=wid, task_id=polled.task_id, status="COMPLETED",
                              output_data={"doubled": 8}))
    assert wait_status(clients, wid, "COMPLETED").output == {"doubled": 8}


def test_a_dynamic_task_without_a_name_fails_its_run_and_one_without_its_parameter_is_refused(
        clients: OrkesClients, executor: WorkflowExecutor) -> None:
    """DynamicTaskMapper.getDynamicTaskName throws a TerminateWorkflowException: the run fails with its
    reason (the parameter and the task's input as Java writes the map) and the task is never made."""
    before = SetVariableTask("before_ref")
    before.input_parameters["seen"] = True
    dyn = DynamicTask("${workflow.input.task}", "dyn_ref")
    dyn.input_parameters.update({"n": "${workflow.input.n}", "tags": ["a", None], "when": {"at": 1.5}})
    ConductorWorkflow(executor=executor, name="oss_dynamic_unnamed", version=1).add(before).add(dyn).register(
        overwrite=True)
    wid = clients.get_workflow_client().start_workflow_by_name("oss_dynamic_unnamed", {"n": 4}, version=1)
    failed = wait_status(clients, wid, "FAILED")
    assert failed.reason_for_incompletion == (
        "Cannot map a dynamic task based on the parameter and input. Parameter= taskToExecute, "
        "input= {taskToExecute=null, when={at=1.5}, n=4, tags=[a, null]}")
    assert [(t.reference_task_name, t.status) for t in failed.tasks] == [("before_ref", "COMPLETED")]
    refused = _refused_one_task_flow(clients, "oss_dynamic_bad", "pick", "DYNAMIC")
    assert "dynamicTaskNameParam field is required for taskType: DYNAMIC taskName: pick" in refused


def _dynamic_flow(executor: WorkflowExecutor, name: str) -> None:
    dyn = DynamicTask("${workflow.input.task}", "dyn_ref")
    ConductorWorkflow(executor=executor, name=name, version=1).add(dyn).register(overwrite=True)


def _fail_polled(clients: OrkesClients, task_type: str, wid: str) -> Any:
    tc = clients.get_task_client()
    polled = tc.poll_task(task_type, worker_id="dyn-worker")
    assert polled is not None and polled.task_id is not None and polled.workflow_instance_id == wid
    tc.update_task(TaskResult(workflow_instance_id=wid, task_id=polled.task_id, status="FAILED",
                              reason_for_incompletion="worker gave up"))
    return polled


def test_a_dynamic_task_runs_with_the_taskdef_of_the_name_it_resolves_to(
        clients: OrkesClients, executor: WorkflowExecutor) -> None:
    """The workflow is registered before either TaskDef: the OSS DynamicTaskMapper looks the TaskDef of the
    resolved name up when it schedules the task, so each run retries as its name's TaskDef says."""
    _dynamic_flow(executor, "oss_dynamic_rules")
    md = clients.get_metadata_client()
    md.register_task_def(TaskDef(name="oss_dyn_retried", retry_count=1, retry_delay_seconds=0))
    md.register_task_def(TaskDef(name="oss_dyn_once", retry_count=0, retry_delay_seconds=0))
    wc = clients.get_workflow_client()

    retried = wc.start_workflow_by_name("oss_dynamic_rules", {"task": "oss_dyn_retried"}, version=1)
    first = _fail_polled(clients, "oss_dyn_retried", retried)
    wf = wait_task(clients, retried, "dyn_ref", "SCHEDULED")  # the TaskDef's one retry
    again = [t for t in wf.tasks if t.reference_task_name == "dyn_ref"]
    assert [(t.status, t.retry_count, t.task_def_name) for t in again] == [
        ("FAILED", 0, "oss_dyn_retried"), ("SCHEDULED", 1, "oss_dyn_retried")]
    assert again[0].task_id == first.task_id and again[1].retried_task_id == first.task_id
    _fail_polled(clients, "oss_dyn_retried", retried)
    assert len(wait_status(clients, retried, "FAILED").tasks) == 2

    once = wc.start_workflow_by_name("oss_dynamic_rules", {"task": "oss_dyn_once"}, version=1)
    _fail_polled(clients, "oss_dyn_once", once)
    failed = wait_status(clients, once, "FAILED")
    assert [(t.status, t.task_type) for t in failed.tasks] == [("FAILED", "oss_dyn_once")]


def test_a_dynamic_task_shows_the_response_timeout_of_the_taskdef_it_resolved_to(
        clients: OrkesClients, executor: WorkflowExecutor) -> None:
    """The OSS DynamicTaskMapper copies the resolved TaskDef's responseTimeoutSeconds onto the task and no
    rate limit (a SIMPLE task's mapper copies both): the run's task, the task by id and the polled task say so."""
    _dynamic_flow(executor, "oss_dynamic_shown")
    clients.get_metadata_client().register_task_def(TaskDef(
        name="oss_dyn_shown", response_timeout_seconds=45, rate_limit_per_frequency=5,
        rate_limit_frequency_in_seconds=10))
    wid = clients.get_workflow_client().start_workflow_by_name("oss_dynamic_shown", {"task": "oss_dyn_shown"},
                                                               version=1)
    queued = by_ref(wait_task(clients, wid, "dyn_ref", "SCHEDULED"))["dyn_ref"]
    tc = clients.get_task_client()
    for task in (queued, tc.get_task(queued.task_id), tc.poll_task("oss_dyn_shown", worker_id="dyn-worker")):
        assert task is not None and task.task_id == queued.task_id and task.task_def_name == "oss_dyn_shown"
        assert (task.response_timeout_seconds, task.rate_limit_per_frequency,
                task.rate_limit_frequency_in_seconds) == (45, 0, 0)


def test_a_dynamic_task_whose_name_has_no_taskdef_fails_the_run(clients: OrkesClients,
                                                               executor: WorkflowExecutor) -> None:
    """DynamicTaskMapper.getDynamicTaskDefinition throws a TerminateWorkflowException: the run fails with
    its reason and the task is never made (nor queued)."""
    _dynamic_flow(executor, "oss_dynamic_unknown")
    wid = clients.get_workflow_client().start_workflow_by_name("oss_dynamic_unknown", {"task": "oss_dyn_nowhere"},
                                                               version=1)
    failed = wait_status(clients, wid, "FAILED")
    assert failed.reason_for_incompletion == (
        "Invalid task specified.  Cannot find task by name oss_dyn_nowhere in the task definitions")
    assert failed.tasks == []
    polled = clients.get_task_client().poll_task("oss_dyn_nowhere", worker_id="dyn-worker")
    assert polled is None or polled.task_id is None  # never queued
