"""A Conductor run read through cognite-sdk: every task it ran -- a DO_WHILE's iterations, a dynamic
fork's branches, a sub-workflow, a dynamic fork -- parses in the SDK's WorkflowTaskExecution, as the
README promises ("An execution started through one vendor's API can be read ... through another's")."""

from __future__ import annotations

import time
import uuid

import pytest
from cognite.client import ClientConfig, CogniteClient
from cognite.client.credentials import Token
from conductor.client.configuration.configuration import Configuration
from conductor.client.http.models import StartWorkflowRequest, WorkflowDef, WorkflowTask
from conductor.client.orkes_clients import OrkesClients

from tests.support.server import run_gateway


@pytest.fixture(scope="module")
def gateway(tmp_path_factory):
    with run_gateway(tmp_path_factory.mktemp("conductor-in-cognite")) as gw:
        yield gw


def _task(ref: str, type_: str, **fields) -> WorkflowTask:
    return WorkflowTask(name=ref, task_reference_name=ref, type=type_, **fields)


def test_a_conductor_run_with_loops_forks_and_a_child_is_read_by_cognite_sdk(gateway):
    clients = OrkesClients(configuration=Configuration(server_api_url=f"{gateway.url}/api"))
    metadata, workflows = clients.get_metadata_client(), clients.get_workflow_client()
    name = f"xc_{uuid.uuid4().hex[:8]}"
    inline = {"evaluatorType": "javascript", "expression": "1"}
    metadata.register_workflow_def(WorkflowDef(name=f"{name}_child", version=1, timeout_seconds=0,
                                               tasks=[_task("c", "INLINE", input_parameters=inline)]), overwrite=True)
    metadata.register_workflow_def(WorkflowDef(name=name, version=1, timeout_seconds=0, tasks=[
        _task("loop", "DO_WHILE", loop_condition="if ($.loop['iteration'] < 2) { true; } else { false; }",
              loop_over=[_task("li", "INLINE", input_parameters=inline)]),
        _task("dyn", "FORK_JOIN_DYNAMIC", dynamic_fork_tasks_param="tasks",
              dynamic_fork_tasks_input_param_name="inputs",
              input_parameters={"tasks": [{"name": "dn", "taskReferenceName": "dn", "type": "NOOP"}],
                                "inputs": {"dn": {}}}),
        _task("djoin", "JOIN"),
        _task("sub", "SUB_WORKFLOW", sub_workflow_param={"name": f"{name}_child", "version": 1}),
    ]), overwrite=True)
    workflow_id = workflows.start_workflow(StartWorkflowRequest(name=name, version=1, input={}))
    deadline = time.monotonic() + 15
    while workflows.get_workflow(workflow_id, include_tasks=False).status == "RUNNING":
        assert time.monotonic() < deadline, "the run did not end"
        time.sleep(0.05)

    cognite = CogniteClient(ClientConfig(client_name="xc", project="default", base_url=gateway.url,
                                         credentials=Token("open-mode")))
    run = cognite.workflows.executions.retrieve_detailed(workflow_id)  # parses every executed task
    assert run is not None and run.status == "completed"
    assert {"loop", "dyn", "djoin", "sub", "c"} <= {t.external_id for t in run.executed_tasks}
