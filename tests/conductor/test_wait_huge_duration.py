"""A WAIT task whose duration is past any real timeout (10^20 seconds) waits for good -- until it is signalled
-- as a huge timeout does elsewhere; starting its run was a 500 (the timer's instant overflowed the store's
64-bit integer) and nothing was started."""

from __future__ import annotations

import uuid

from conductor.client.configuration.configuration import Configuration
from conductor.client.orkes_clients import OrkesClients
from conductor.client.workflow.conductor_workflow import ConductorWorkflow
from conductor.client.workflow.task.wait_task import WaitTask


def test_a_wait_of_a_huge_duration_starts_and_waits_until_signalled(gateway: str):
    clients = OrkesClients(configuration=Configuration(server_api_url=f"{gateway}/api"))
    flow = ConductorWorkflow(executor=clients.get_workflow_executor(), name=f"long_wait_{uuid.uuid4().hex[:8]}",
                             version=1)
    flow >> WaitTask("hold", wait_for_seconds=10**20)
    flow.register(overwrite=True)
    workflow_id = flow.start_workflow_with_input({})
    workflows = clients.get_workflow_client()
    run = workflows.get_workflow(workflow_id, include_tasks=True)
    assert (run.status, run.tasks[0].status) == ("RUNNING", "IN_PROGRESS")
    done = clients.get_task_client().update_task_sync(workflow_id, "hold", "COMPLETED", {"signalled": True})
    assert done.status == "COMPLETED"
