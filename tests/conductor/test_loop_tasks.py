"""Acceptance: DO_WHILE built with conductor-python's DoWhileTask / LoopTask, a real SDK worker process
inside the loop, and retry / rerun of a failed iteration, checked as Conductor shows loops: tasks named
``<ref>__<iteration>``, iteration outputs keyed by iteration number, the DO_WHILE retried in place.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from conductor.client.configuration.configuration import Configuration
from conductor.client.http.models import RerunWorkflowRequest
from conductor.client.http.models.workflow_test_request import WorkflowTestRequest
from conductor.client.orkes_clients import OrkesClients
from conductor.client.workflow.conductor_workflow import ConductorWorkflow
from conductor.client.workflow.executor.workflow_executor import WorkflowExecutor
from conductor.client.workflow.task.do_while_task import DoWhileTask, LoopTask
from conductor.client.workflow.task.inline import InlineTask
from conductor.client.workflow.task.simple_task import SimpleTask

from tests.conductor.sdk_support import rows, wait_status, worker_processes
from tests.conductor.workers import flaky


@pytest.fixture(scope="module")
def worker(config: Configuration, clients: OrkesClients) -> Iterator[None]:
    with worker_processes(config, clients, "lp_step", flaky):
        yield


def loop_flow(executor: WorkflowExecutor, name: str) -> ConductorWorkflow:
    """Three passes of: an INLINE that picks the pass's marker (only pass 2 gets one), then the worker."""
    pick = InlineTask("pick_ref", "$.it == 2 ? $.marker : null",
                      bindings={"it": "${loop_ref.output.iteration}", "marker": "${workflow.input.marker}"})
    step = SimpleTask("lp_step", "step_ref").input(key="fail_once_marker", value="${pick_ref.output.result}")
    step.input_parameters["pass"] = "${loop_ref.output.iteration}"
    loop = LoopTask("loop_ref", 3, [pick, step])
    loop.input_parameters["limit"] = 3
    wf = ConductorWorkflow(executor=executor, name=name, version=1)
    wf.add(loop).add(InlineTask("after_ref", "$.last + ':' + $.n",
                                bindings={"last": "${step_ref.output.ref}", "n": "${loop_ref.output.iteration}"}))
    return wf


def test_do_while_runs_three_passes_named_by_iteration(clients: OrkesClients, executor: WorkflowExecutor,
                                                      worker: None) -> None:
    loop_flow(executor, "lp_three").register(overwrite=True)
    wid = clients.get_workflow_client().start_workflow_by_name("lp_three", {}, version=1)
    done = wait_status(clients, wid, "COMPLETED")
    assert rows(done) == [("loop_ref", "COMPLETED"),
                          ("pick_ref__1", "COMPLETED"), ("step_ref__1", "COMPLETED"),
                          ("pick_ref__2", "COMPLETED"), ("step_ref__2", "COMPLETED"),
                          ("pick_ref__3", "COMPLETED"), ("step_ref__3", "COMPLETED"),
                          ("after_ref", "COMPLETED")]
    loop = done.tasks[0]
    assert loop.task_type == "DO_WHILE" and loop.iteration == 3 and loop.input_data == {"limit": 3}
    assert loop.output_data["iteration"] == 3 and set(loop.output_data) == {"iteration", "1", "2", "3"}
    assert loop.output_data["2"]["step_ref"]["ref"] == "step_ref__2"  # what the worker was handed
    assert loop.output_data["2"]["step_ref"]["seen"] == {"fail_once_marker": None, "pass": 2}
    assert loop.output_data["1"]["pick_ref"] == {"result": None}
    steps = [t for t in done.tasks if t.task_def_name == "lp_step"]
    assert [t.iteration for t in steps] == [1, 2, 3] and all(t.loop_over_task for t in steps)
    assert steps[0].workflow_task.task_reference_name == "step_ref" and steps[0].task_type == "lp_step"
    assert done.tasks[-1].output_data == {"result": "step_ref__3:3"}  # the last pass, seen after the loop


def test_a_javascript_condition_over_task_output(clients: OrkesClients, executor: WorkflowExecutor) -> None:
    count = InlineTask("count_ref", "($.prev || 0) + $.add", bindings={"prev": "${count_ref.output.result}",
                                                                       "add": "${workflow.input.add}"})
    loop = DoWhileTask("sum_ref", "$.count_ref.result < $.target", [count])
    loop.input_parameters["target"] = "${workflow.input.target}"
    wf = ConductorWorkflow(executor=executor, name="lp_sum", version=1).add(loop)
    wf.register(overwrite=True)
    wid = clients.get_workflow_client().start_workflow_by_name("lp_sum", {"add": 4, "target": 10}, version=1)
    done = wait_status(clients, wid, "COMPLETED")
    assert [t.output_data["result"] for t in done.tasks[1:]] == [4, 8, 12]
    assert done.tasks[0].output_data["iteration"] == 3
    assert done.tasks[0].output_data["3"] == {"count_ref": {"result": 12}}

    broken = DoWhileTask("bad_ref", "$.nothing.here > 1", [InlineTask("one_ref", "1")])
    ConductorWorkflow(executor=executor, name="lp_bad", version=1).add(broken).register(overwrite=True)
    wid = clients.get_workflow_client().start_workflow_by_name("lp_bad", {}, version=1)
    failed = wait_status(clients, wid, "FAILED")
    loop = failed.tasks[0]
    assert loop.status == "FAILED_WITH_TERMINAL_ERROR"
    assert loop.reason_for_incompletion == ("Unable to evaluate condition $.nothing.here > 1, exception "
                                            "TypeError: cannot read property 'here' of undefined")


