"""Acceptance through the unmodified conductor-python 2.0.0: task queue depths
(``TaskClient.get_queue_size_for_task``, ``TaskResourceApi.all``) read from the engine's queue --
a started workflow's worker task counts until a worker polls it."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from conductor.client.configuration.configuration import Configuration
from conductor.client.http.api.task_resource_api import TaskResourceApi
from conductor.client.http.api_client import ApiClient
from conductor.client.http.models import StartWorkflowRequest
from conductor.client.http.models.workflow_def import WorkflowDef
from conductor.client.http.models.workflow_task import WorkflowTask
from conductor.client.orkes_clients import OrkesClients

from tests.support.server import run_gateway

ONLY_CONDUCTOR = {"cognite": {"enabled": False}, "altostrat": {"enabled": False}}


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with run_gateway(tmp_path_factory.mktemp("conductor-queues"), dialects=ONLY_CONDUCTOR) as gw:
        yield gw.url


def test_queue_depths_follow_starts_and_polls(gateway: str) -> None:
    config = Configuration(server_api_url=f"{gateway}/api")
    clients = OrkesClients(configuration=config)
    clients.get_metadata_client().register_workflow_def(WorkflowDef(
        name="q_flow", version=1, timeout_seconds=0,
        tasks=[WorkflowTask(name="q_encode", task_reference_name="encode", type="SIMPLE")]), overwrite=True)
    tasks, raw = clients.get_task_client(), TaskResourceApi(ApiClient(config))
    assert tasks.get_queue_size_for_task("q_encode") == 0
    for _ in range(3):
        clients.get_workflow_client().start_workflow(StartWorkflowRequest(name="q_flow", version=1))
    assert tasks.get_queue_size_for_task("q_encode") == 3
    assert raw.all() == {"q_encode": 3}
    assert tasks.poll_task("q_encode", worker_id="w1") is not None
    assert tasks.get_queue_size_for_task("q_encode") == 2
    both = httpx.get(f"{gateway}/api/tasks/queue/sizes", params=[("taskType", "q_encode"), ("taskType", "nothing")])
    assert both.json() == {"q_encode": 2, "nothing": 0}
    assert httpx.get(f"{gateway}/api/tasks/queue/sizes").json() == {}
