"""README's recipe for sending some Conductor workflows upstream: a route by workflow name carries the
definitions and starts; a worker's poll names no workflow, so it reaches the upstream only through a route
of its own (by operation); the worker's result then follows the run to the backend that owns it."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Iterator

import pytest
from conductor.client.configuration.configuration import Configuration
from conductor.client.http.models import StartWorkflowRequest, TaskResult
from conductor.client.http.models.workflow_def import WorkflowDef
from conductor.client.http.models.workflow_task import WorkflowTask
from conductor.client.orkes_clients import OrkesClients

from tests.support.server import RunningGateway, run_gateway
from wfgateway.core.errors import NotFound

UPSTREAM = {"kind": "upstream", "dialect": "conductor"}


def _routes(*, polls_upstream: bool) -> list[dict]:
    routes = [{"match": {"dialect": "conductor", "workflow": "billing_*"}, "backend": "conductor-prod"}]
    if polls_upstream:
        routes.append({"match": {"dialect": "conductor", "operation": "*oll*"}, "backend": "conductor-prod"})
    return [*routes, {"match": {}, "backend": "engine"}]


@pytest.fixture(scope="module")
def back(tmp_path_factory) -> Iterator[RunningGateway]:
    with run_gateway(tmp_path_factory.mktemp("back")) as gw:
        yield gw


def _front(tmp_path, back: RunningGateway, *, polls_upstream: bool):
    return run_gateway(tmp_path, backends={"engine": {"kind": "engine"},
                                           "conductor-prod": {**UPSTREAM, "url": back.url}},
                       routes=_routes(polls_upstream=polls_upstream))


def _start_billing_run(front: RunningGateway) -> tuple[OrkesClients, str, str]:
    clients = OrkesClients(configuration=Configuration(server_api_url=f"{front.url}/api"))
    name, task_type = f"billing_{uuid.uuid4().hex[:8]}", f"charge_{uuid.uuid4().hex[:6]}"
    clients.get_metadata_client().register_workflow_def(WorkflowDef(
        name=name, version=1, timeout_seconds=0,
        tasks=[WorkflowTask(name=task_type, task_reference_name="charge", type="SIMPLE")]), overwrite=True)
    workflow_id = clients.get_workflow_client().start_workflow(StartWorkflowRequest(name=name, version=1, input={}))
    return clients, workflow_id, task_type


def test_a_worker_polling_the_gateway_gets_the_upstream_runs_task_through_a_poll_route(tmp_path, back):
    with _front(tmp_path, back, polls_upstream=True) as front:
        clients, workflow_id, task_type = _start_billing_run(front)
        tasks = clients.get_task_client()
        deadline = time.monotonic() + 10
        while (task := tasks.poll_task(task_type, worker_id="w1")).task_id is None:  # 204: a Task of Nones
            assert time.monotonic() < deadline, "the upstream's task never reached the worker"
            time.sleep(0.05)
        assert task.workflow_instance_id == workflow_id
        tasks.update_task(TaskResult(workflow_instance_id=workflow_id, task_id=task.task_id, status="COMPLETED",
                                     output_data={"paid": True}, worker_id="w1"))
        run = clients.get_workflow_client().get_workflow(workflow_id, include_tasks=True)
        assert (run.status, run.tasks[0].output_data) == ("COMPLETED", {"paid": True})
        assert _on_engine(back, workflow_id)
        assert not _on_engine(front, workflow_id)  # it ran upstream only


def test_without_a_poll_route_the_worker_polls_the_gateways_own_queue(tmp_path, back):
    with _front(tmp_path, back, polls_upstream=False) as front:
        clients, workflow_id, task_type = _start_billing_run(front)
        polled = clients.get_task_client().poll_task(task_type, worker_id="w1")
        assert polled.task_id is None  # 204: the engine's own queue has no such task
        assert clients.get_workflow_client().get_workflow(workflow_id, include_tasks=True).tasks[0].status == "SCHEDULED"


def _on_engine(gw: RunningGateway, workflow_id: str) -> bool:
    """Whether the gateway's own engine holds the run (read in the gateway's event loop)."""
    try:
        asyncio.run_coroutine_threadsafe(gw.engine.get(workflow_id), gw.app.router.loop).result(10)
    except NotFound:
        return False
    return True
