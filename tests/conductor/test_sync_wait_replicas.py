"""Synchronous waits across replicas: two gateway processes (``wfgateway serve``) on one PostgreSQL
store, conductor-python 2.0.0 as the client.  A wait on replica A -- a synchronous execute or a
synchronous signal -- answers as soon as a sub-workflow two levels down blocks on a WAIT task, when
the worker task before it is completed through replica B.  A wait nobody woke answers only when its
time runs out, and then without the blocking task (``signalTimeout`` true): the assertions below
fail that way.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import psycopg
import pytest
from conductor.client.configuration.configuration import Configuration
from conductor.client.http.models import StartWorkflowRequest, TaskResult
from conductor.client.http.models.sub_workflow_params import SubWorkflowParams
from conductor.client.http.models.workflow_def import WorkflowDef
from conductor.client.http.models.workflow_task import WorkflowTask
from conductor.client.orkes_clients import OrkesClients
from conductor.client.workflow.executor.workflow_executor import WorkflowExecutor
from psycopg import sql

from tests.engine.pg import PG_DSN, create_schema, drop_schema
from tests.support.server import run_gateway_process

pytestmark = pytest.mark.postgres

ONLY_CONDUCTOR = {"cognite": {"enabled": False}, "altostrat": {"enabled": False}}
WAIT_S = 60  # far longer than the test needs: an answer only this timeout gave has no blocking task


@dataclass
class Replicas:
    a: str
    b: str
    schema: str

    def clients(self, url: str) -> OrkesClients:
        return OrkesClients(configuration=Configuration(server_api_url=f"{url}/api"))


@pytest.fixture(scope="module")
def replicas(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Replicas]:
    schema = create_schema()
    store = {"kind": "postgres", "dsn": PG_DSN, "schema": schema}
    try:
        with run_gateway_process(tmp_path_factory.mktemp("replica-a"), dialects=ONLY_CONDUCTOR, store=store) as a, \
                run_gateway_process(tmp_path_factory.mktemp("replica-b"), dialects=ONLY_CONDUCTOR, store=store) as b:
            yield Replicas(a, b, schema)
    finally:
        drop_schema(schema)


def register_nested(clients: OrkesClients, prefix: str, inner: list[WorkflowTask]) -> str:
    """``<prefix>_outer`` -> SUB_WORKFLOW ``<prefix>_middle`` -> SUB_WORKFLOW ``<prefix>_inner`` (``inner``)."""
    levels = {f"{prefix}_inner": inner, f"{prefix}_middle": [sub_workflow("to_inner", f"{prefix}_inner")],
              f"{prefix}_outer": [sub_workflow("to_middle", f"{prefix}_middle")]}
    for name, tasks in levels.items():
        clients.get_metadata_client().register_workflow_def(
            WorkflowDef(name=name, version=1, schema_version=2, timeout_seconds=0, tasks=tasks), overwrite=True)
    return f"{prefix}_outer"


def sub_workflow(ref: str, name: str) -> WorkflowTask:
    return WorkflowTask(name=ref, task_reference_name=ref, type="SUB_WORKFLOW",
                        sub_workflow_param=SubWorkflowParams(name=name, version=1))


def wait_task(ref: str) -> WorkflowTask:
    return WorkflowTask(name=ref, task_reference_name=ref, type="WAIT")


def worker_task(name: str) -> WorkflowTask:
    return WorkflowTask(name=name, task_reference_name="work_ref", type="SIMPLE")


def in_background(fn: Any) -> tuple[threading.Thread, dict[str, Any]]:
    out: dict[str, Any] = {}

    def run() -> None:
        try:
            out["answer"] = fn()
        except BaseException as exc:  # re-raised by the test through its assertion message
            out["error"] = exc

    thread = threading.Thread(target=run)
    thread.start()
    return thread, out


def complete_through(clients: OrkesClients, task_type: str) -> str:
    """Replica B's worker: long polls until the task is there, completes it; the inner workflow's id."""
    tasks = clients.get_task_client()
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        polled = tasks.batch_poll_tasks(task_type, worker_id="worker-b", count=1, timeout_in_millisecond=500)
        if polled:
            task = polled[0]
            tasks.update_task(TaskResult(workflow_instance_id=task.workflow_instance_id, task_id=task.task_id,
                                         status="COMPLETED", output_data={"by": "b"}, worker_id="worker-b"))
            return str(task.workflow_instance_id)
    raise AssertionError(f"replica B never saw a {task_type} task")


def test_execute_on_a_answers_the_wait_a_grandchild_reaches_after_b_completes_its_worker_task(
        replicas: Replicas) -> None:
    ca, cb = replicas.clients(replicas.a), replicas.clients(replicas.b)
    outer = register_nested(ca, "rw_exec", [worker_task("rw_exec_work"), wait_task("hold_ref")])
    executor = WorkflowExecutor(ca.configuration)
    request = StartWorkflowRequest(name=outer, version=1, input={"k": 1})
    thread, out = in_background(lambda: executor.execute_workflow_with_return_strategy(
        request, wait_for_seconds=WAIT_S, return_strategy="BLOCKING_TASK"))

    inner = complete_through(cb, "rw_exec_work")
    thread.join(timeout=WAIT_S + 30)
    assert "error" not in out, out.get("error")
    run = out["answer"]
    # woken by B's commit: a wait that ran out answers the outer run without a blocking task
    assert (run.reference_task_name, run.task_type, run.status and run.status.value) == (
        "hold_ref", "WAIT", "IN_PROGRESS"), run
    assert run.workflow_id == inner and run.target_workflow_status == "RUNNING"
    run_on_b = cb.get_workflow_client().get_workflow(inner, include_tasks=True)
    assert [(t.reference_task_name, t.status) for t in run_on_b.tasks] == [("work_ref", "COMPLETED"),
                                                                           ("hold_ref", "IN_PROGRESS")]


def test_signal_sync_on_a_answers_the_next_wait_after_b_completes_the_worker_task_between(
        replicas: Replicas) -> None:
    ca, cb = replicas.clients(replicas.a), replicas.clients(replicas.b)
    outer_name = register_nested(ca, "rw_sig", [wait_task("first_ref"), worker_task("rw_sig_work"),
                                                wait_task("second_ref")])
    outer = cb.get_workflow_client().start_workflow(StartWorkflowRequest(name=outer_name, version=1))

    def signal() -> httpx.Response:  # the SDK's signal has no timeoutMillis (5 s); the API has
        deadline = time.monotonic() + 20
        while True:  # the grandchild starts right after the outer run; until its WAIT is there: 404
            got = httpx.post(f"{replicas.a}/api/tasks/{outer}/COMPLETED/signal/sync", json={"ok": 1},
                             params={"timeoutMillis": WAIT_S * 1000, "returnStrategy": "BLOCKING_TASK"},
                             timeout=WAIT_S + 30)
            if got.status_code != 404 or time.monotonic() > deadline:
                return got
            time.sleep(0.05)

    thread, out = in_background(signal)
    inner = complete_through(cb, "rw_sig_work")
    thread.join(timeout=WAIT_S + 60)
    assert "error" not in out, out.get("error")
    got = out["answer"]
    assert got.status_code == 200, got.text
    run = got.json()
    assert run["signalTimeout"] is False, run  # woken by B's commit, not by timeoutMillis running out
    assert (run["referenceTaskName"], run["taskType"], run["status"]) == ("second_ref", "WAIT", "IN_PROGRESS")
    assert run["workflowId"] == inner and run["targetWorkflowId"] == outer


def test_only_waited_runs_and_their_sub_workflows_cost_a_notification(replicas: Replicas) -> None:
    """What the replicas tell each other on the database: each change of a sub-workflow of a run that is
    waited on names it and its ancestors; a run nobody waits on costs no notification at all."""
    ca, cb = replicas.clients(replicas.a), replicas.clients(replicas.b)
    with psycopg.connect(PG_DSN, autocommit=True) as listener:
        listener.execute(sql.SQL("LISTEN {}").format(sql.Identifier(f"wfgateway_changes_{replicas.schema}")))
        quiet = cb.get_workflow_client().start_workflow(StartWorkflowRequest(
            name=register_nested(ca, "rw_quiet", [worker_task("rw_quiet_work")]), version=1))
        quiet_inner = complete_through(cb, "rw_quiet_work")
        assert cb.get_workflow_client().get_workflow(quiet, include_tasks=False).status == "COMPLETED"

        request = StartWorkflowRequest(name=register_nested(ca, "rw_loud", [worker_task("rw_loud_work")]), version=1)
        executor = WorkflowExecutor(ca.configuration)
        thread, out = in_background(lambda: executor.execute_workflow(request, wait_for_seconds=WAIT_S))
        loud_inner = complete_through(cb, "rw_loud_work")
        thread.join(timeout=WAIT_S + 30)
        assert "error" not in out, out.get("error")
        assert out["answer"].status == "COMPLETED"
        loud_middle = cb.get_workflow_client().get_workflow(loud_inner, include_tasks=False).parent_workflow_id
        loud = {out["answer"].workflow_id, loud_middle, loud_inner}

        named: set[str] = set()  # notifications arrive in commit order: the quiet run's would come first
        for note in listener.notifies(timeout=30):
            named.add(note.payload)
            if loud <= named:
                break
    assert loud <= named
    quiet_middle = cb.get_workflow_client().get_workflow(quiet_inner, include_tasks=False).parent_workflow_id
    assert not named & {quiet, quiet_middle, quiet_inner}
