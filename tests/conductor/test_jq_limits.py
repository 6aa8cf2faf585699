"""A JSON_JQ_TRANSFORM query is held to the limits an INLINE script is (`script_timeout_ms`, a memory cap): one
that never ends or builds a huge value fails its task with the reason, and the gateway keeps answering.  Such a
query ran on the gateway's event loop without a limit: the start call never answered, nothing else was served
(not even /healthz or SIGTERM), and memory grew until the machine ran out."""

from __future__ import annotations

import time
import uuid

import httpx
import pytest
from conductor.client.configuration.configuration import Configuration
from conductor.client.orkes_clients import OrkesClients
from conductor.client.workflow.conductor_workflow import ConductorWorkflow
from conductor.client.workflow.task.json_jq_task import JsonJQTask


def _run(gateway: str, query: str):
    clients = OrkesClients(configuration=Configuration(server_api_url=f"{gateway}/api"))
    flow = ConductorWorkflow(executor=clients.get_workflow_executor(), name=f"jq_{uuid.uuid4().hex[:8]}", version=1)
    flow >> JsonJQTask("jq", query)
    flow.register(overwrite=True)
    workflow_id = flow.start_workflow_with_input({"n": 3})
    workflows = clients.get_workflow_client()
    deadline = time.monotonic() + 30
    while (run := workflows.get_workflow(workflow_id, include_tasks=True)).status == "RUNNING":
        assert time.monotonic() < deadline, "the run is still RUNNING"
        time.sleep(0.05)
    return run


@pytest.mark.timeout(120)
@pytest.mark.parametrize(("query", "reason"), [
    ("last(range(0; infinite))", "jq query timed out after 2000 ms"),  # endless, in constant memory
    ("[range(0; 1000000000)] | length", "jq query"),                   # a billion numbers: out of memory or time
])
def test_a_runaway_jq_query_fails_its_task_and_the_gateway_keeps_serving(gateway: str, query, reason):
    run = _run(gateway, query)
    assert run.status == "FAILED"
    assert run.tasks[0].status == "FAILED" and reason in run.tasks[0].reason_for_incompletion
    assert httpx.get(f"{gateway}/healthz", timeout=5).status_code == 200
    done = _run(gateway, "{doubled: (3 * 2)}")  # the next query runs as ever
    assert done.status == "COMPLETED", done.tasks[0].reason_for_incompletion
    assert done.tasks[0].output_data["result"] == {"doubled": 6}
