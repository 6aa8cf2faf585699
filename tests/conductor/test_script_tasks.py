"""Acceptance: INLINE, javascript SWITCH and JSON_JQ_TRANSFORM built with conductor-python's workflow
builder (ConductorWorkflow, InlineTask, SwitchTask, JsonJQTask) and run on the gateway's engine.

A real SDK worker process completes the SIMPLE task that the scripts feed; a script error or a runaway
script fails its task with the JS error, and rerun / retry repair the run as Conductor does.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from conductor.client.configuration.configuration import Configuration
from conductor.client.http.models import RerunWorkflowRequest, Workflow
from conductor.client.orkes_clients import OrkesClients
from conductor.client.workflow.conductor_workflow import ConductorWorkflow
from conductor.client.workflow.executor.workflow_executor import WorkflowExecutor
from conductor.client.workflow.task.inline import InlineTask
from conductor.client.workflow.task.json_jq_task import JsonJQTask
from conductor.client.workflow.task.simple_task import SimpleTask
from conductor.client.workflow.task.switch_task import SwitchTask

from tests.conductor.sdk_support import wait_status, worker_processes
from tests.conductor.workers import flaky
from tests.support.server import run_gateway

ONLY_CONDUCTOR = {"cognite": {"enabled": False}, "altostrat": {"enabled": False},
                  "conductor": {"script_timeout_ms": 300}}


@pytest.fixture(scope="module")
def config(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Configuration]:
    with run_gateway(tmp_path_factory.mktemp("conductor-scripts"), dialects=ONLY_CONDUCTOR) as gw:
        yield Configuration(server_api_url=f"{gw.url}/api")


@pytest.fixture(scope="module")
def clients(config: Configuration) -> OrkesClients:
    return OrkesClients(configuration=config)


@pytest.fixture(scope="module")
def executor(config: Configuration) -> WorkflowExecutor:
    return WorkflowExecutor(config)


@pytest.fixture(scope="module")
def worker(config: Configuration, clients: OrkesClients) -> Iterator[None]:
    with worker_processes(config, clients, "sc_echo", flaky):
        yield


def by_ref(wf: Workflow) -> dict[str, object]:
    return {t.reference_task_name: t for t in wf.tasks}


def scripted_flow(executor: WorkflowExecutor) -> ConductorWorkflow:
    total = InlineTask("total_ref", "(function () { var s = 0; $.items.forEach(function (i) { s += i.qty * i.price; });"
                                    " return {sum: s, big: s > 100, n: $.items.length}; })()",
                       bindings={"items": "${workflow.input.items}"})
    names = JsonJQTask("names_ref", "[.items[] | select(.qty > 1) | .name]")
    names.input_parameters["items"] = "${workflow.input.items}"
    route = SwitchTask("route_ref", "$.big ? 'large' : 'small'", use_javascript=True)
    route.input_parameters["big"] = "${total_ref.output.result.big}"
    route.switch_case("large", [SimpleTask("sc_echo", "large_ref").input(key="sum", value="${total_ref.output.result.sum}")])
    route.default_case([InlineTask("small_ref", "'small:' + $.sum", bindings={"sum": "${total_ref.output.result.sum}"})])
    wf = ConductorWorkflow(executor=executor, name="sc_flow", version=1)
    wf.add(total).add(names).add(route)
    wf.output_parameters({"sum": "${total_ref.output.result.sum}", "names": "${names_ref.output.result}"})
    return wf


def test_inline_jq_and_javascript_switch_feed_a_worker(clients: OrkesClients, executor: WorkflowExecutor,
                                                       worker: None) -> None:
    scripted_flow(executor).register(overwrite=True)
    wc = clients.get_workflow_client()
    items = [{"name": "a", "qty": 2, "price": 30.5}, {"name": "b", "qty": 1, "price": 50}]
    wid = wc.start_workflow_by_name("sc_flow", {"items": items}, version=1)
    done = wait_status(clients, wid, "COMPLETED")
    tasks = by_ref(done)
    assert [t.reference_task_name for t in done.tasks] == ["total_ref", "names_ref", "route_ref", "large_ref"]
    total = tasks["total_ref"]
    assert total.task_type == "INLINE" and total.status == "COMPLETED"
    assert total.output_data == {"result": {"sum": 111, "big": True, "n": 2}}
    assert total.input_data["evaluatorType"] == "graaljs" and total.input_data["items"] == items
    jq_task = tasks["names_ref"]
    assert jq_task.task_type == "JSON_JQ_TRANSFORM"
    assert jq_task.output_data == {"result": ["a"], "resultList": [["a"]]}
    assert tasks["route_ref"].task_type == "SWITCH" and tasks["route_ref"].output_data["evaluationResult"] == ["large"]
    assert tasks["large_ref"].output_data["seen"] == {"sum": 111}  # the worker saw the script's value
    assert done.output == {"sum": 111, "names": ["a"]}

    small = wc.start_workflow_by_name("sc_flow", {"items": [{"name": "c", "qty": 1, "price": 3}]}, version=1)
    done = wait_status(clients, small, "COMPLETED")
    assert by_ref(done)["small_ref"].output_data == {"result": "small:3"}
    assert "large_ref" not in by_ref(done)
    assert by_ref(done)["names_ref"].output_data == {"result": [], "resultList": [[]]}


def test_value_param_inline_and_jq_errors(clients: OrkesClients, executor: WorkflowExecutor) -> None:
    pick = InlineTask("pick_ref", "choice", bindings={"choice": "${workflow.input.choice}"})
    pick.input_parameters["evaluatorType"] = "value-param"
    bad_jq = JsonJQTask("jq_ref", ".n + 1")
    bad_jq.input_parameters["n"] = "${workflow.input.choice}"
    wf = ConductorWorkflow(executor=executor, name="sc_jq_error", version=1).add(pick).add(bad_jq)
    wf.register(overwrite=True)
    wid = clients.get_workflow_client().start_workflow_by_name("sc_jq_error", {"choice": "text"}, version=1)
    failed = wait_status(clients, wid, "FAILED")
    pick_t, jq_t = failed.tasks
    assert pick_t.output_data == {"result": "text"}
    assert jq_t.status == "FAILED" and "cannot be added" in jq_t.reason_for_incompletion
    assert jq_t.output_data == {"error": jq_t.reason_for_incompletion}
    assert set(failed.failed_reference_task_names) == {"jq_ref"} and "cannot be added" in failed.reason_for_incompletion


def test_script_errors_fail_the_task_and_rerun_with_a_fixed_script(clients: OrkesClients,
                                                                  executor: WorkflowExecutor) -> None:
    wf = ConductorWorkflow(executor=executor, name="sc_broken", version=1)
    wf.add(InlineTask("broken_ref", "$.order.lines.length", bindings={"order": "${workflow.input.order}"}))
    wf.add(InlineTask("after_ref", "'after ' + $.n", bindings={"n": "${broken_ref.output.result}"}))
    wf.register(overwrite=True)
    wc = clients.get_workflow_client()
    wid = wc.start_workflow_by_name("sc_broken", {"order": {}}, version=1)
    failed = wait_status(clients, wid, "FAILED")
    assert [(t.reference_task_name, t.status) for t in failed.tasks] == [("broken_ref", "FAILED")]
    broken = failed.tasks[0]
    assert broken.reason_for_incompletion == "TypeError: cannot read property 'length' of undefined"
    assert broken.output_data == {"error": broken.reason_for_incompletion}

    fixed = {**broken.input_data, "expression": "($.order.lines || []).length"}
    assert wc.rerun_workflow(wid, RerunWorkflowRequest(re_run_from_task_id=broken.task_id, task_input=fixed)) == wid
    done = wait_status(clients, wid, "COMPLETED")
    assert [(t.reference_task_name, t.status) for t in done.tasks] == [("broken_ref", "COMPLETED"),
                                                                         ("after_ref", "COMPLETED")]
    assert done.tasks[0].task_id == broken.task_id and done.tasks[0].output_data == {"result": 0}
    assert done.tasks[1].output_data == {"result": "after 0"}


def test_a_runaway_script_is_stopped_and_retry_runs_it_again(clients: OrkesClients, executor: WorkflowExecutor,
                                                             tmp_path: Path) -> None:
    wf = ConductorWorkflow(executor=executor, name="sc_spin", version=1)
    wf.add(InlineTask("spin_ref", "(function () { if ($.spin) { while (true) {} } return 'ok'; })()",
                      bindings={"spin": "${workflow.input.spin}"}))
    wf.register(overwrite=True)
    wc = clients.get_workflow_client()
    started = time.monotonic()
    wid = wc.start_workflow_by_name("sc_spin", {"spin": True}, version=1)
    failed = wait_status(clients, wid, "FAILED")
    assert time.monotonic() - started < 10
    assert failed.tasks[0].reason_for_incompletion == "Script execution timed out after 300 ms"
    # the gateway still answers, and a retry runs the script again (a new attempt, same outcome here)
    wc.retry_workflow(wid)
    again = wait_status(clients, wid, "FAILED")
    assert [(t.status, t.retry_count, t.retried) for t in again.tasks] == [("FAILED", 0, True), ("FAILED", 1, False)]
    assert again.tasks[1].retried_task_id == again.tasks[0].task_id