def test_retry_resumes_the_failed_pass_with_the_do_while_in_place(clients: OrkesClients, executor: WorkflowExecutor,
                                                                 worker: None, tmp_path: Path) -> None:
    loop_flow(executor, "lp_retry").register(overwrite=True)
    wc = clients.get_workflow_client()
    wid = wc.start_workflow_by_name("lp_retry", {"marker": str(tmp_path / "retry-marker")}, version=1)
    failed = wait_status(clients, wid, "FAILED")
    assert rows(failed) == [("loop_ref", "FAILED"), ("pick_ref__1", "COMPLETED"), ("step_ref__1", "COMPLETED"),
                            ("pick_ref__2", "COMPLETED"), ("step_ref__2", "FAILED")]
    loop = failed.tasks[0]
    assert "planned failure of step_ref__2" in loop.reason_for_incompletion
    assert set(failed.failed_reference_task_names) == {"loop_ref", "step_ref__2"}

    wc.retry_workflow(wid)
    done = wait_status(clients, wid, "COMPLETED")
    assert rows(done) == [("loop_ref", "COMPLETED"), ("pick_ref__1", "COMPLETED"), ("step_ref__1", "COMPLETED"),
                          ("pick_ref__2", "COMPLETED"), ("step_ref__2", "FAILED"), ("step_ref__2", "COMPLETED"),
                          ("pick_ref__3", "COMPLETED"), ("step_ref__3", "COMPLETED"), ("after_ref", "COMPLETED")]
    again = done.tasks[0]
    assert again.task_id == loop.task_id and again.retry_count == 1  # the DO_WHILE is retried in place
    old, new = done.tasks[4], done.tasks[5]
    assert old.retried and new.retried_task_id == old.task_id and new.retry_count == 1 and new.iteration == 2
    assert again.output_data["iteration"] == 3 and again.output_data["2"]["step_ref"]["ref"] == "step_ref__2"


def test_rerun_from_the_failed_loop_task_with_new_input(clients: OrkesClients, executor: WorkflowExecutor,
                                                       worker: None, tmp_path: Path) -> None:
    loop_flow(executor, "lp_rerun").register(overwrite=True)
    wc = clients.get_workflow_client()
    wid = wc.start_workflow_by_name("lp_rerun", {"marker": str(tmp_path / "rerun-marker")}, version=1)
    failed = wait_status(clients, wid, "FAILED")
    bad = failed.tasks[-1]
    assert bad.reference_task_name == "step_ref__2"
    assert wc.rerun_workflow(wid, RerunWorkflowRequest(re_run_from_task_id=bad.task_id,
                                                       task_input={"pass": 2, "fixed": True})) == wid
    done = wait_status(clients, wid, "COMPLETED")
    assert rows(done) == [("loop_ref", "COMPLETED"), ("pick_ref__1", "COMPLETED"), ("step_ref__1", "COMPLETED"),
                          ("pick_ref__2", "COMPLETED"), ("step_ref__2", "COMPLETED"),
                          ("pick_ref__3", "COMPLETED"), ("step_ref__3", "COMPLETED"), ("after_ref", "COMPLETED")]
    rerun = done.tasks[4]
    assert rerun.task_id == bad.task_id and rerun.output_data["seen"] == {"pass": 2, "fixed": True}
    assert done.tasks[0].task_id == failed.tasks[0].task_id and done.tasks[0].output_data["iteration"] == 3



def test_workflow_output_names_a_loop_body_task_and_gets_its_last_pass(clients: OrkesClients,
                                                                        executor: WorkflowExecutor,
                                                                        worker: None) -> None:
    """A definition whose outputParameters name a DO_WHILE body task registers (as on the OSS server) and
    its output holds that task's last pass, for a real run and for a mocked one (mocks keyed ``ref__N``)."""
    loop = LoopTask("chk_loop_ref", 3, [SimpleTask("lp_step", "check_ref")])
    wf = ConductorWorkflow(executor=executor, name="lp_out", version=1).add(loop)
    wf.output_parameters({"last": "${check_ref.output.ref}", "passes": "${chk_loop_ref.output.iteration}"})
    clients.get_metadata_client().register_workflow_def(wf.to_workflow_def(), overwrite=True)
    wc = clients.get_workflow_client()
    done = wait_status(clients, wc.start_workflow_by_name("lp_out", {}, version=1), "COMPLETED")
    assert done.output == {"last": "check_ref__3", "passes": 3}

    mocked = wc.test_workflow(WorkflowTestRequest(name="lp_out", version=1, task_ref_to_mock_output={
        f"check_ref__{n}": [{"status": "COMPLETED", "output": {"ref": f"mock {n}"}}] for n in (1, 2, 3)}))
    assert mocked.status == "COMPLETED" and mocked.output == {"last": "mock 3", "passes": 3}
