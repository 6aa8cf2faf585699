"""Acceptance through the unmodified conductor-python 2.0.0: task queue depths
(``TaskClient.get_queue_size_for_task``, ``TaskResourceApi.all``) read from the engine's queue --
a started workflow's worker task counts until a worker polls it."""

from __future__ import annotations

import time

import httpx
from conductor.client.configuration.configuration import Configuration
from conductor.client.http.api.task_resource_api import TaskResourceApi
from conductor.client.http.api_client import ApiClient
from conductor.client.http.models import StartWorkflowRequest
from conductor.client.http.models.workflow_def import WorkflowDef
from conductor.client.http.models.workflow_task import WorkflowTask
from conductor.client.orkes_clients import OrkesClients

from tests.support.server import run_gateway

ONLY_CONDUCTOR = {"cognite": {"enabled": False}, "altostrat": {"enabled": False}}



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
    # verbose: queued ("size") and polled-but-unfinished ("uacked") per queue, in one shard "a"
    assert raw.all_verbose() == {"q_encode": {"a": {"size": 2, "uacked": 1}}}
    assert raw.requeue_pending_task("q_encode") == "0"  # every pending task is still in its queue
    assert tasks.get_queue_size_for_task("q_encode") == 2


def test_each_domain_is_a_queue_of_its_own(gateway: str) -> None:
    """As the OSS server (QueueUtils.getQueueName): a run's taskToDomain puts its task in queue
    ``gpu:<type>``; the depth of ``<type>`` counts only the tasks without a domain."""
    config = Configuration(server_api_url=f"{gateway}/api")
    clients = OrkesClients(configuration=config)
    clients.get_metadata_client().register_workflow_def(WorkflowDef(
        name="qd_flow", version=1, timeout_seconds=0,
        tasks=[WorkflowTask(name="qd_encode", task_reference_name="encode", type="SIMPLE")]), overwrite=True)
    runs = clients.get_workflow_client()
    for _ in range(2):
        runs.start_workflow(StartWorkflowRequest(name="qd_flow", version=1, task_to_domain={"qd_encode": "gpu"}))
    runs.start_workflow(StartWorkflowRequest(name="qd_flow", version=1))
    tasks, raw = clients.get_task_client(), TaskResourceApi(ApiClient(config))
    assert tasks.get_queue_size_for_task("qd_encode") == 1
    assert raw.size(task_type=["qd_encode", "gpu:qd_encode", "cpu:qd_encode"]) == {
        "qd_encode": 1, "gpu:qd_encode": 2, "cpu:qd_encode": 0}
    assert {k: v for k, v in raw.all().items() if "qd_" in k} == {"qd_encode": 1, "gpu:qd_encode": 2}
    assert list(raw.all()) == sorted(raw.all())
    assert tasks.poll_task("qd_encode", worker_id="w-gpu", domain="gpu") is not None

    def depth(**params: str) -> object:
        return httpx.get(f"{gateway}/api/tasks/queue/size", params={"taskType": "qd_encode", **params}).json()

    assert (depth(), depth(domain="gpu"), depth(domain="cpu"), depth(domain="")) == (1, 1, 0, 1)
    assert depth(domain="gpu", isolationGroupId="g1") == 0  # a queue the server never fills
    verbose = {k: v for k, v in raw.all_verbose().items() if "qd_" in k}
    assert verbose == {"qd_encode": {"a": {"size": 1, "uacked": 0}}, "gpu:qd_encode": {"a": {"size": 1, "uacked": 1}}}


def nothing(task: object) -> bool:
    """The SDK turns the 204 of an empty poll into None or an empty Task."""
    return task is None or getattr(task, "task_id", None) is None


def test_poll_data_names_the_last_worker_per_domain(gateway: str) -> None:
    """TaskClient.get_task_poll_data / TaskResourceApi.get_all_poll_data: every poll is recorded,
    also one that found nothing, per task type and domain; GET /api/tasks/queue/size is one depth."""
    config = Configuration(server_api_url=f"{gateway}/api")
    clients = OrkesClients(configuration=config)
    tasks, raw, api = clients.get_task_client(), TaskResourceApi(ApiClient(config)), ApiClient(config)
    assert tasks.get_task_poll_data("pd_resize") == []
    before = int(time.time() * 1000)
    assert nothing(tasks.poll_task("pd_resize", worker_id="w-1"))  # nothing queued: still a poll
    assert tasks.batch_poll_tasks("pd_resize", worker_id="w-gpu", count=2, timeout_in_millisecond=1, domain="gpu") == []
    assert nothing(tasks.poll_task("pd_resize", worker_id="w-2"))  # the same domain again: the later worker wins
    rows = tasks.get_task_poll_data("pd_resize")
    assert [(r.queue_name, r.domain, r.worker_id) for r in rows] == [("pd_resize", None, "w-2"), ("pd_resize", "gpu", "w-gpu")]
    assert all(before <= r.last_poll_time <= int(time.time() * 1000) for r in rows)
    assert nothing(tasks.poll_task("pd_crop", worker_id="w-3"))
    every = [(r.queue_name, r.domain, r.worker_id) for r in raw.get_all_poll_data()]
    assert every.index(("pd_crop", None, "w-3")) < every.index(("pd_resize", None, "w-2"))

    size = api.call_api("/tasks/queue/size", "GET", query_params=[("taskType", "q_encode")], response_type="int",
                        _return_http_data_only=True)
    assert size == tasks.get_queue_size_for_task("q_encode")
    assert httpx.get(f"{gateway}/api/tasks/queue/size", params={"taskType": "never_queued"}).json() == 0
    missing = httpx.get(f"{gateway}/api/tasks/queue/size")
    assert missing.status_code == 400 and missing.json()["status"] == 400
    assert httpx.get(f"{gateway}/api/tasks/queue/polldata").status_code == 400


def test_poll_data_outlives_a_restart(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Polls are written to the store (in the background, and at shutdown), not only kept in memory."""
    with run_gateway(tmp_path, dialects=ONLY_CONDUCTOR) as gw:
        tasks = OrkesClients(configuration=Configuration(server_api_url=f"{gw.url}/api")).get_task_client()
        assert nothing(tasks.poll_task("pd_durable", worker_id="w-9"))
    with run_gateway(tmp_path, dialects=ONLY_CONDUCTOR) as gw:
        tasks = OrkesClients(configuration=Configuration(server_api_url=f"{gw.url}/api")).get_task_client()
        assert [(p.queue_name, p.worker_id) for p in tasks.get_task_poll_data("pd_durable")] == [("pd_durable", "w-9")]
