"""``${CPEWF_TASK_ID}`` in a task's input is that task's own id, as in Conductor (conductor-python's
``examples/workers_e2e_workflow.json`` registers it); ``${ref.taskId}`` of the task itself too.  Through
the unmodified conductor-python 2.0.0: the definition registers, reads back as written, and the worker
that polls the task gets its own id in its input."""

from __future__ import annotations

import pytest
from conductor.client.http.models import StartWorkflowRequest
from conductor.client.http.models.workflow_def import WorkflowDef
from conductor.client.http.models.workflow_task import WorkflowTask
from conductor.client.http.rest import ApiException
from conductor.client.orkes_clients import OrkesClients


def test_a_task_input_names_the_tasks_own_id(clients: OrkesClients) -> None:
    inputs = {"my_id": "${CPEWF_TASK_ID}", "my_id2": "${greet_ref.taskId}", "text": "task ${CPEWF_TASK_ID} runs"}
    clients.get_metadata_client().register_workflow_def(WorkflowDef(
        name="own_id_flow", version=1, tasks=[WorkflowTask(name="own_id_greet", task_reference_name="greet_ref",
                                                            type="SIMPLE", input_parameters=inputs)]), overwrite=True)
    stored = clients.get_metadata_client().get_workflow_def("own_id_flow", version=1)
    assert stored.tasks[0].input_parameters == inputs  # read back as registered

    workflow_id = clients.get_workflow_client().start_workflow(StartWorkflowRequest(name="own_id_flow", version=1))
    polled = clients.get_task_client().poll_task("own_id_greet", worker_id="w1")
    assert polled is not None and polled.workflow_instance_id == workflow_id
    assert polled.input_data == {"my_id": polled.task_id, "my_id2": polled.task_id,
                                 "text": f"task {polled.task_id} runs"}


def test_the_tasks_own_id_has_no_other_fields(clients: OrkesClients) -> None:
    with pytest.raises(ApiException) as err:
        clients.get_metadata_client().register_workflow_def(WorkflowDef(
            name="own_id_bad", version=1, tasks=[WorkflowTask(
                name="own_id_bad", task_reference_name="bad_ref", type="SIMPLE",
                input_parameters={"x": "${self.output}"})]), overwrite=True)
    assert err.value.status == 400
