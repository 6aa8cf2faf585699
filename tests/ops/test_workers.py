"""Issue 14: `wfgateway serve --workers N` -- N processes on one port sharing one SQLite file.

Tokens and cursors issued by one worker are honoured by every other (their keys live in the store),
a worker killed with SIGKILL while timers and schedules fire loses no timer and fires nothing twice,
and SIGTERM lets a request in flight finish."""

from __future__ import annotations

import os
import signal
import threading
import time
from datetime import datetime
from pathlib import Path

import httpx
import pytest

from tests.altostrat.target import Target
from tests.ops.workers_support import serve_workers
from tests.support.server import ThreadServer

pytestmark = pytest.mark.slow  # started first: see tests/conftest.py

KEY_ENV = "OPS_TEST_KEY_SECRET"


def test_tokens_and_cursors_issued_by_one_worker_work_on_every_worker(tmp_path: Path):
    keys = {"auth": {"keys": [{"key_id": "ops", "key_secret_env": KEY_ENV}], "token_secret_env": None}}
    with serve_workers(tmp_path, 2, env={KEY_ENV: "s3cret"}, dialects={"conductor": keys}) as gw:
        for _ in range(6):  # each token from whichever worker accepted the connection
            token = httpx.post(f"{gw.url}/api/token", json={"keyId": "ops", "keySecret": "s3cret"}).json()["token"]
            answers = {httpx.get(f"{gw.url}/api/metadata/workflow", headers={"X-Authorization": token}).status_code
                       for _ in range(8)}  # a new connection each: the kernel spreads them over the workers
            assert answers == {200}

        base = f"{gw.url}/api/v1/projects/default/workflows"
        names = {f"paged-{i}" for i in range(4)}
        for name in names:
            assert httpx.post(base, json={"items": [{"externalId": name}]}).status_code == 200
        for _ in range(5):
            seen, cursor = [], None
            while True:
                page = httpx.get(base, params={"limit": 1, **({"cursor": cursor} if cursor else {})})
                assert page.status_code == 200, page.text  # a cursor sealed by the other worker opens here
                seen += [w["externalId"] for w in page.json()["items"]]
                cursor = page.json().get("nextCursor")
                if not cursor:
                    break
            assert set(seen) == names and len(seen) == len(names)


def test_sigkill_of_a_worker_loses_no_timer_and_fires_no_schedule_twice(tmp_path: Path):
    target = Target()
    server = ThreadServer(target.app())
    server.start()
    try:
        with serve_workers(tmp_path, 2) as gw, httpx.Client(base_url=gw.url, timeout=30) as api:
            schedule = api.post("/workflows", json={
                "name": "Every second", "authorization_id": api.post("/workflows/authorization").json()["id"],
                "schedule_type": "interval", "schedule_value": "1 second",
                "nodes": [{"id": "s", "type": "schedule", "position": {"x": 0, "y": 0}, "data": {}}], "edges": []})
            assert schedule.status_code == 201, schedule.text
            scheduled_at = time.monotonic()
            flow = {"name": "nap", "version": 1, "timeoutSeconds": 0, "tasks": [
                {"name": "nap", "taskReferenceName": "nap_ref", "type": "WAIT", "inputParameters": {"duration": "3s"}},
                {"name": "call", "taskReferenceName": "call_ref", "type": "HTTP",
                 "inputParameters": {"http_request": {"uri": "${workflow.input.uri}", "method": "POST",
                                                      "body": {"n": "${workflow.input.n}"}}}}]}
            assert api.post("/api/metadata/workflow", json=flow).status_code == 200
            runs = {}
            for n in range(16):
                started = api.post("/api/workflow/nap", json={"uri": f"{server.url}/hit/{n}", "n": n})
                assert started.status_code == 200, started.text
                runs[n] = started.text.strip('"')
            victim = gw.workers()[0]
            killed_at = time.time()
            os.kill(victim, signal.SIGKILL)  # its timers (the 3 s waits) are still pending in the store
            api.close()  # a kept-alive connection may have been the killed worker's: new connections
            api = httpx.Client(base_url=gw.url, timeout=30)

            deadline = time.monotonic() + 90
            pending = dict(runs)
            while pending and time.monotonic() < deadline:
                for n, wid in list(pending.items()):
                    status = api.get(f"/api/workflow/{wid}", params={"includeTasks": False}).json()["status"]
                    assert status in ("RUNNING", "COMPLETED"), (n, status)
                    if status == "COMPLETED":
                        del pending[n]
                time.sleep(0.2)
            assert not pending, f"runs whose wait timer was lost: {sorted(pending)}"
            for n in runs:
                assert len(target.calls(f"/hit/{n}")) == 1, f"run {n} called its HTTP task {len(target.calls(f'/hit/{n}'))} times"

            gw.wait_workers(2)  # uvicorn replaced the killed worker
            off = api.put(f"/workflows/{schedule.json()['id']}", json={"is_active": False})
            assert off.status_code == 200
            elapsed = time.monotonic() - scheduled_at
            listed = api.get(f"/workflows/{schedule.json()['id']}/executions", params={"per_page": 100}).json()
            created = sorted(datetime.fromisoformat(r["created_at"].replace("Z", "+00:00")).timestamp()
                             for r in listed["data"])
            assert listed["meta"]["total"] == len(created)
            # the survivor (and the replacement) kept firing: slots after the kill were started.  How many
            # depends on the machine's load (a slot missed while a loop was late is skipped, not caught up)
            assert any(at > killed_at for at in created), (created, killed_at)
            # one run per due time: at most one per second elapsed (both workers tick every second)
            assert len(created) <= int(elapsed) + 1, (len(created), elapsed)
            assert victim not in gw.workers()
            api.close()
    finally:
        server.stop()


