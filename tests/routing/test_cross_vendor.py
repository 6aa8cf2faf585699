"""Cross-vendor: a front gateway translates one vendor's API onto another vendor upstream (a back
gateway playing that vendor).  The official SDKs are the clients; what the upstream cannot express
is refused in the client's own error format, naming what cannot be translated."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator

import httpx
import pytest
from cognite.client import ClientConfig, CogniteClient, global_config
from cognite.client.credentials import Token
from cognite.client.data_classes.workflows import (
    FunctionTaskParameters,
    WorkflowDefinitionUpsert,
    WorkflowTask,
    WorkflowUpsert,
    WorkflowVersionUpsert,
)
from conductor.client.configuration.configuration import Configuration
from conductor.client.http.models import RerunWorkflowRequest, StartWorkflowRequest, TaskDef, TaskResult
from conductor.client.http.models.workflow_def import WorkflowDef
from conductor.client.http.models.workflow_task import WorkflowTask as ConductorTask
from conductor.client.http.rest import ApiException
from conductor.client.orkes_clients import OrkesClients

from tests.support.server import RunningGateway, run_gateway

global_config.disable_pypi_version_check = True
global_config.max_retries = 0


def routed(front_dialect: str, upstream_dialect: str, url: str) -> dict:
    return {"backends": {"engine": {"kind": "engine"},
                         "vendor": {"kind": "upstream", "dialect": upstream_dialect, "url": url, "retries": 0}},
            "routes": [{"name": "cross", "match": {"dialect": front_dialect}, "backend": "vendor"},
                       {"match": {}, "backend": "engine"}]}


@pytest.fixture(scope="module")
def back(tmp_path_factory) -> Iterator[RunningGateway]:
    with run_gateway(tmp_path_factory.mktemp("vendor")) as gw:
        yield gw


def wait(fetch, predicate, timeout: float = 10.0):
    end = time.monotonic() + timeout
    value = fetch()
    while not predicate(value):
        assert time.monotonic() < end, f"condition not reached; last: {value}"
        time.sleep(0.05)
        value = fetch()
    return value


def cognite(url: str) -> CogniteClient:
    return CogniteClient(ClientConfig(client_name="cross", base_url=url, project="acme",
                                      credentials=Token("t"), timeout=20))


def test_cognite_sdk_against_a_conductor_upstream(back, tmp_path):
    vendor = OrkesClients(configuration=Configuration(server_api_url=f"{back.url}/api"))
    name, task_type = f"xv_{uuid.uuid4().hex[:8]}", f"xv_step_{uuid.uuid4().hex[:6]}"
    vendor.get_metadata_client().register_task_def(TaskDef(name=task_type, retry_count=0, timeout_seconds=60,
                                                           response_timeout_seconds=30))
    vendor.get_metadata_client().register_workflow_def(
        WorkflowDef(name=name, version=1, timeout_seconds=0,
                    tasks=[ConductorTask(name=task_type, task_reference_name="step", type="SIMPLE")]), overwrite=True)
    with run_gateway(tmp_path, **routed("cognite", "conductor", back.url)) as front:
        client = cognite(front.url)
        ex = client.workflows.executions.run(name, "1", input={"a": 1})
        assert vendor.get_workflow_client().get_workflow(ex.id, include_tasks=False).input == {"a": 1}

        # Read back as raw Cognite JSON: cognite-sdk 8.22 cannot parse the Cognite adapter's rendering of a
        # Conductor SIMPLE task (taskType "function" without input.function; adapters/cognite/render.py).
        def detailed() -> dict:
            r = httpx.get(f"{front.url}/api/v1/projects/acme/workflows/executions/{ex.id}")
            assert r.status_code == 200, r.text
            return r.json()

        # The SIMPLE task's worker talks to the vendor, as Conductor workers do; Cognite's own task update
        # applies only to isAsyncComplete function tasks, which a Conductor SIMPLE task is not.
        tasks = vendor.get_task_client()

        def work(status: str) -> None:
            polled = wait(lambda: tasks.poll_task(task_type, worker_id="w1"), lambda t: t is not None)
            tasks.update_task(TaskResult(workflow_instance_id=ex.id, task_id=polled.task_id, status=status,
                                         output_data={"rows": 3} if status == "COMPLETED" else {}, worker_id="w1"))

        assert detailed()["executedTasks"][0]["status"] == "IN_PROGRESS"
        work("FAILED")
        assert wait(detailed, lambda e: e["status"] == "FAILED")
        client.workflows.executions.retry(ex.id)  # cognite-sdk retry -> Conductor retry on the vendor
        work("COMPLETED")
        done = wait(detailed, lambda e: e["status"] == "COMPLETED")
        assert [t["status"] for t in done["executedTasks"]] == ["FAILED", "COMPLETED"]
        assert vendor.get_workflow_client().get_workflow(ex.id, include_tasks=False).status == "COMPLETED"


def test_conductor_sdk_against_a_cognite_upstream(back, tmp_path):
    vendor = cognite(back.url)
    xid = f"xc-{uuid.uuid4().hex[:8]}"
    vendor.workflows.upsert(WorkflowUpsert(xid))
    vendor.workflows.versions.upsert(WorkflowVersionUpsert(xid, "1", WorkflowDefinitionUpsert([
        WorkflowTask("step", FunctionTaskParameters("manual", is_async_complete=True), retries=0)])))
    cfg = routed("conductor", "cognite", back.url)
    cfg["backends"]["vendor"]["project"] = "acme"
    with run_gateway(tmp_path, **cfg) as front:
        clients = OrkesClients(configuration=Configuration(server_api_url=f"{front.url}/api"))
        wc, tc = clients.get_workflow_client(), clients.get_task_client()
        wid = wc.start_workflow(StartWorkflowRequest(name=xid, version=1, input={"a": 1}, correlation_id="order-7"))
        assert vendor.workflows.executions.retrieve_detailed(wid).input == {"a": 1}  # it runs on Cognite

        def step_task():
            wf = wait(lambda: wc.get_workflow(wid, include_tasks=True),
                      lambda w: w.tasks and w.tasks[-1].status == "IN_PROGRESS")
            return wf.tasks[-1]

        first = step_task()
        assert wc.get_workflow(wid, include_tasks=False).correlation_id == "order-7"
        # the running ids are read through the upstream's search (the engine answers them from its index)
        assert wc.workflowResourceApi.get_running_workflow(xid) == [wid]
        tc.update_task(TaskResult(workflow_instance_id=wid, task_id=first.task_id, status="FAILED"))
        assert wait(lambda: wc.get_workflow(wid, include_tasks=True), lambda w: w.status == "FAILED")
        wc.retry_workflow(wid)
        second = step_task()
        assert second.task_id != first.task_id
        tc.update_task(TaskResult(workflow_instance_id=wid, task_id=second.task_id, status="COMPLETED",
                                  output_data={"rows": 3}))
        done = wait(lambda: wc.get_workflow(wid, include_tasks=True), lambda w: w.status == "COMPLETED")
        assert [t.status for t in done.tasks] == ["FAILED", "COMPLETED"]
        assert vendor.workflows.executions.retrieve_detailed(wid).status == "completed"

        # what Cognite cannot express is refused in Conductor's error format, naming the part
        with pytest.raises(ApiException) as rerun:
            wc.rerun_workflow(wid, RerunWorkflowRequest(re_run_from_task_id=second.task_id, task_input={"x": 1}))
        assert rerun.value.status == 501
        assert "rerun from a task, with new task input cannot be translated" in rerun.value.body
        with pytest.raises(ApiException) as pause:
            wc.pause_workflow(wid)
        assert pause.value.status in (409, 501)
        with pytest.raises(ApiException) as poll:
            tc.poll_task("anything", worker_id="w1")
        assert poll.value.status == 501 and "task queue" in poll.value.body
        metrics = httpx.get(f"{front.url}/metrics").text
        assert 'wfgateway_route_errors_total{backend="vendor",kind="not_translatable",route="cross"}' in metrics
