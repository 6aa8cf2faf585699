"""Executions an upstream started on its own (sub-workflows) or handed out (polled tasks, search
results) are remembered as that upstream's, so calls about them still reach it after the routes change.

Two real gateways on 127.0.0.1: the front forwards the Conductor dialect to the back, which runs the
workflows on its engine; conductor-python is the client."""

from __future__ import annotations

import asyncio
import uuid

from conductor.client.configuration.configuration import Configuration
from conductor.client.http.models import StartWorkflowRequest, TaskDef, TaskResult
from conductor.client.http.models.workflow_def import WorkflowDef
from conductor.client.http.models.workflow_task import WorkflowTask
from conductor.client.orkes_clients import OrkesClients

from tests.support.server import REPO, gateway_config, run_gateway
from wfgateway.config import config_from_dict


def proxied(url: str) -> dict:
    return {"backends": {"engine": {"kind": "engine"},
                         "back": {"kind": "upstream", "dialect": "conductor", "url": url}},
            "routes": [{"name": "to-back", "match": {"dialect": "conductor"}, "backend": "back"}]}


def test_a_child_workflow_started_upstream_stays_with_that_upstream_after_a_route_change(tmp_path):
    with run_gateway(tmp_path / "back") as back, run_gateway(tmp_path / "front", **proxied(back.url)) as front:
        clients = OrkesClients(configuration=Configuration(server_api_url=f"{front.url}/api"))
        meta, wc, tc = clients.get_metadata_client(), clients.get_workflow_client(), clients.get_task_client()
        suffix = uuid.uuid4().hex[:8]
        task_type, child, parent = f"leaf_{suffix}", f"child_{suffix}", f"parent_{suffix}"
        meta.register_task_def(TaskDef(name=task_type, retry_count=0, timeout_seconds=60, response_timeout_seconds=30))
        meta.register_workflow_def(WorkflowDef(name=child, version=1, timeout_seconds=0, tasks=[
            WorkflowTask(name=task_type, task_reference_name="leaf", type="SIMPLE")]), overwrite=True)
        meta.register_workflow_def(WorkflowDef(name=parent, version=1, timeout_seconds=0, tasks=[
            WorkflowTask(name="sub", task_reference_name="sub", type="SUB_WORKFLOW",
                         sub_workflow_param={"name": child, "version": 1})]), overwrite=True)
        parent_id = wc.start_workflow(StartWorkflowRequest(name=parent, version=1, input={}))

        # the child's id reaches the front only inside answers: the parent's task list, the polled task
        run = wc.get_workflow(parent_id, include_tasks=True)
        child_id = next(t.sub_workflow_id for t in run.tasks if t.reference_task_name == "sub" and t.sub_workflow_id)
        polled = tc.poll_task(task_type)
        assert polled is not None and polled.workflow_instance_id == child_id

        # ops move the Conductor dialect to the front's own engine, which never heard of either workflow
        router = front.app.router
        data = gateway_config(tmp_path / "front", **proxied(back.url))
        data["routes"] = [{"name": "all-local", "match": {}, "backend": "engine"}]
        assert asyncio.run_coroutine_threadsafe(router.reload(config_from_dict(data, base_dir=REPO)),
                                                router.loop).result(10)

        # the worker's result and the reads of the child still reach the back, which owns them
        tc.update_task(TaskResult(workflow_instance_id=child_id, task_id=polled.task_id, status="COMPLETED",
                                  output_data={"done": True}, worker_id="w1"))
        assert wc.get_workflow(child_id, include_tasks=True).status == "COMPLETED"
        assert wc.get_workflow(parent_id, include_tasks=False).status == "COMPLETED"