def test_sigterm_lets_requests_in_flight_finish(tmp_path: Path):
    with serve_workers(tmp_path, 2) as gw:
        flow = {"name": "hold", "version": 1, "timeoutSeconds": 0, "tasks": [
            {"name": "hold", "taskReferenceName": "hold_ref", "type": "WAIT", "inputParameters": {"duration": "30s"}}]}
        assert httpx.post(f"{gw.url}/api/metadata/workflow", json=flow).status_code == 200
        answers: list[httpx.Response] = []

        def slow_call() -> None:  # a synchronous execute that waits 3 s for a run that will not finish
            answers.append(httpx.post(f"{gw.url}/api/workflow/execute/hold/1", params={"waitForSeconds": 3},
                                      json={"name": "hold"}, timeout=30))

        caller = threading.Thread(target=slow_call)
        caller.start()
        time.sleep(1.0)  # the request is in flight in one of the workers
        gw.proc.send_signal(signal.SIGTERM)
        caller.join(timeout=30)
        assert answers and answers[0].status_code == 200, answers and answers[0].text
        assert answers[0].json()["status"] == "RUNNING" and answers[0].json()["signalTimeout"] is True
        assert gw.proc.wait(timeout=30) == 0


def test_a_synchronous_execute_answers_when_another_worker_completes_its_task(tmp_path: Path):
    """conductor-python's execute_workflow (until the worker task is done) waits in one worker while the
    task is polled and completed on fresh connections, which the kernel hands to either worker.  Each
    execute answers once its task is done, while the 20-second WAIT after it still runs -- also when the
    other process committed the completion (nothing tells a worker of another's commits on SQLite, so a
    wait re-reads the run).  A wait that missed the completion would answer at its 60-second timeout,
    with the WAIT over and the run COMPLETED."""
    from concurrent.futures import ThreadPoolExecutor

    from conductor.client.configuration.configuration import Configuration
    from conductor.client.http.models import StartWorkflowRequest, TaskDef, TaskResult
    from conductor.client.http.models.workflow_def import WorkflowDef
    from conductor.client.http.models.workflow_task import WorkflowTask
    from conductor.client.orkes_clients import OrkesClients

    only_conductor = {"cognite": {"enabled": False}, "altostrat": {"enabled": False}}
    with serve_workers(tmp_path, 2, dialects=only_conductor) as gw:
        cfg = Configuration(server_api_url=f"{gw.url}/api")
        metadata = OrkesClients(cfg).get_metadata_client()
        metadata.register_task_def(TaskDef(name="ops_step", retry_count=0, timeout_seconds=0))
        metadata.register_workflow_def(WorkflowDef(
            name="ops_sync", version=1, schema_version=2, timeout_seconds=0,
            tasks=[WorkflowTask(name="ops_step", task_reference_name="step", type="SIMPLE"),
                   WorkflowTask(name="pause", task_reference_name="pause", type="WAIT",
                                input_parameters={"duration": "20 seconds"})]), overwrite=True)

        def execute(i: int):  # type: ignore[no-untyped-def]
            client = OrkesClients(cfg).get_workflow_client()  # a connection of its own
            return client.execute_workflow(StartWorkflowRequest(name="ops_sync", version=1, input={"i": i}),
                                           wait_until_task_ref="step", wait_for_seconds=60)

        with ThreadPoolExecutor(8) as pool:
            runs = [pool.submit(execute, i) for i in range(8)]
            completed = 0
            while completed < 8:
                tasks = OrkesClients(cfg).get_task_client()  # a new connection: either worker takes it
                task = tasks.poll_task("ops_step", worker_id="ops-worker")
                if task is None or not task.task_id:  # nothing queued: the SDK reads the 204 as an empty Task
                    time.sleep(0.05)
                    continue
                tasks.update_task(TaskResult(workflow_instance_id=task.workflow_instance_id, task_id=task.task_id,
                                             status="COMPLETED", output_data={"by": "a worker"}))
                completed += 1
            answers = [run.result(timeout=90) for run in runs]
    assert [a.status for a in answers] == ["RUNNING"] * 8
    assert [[(t.reference_task_name, t.status) for t in a.tasks] for a in answers] == [
        [("step", "COMPLETED"), ("pause", "IN_PROGRESS")]] * 8
