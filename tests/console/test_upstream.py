"""Runs the gateway routed to an upstream vendor appear in the console from the run registry, read back
through the upstream backend, and are acted on through the same routed operations: a Cognite run on a
Conductor upstream (a back gateway playing Conductor) is found, shown FAILED and retried with Cognite's
retry, which the client half carries out as Conductor's retry upstream."""

from __future__ import annotations

import time

import httpx
from cognite.client import ClientConfig, CogniteClient, global_config
from cognite.client.credentials import Token
from conductor.client.configuration.configuration import Configuration
from conductor.client.http.models import TaskDef, TaskResult
from conductor.client.http.models.workflow_def import WorkflowDef
from conductor.client.http.models.workflow_task import WorkflowTask as ConductorTask
from conductor.client.orkes_clients import OrkesClients

from tests.support.server import run_gateway

global_config.disable_pypi_version_check = True
global_config.max_retries = 0


def until(fn, what: str, timeout: float = 20.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = fn()
        if got:
            return got
        time.sleep(0.05)
    raise AssertionError(f"never happened: {what}")


def test_a_run_on_an_upstream_vendor_is_listed_shown_and_retried(tmp_path):
    with run_gateway(tmp_path / "back") as back:
        vendor = OrkesClients(configuration=Configuration(server_api_url=f"{back.url}/api"))
        vendor.get_metadata_client().register_task_def(TaskDef(name="up_step", retry_count=0))
        vendor.get_metadata_client().register_workflow_def(WorkflowDef(
            name="up_flow", version=1, timeout_seconds=0,
            tasks=[ConductorTask(name="up_step", task_reference_name="step", type="SIMPLE")]), overwrite=True)
        tasks = vendor.get_task_client()
        routes = {"backends": {"engine": {"kind": "engine"},
                               "vendor": {"kind": "upstream", "dialect": "conductor", "url": back.url, "retries": 0}},
                  "routes": [{"match": {"dialect": "cognite"}, "backend": "vendor"}, {"match": {}, "backend": "engine"}]}
        with run_gateway(tmp_path / "front", **routes) as front:
            client = CogniteClient(ClientConfig(client_name="console", base_url=front.url, project="acme",
                                                credentials=Token("t"), timeout=20))
            run_id = client.workflows.executions.run("up_flow", "1", input={"a": 1}).id

            def work(status: str) -> None:
                polled = until(lambda: tasks.poll_task("up_step", worker_id="w1"), "the upstream task is polled")
                tasks.update_task(TaskResult(workflow_instance_id=run_id, task_id=polled.task_id, status=status,
                                             worker_id="w1"))

            work("FAILED")
            console = httpx.Client(base_url=front.url)
            csrf = console.get("/console/api/session").json()["identity"]["csrf"]
            assert console.get("/console/api/runs", params={"tenant": "acme"}).json()["runs"] == []  # not the engine's

            def upstream_row() -> dict:
                rows = console.get("/console/api/upstream", params={"tenant": "acme"}).json()["runs"]
                return rows[0] if rows and rows[0].get("status") == "FAILED" else {}

            row = until(upstream_row, "the upstream run is listed FAILED")
            assert (row["id"], row["backend"], row["dialect"]) == (run_id, "vendor", "cognite")
            assert row["words"] == {"title": "Cognite", "id_name": "executionId", "status": "FAILED", "workflow": "up_flow"}
            detail = console.get(f"/console/api/runs/{run_id}", params={"tenant": "acme"}).json()
            assert detail["run"]["backend"] == "vendor"
            assert {n["id"]: n["status"] for n in detail["graph"]["nodes"]} == {"step": "FAILED"}
            # the task reads as the Cognite type Cognite's own API gives it, not the engine's kind
            shown = client.workflows.executions.retrieve_detailed(run_id).executed_tasks[0].task_type
            assert shown == "function"
            assert [(n["label"], n["kind"]) for n in detail["graph"]["nodes"]] == [(shown, "worker")]

            retried = console.post(f"/console/api/runs/{run_id}/actions/retry", headers={"x-console-csrf": csrf},
                                   json={"tenant": "acme"}).json()
            assert retried["ok"] is True and retried["by"] == "Cognite"
            work("COMPLETED")
            assert until(lambda: vendor.get_workflow_client().get_workflow(run_id, include_tasks=False).status
                         == "COMPLETED", "the upstream run completes")
            assert console.get("/console/api/upstream", params={"tenant": "acme"}).json()["runs"][0]["status"] == "COMPLETED"
            assert console.get("/console/api/upstream", params={"tenant": "other"}).json()["runs"] == []
