"""GET /api/workflow/{id} answers an unchanged run from the bytes it rendered last time (README
"Workers, tracing and the access log": the stored GET).  A kept answer must never be stale: every
change to the run -- made through this gateway or through another gateway process on the same store,
to the run itself or only to one of its tasks (a poll) -- is seen by the very next read, on SQLite and
on PostgreSQL.  Gateway A runs in this process (its cache is inspected), gateway B is a real
``wfgateway serve`` process sharing A's store.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from conductor.client.configuration.configuration import Configuration
from conductor.client.http.models import RerunWorkflowRequest, StartWorkflowRequest, TaskDef, TaskResult
from conductor.client.http.models.workflow_def import WorkflowDef
from conductor.client.http.models.workflow_task import WorkflowTask
from conductor.client.http.rest import ApiException
from conductor.client.orkes_clients import OrkesClients

from tests.conductor.conftest import ONLY_CONDUCTOR
from tests.engine.pg import PG_DSN, create_schema, drop_schema
from tests.support.server import RunningGateway, run_gateway, run_gateway_process

TASK = "cached_read_task"
FLOW = "cached_read_flow"


@dataclass
class Pair:
    a: RunningGateway
    ca: OrkesClients  # gateway A (this process)
    cb: OrkesClients  # gateway B (its own process, same store)

    def hits(self) -> int:
        return self.a.app.context.answers.hits


def _store(kind: str, tmp: Path) -> tuple[dict[str, Any], str | None]:
    if kind == "sqlite":
        return {"kind": "sqlite", "path": str(tmp / "shared.db")}, None
    schema = create_schema()
    return {"kind": "postgres", "dsn": PG_DSN, "schema": schema}, schema


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def pair(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pair]:
    tmp = tmp_path_factory.mktemp(f"cached-reads-{request.param}")
    store, schema = _store(request.param, tmp)
    try:
        with run_gateway(tmp, dialects=ONLY_CONDUCTOR, store=store) as a, \
                run_gateway_process(tmp, dialects=ONLY_CONDUCTOR, store=store) as b_url:
            ca = OrkesClients(configuration=Configuration(server_api_url=f"{a.url}/api"))
            cb = OrkesClients(configuration=Configuration(server_api_url=f"{b_url}/api"))
            ca.get_metadata_client().register_task_def(TaskDef(name=TASK, retry_count=0))
            flow = WorkflowDef(name=FLOW, version=1, timeout_seconds=0,
                               tasks=[WorkflowTask(name=TASK, task_reference_name="work", type="SIMPLE",
                                                   input_parameters={"n": "${workflow.input.n}"})])
            ca.get_metadata_client().register_workflow_def(flow, overwrite=True)
            yield Pair(a, ca, cb)
    finally:
        if schema is not None:
            drop_schema(schema)


def _read(clients: OrkesClients, workflow_id: str, include_tasks: bool = True) -> Any:
    # the SDK's get_workflow leaves includeTasks out when False; its resource API sends it
    return clients.get_workflow_client().workflowResourceApi.get_execution_status(workflow_id,
                                                                                  include_tasks=include_tasks)


def test_every_change_is_seen_by_the_next_read_through_either_gateway(pair: Pair) -> None:
    wa, wb = pair.ca.get_workflow_client(), pair.cb.get_workflow_client()
    workflow_id = wa.start_workflow(StartWorkflowRequest(name=FLOW, version=1, input={"n": 1}))

    before = pair.hits()
    first, again = _read(pair.ca, workflow_id), _read(pair.ca, workflow_id)
    assert pair.hits() > before, "the second read of an unchanged run is answered from the kept bytes"
    assert first.to_dict() == again.to_dict()
    assert (again.status, [t.status for t in again.tasks]) == ("RUNNING", ["SCHEDULED"])
    assert _read(pair.ca, workflow_id, include_tasks=False).tasks == []  # each variant is kept apart
    assert _read(pair.cb, workflow_id).status == _read(pair.cb, workflow_id).status == "RUNNING"

    # a change to one task only (B's poll claims it): A's next read shows it
    polled = pair.cb.get_task_client().poll_task(TASK, worker_id="worker-b")
    assert polled is not None and polled.workflow_instance_id == workflow_id
    task = _read(pair.ca, workflow_id).tasks[0]
    assert (task.status, task.worker_id, task.poll_count) == ("IN_PROGRESS", "worker-b", 1)

    # the run itself, changed through A, read through B and back
    wa.pause_workflow(workflow_id)
    assert _read(pair.cb, workflow_id).status == "PAUSED"
    wb.resume_workflow(workflow_id)
    assert _read(pair.ca, workflow_id).status == "RUNNING"

    # the task completed through A: B (which kept the RUNNING answer) reads COMPLETED with the output
    pair.ca.get_task_client().update_task(TaskResult(workflow_instance_id=workflow_id, task_id=polled.task_id,
                                                     status="COMPLETED", output_data={"done": 1}))
    for clients in (pair.cb, pair.ca):
        done = _read(clients, workflow_id)
        assert (done.status, done.tasks[0].status, done.tasks[0].output_data) == ("COMPLETED", "COMPLETED",
                                                                                  {"done": 1})
    assert _read(pair.ca, workflow_id, include_tasks=False).status == "COMPLETED"

    # rerun with new input through B: A shows the new input and the task queued again
    wb.rerun_workflow(workflow_id, RerunWorkflowRequest(workflow_input={"n": 2}))
    rerun = _read(pair.ca, workflow_id)
    assert (rerun.status, rerun.input, [t.status for t in rerun.tasks]) == ("RUNNING", {"n": 2}, ["SCHEDULED"])
    assert rerun.tasks[0].input_data == {"n": 2}

    # removed through A: B's kept answer is not served
    _read(pair.cb, workflow_id)
    wa.terminate_workflow(workflow_id, reason="done here")
    assert _read(pair.cb, workflow_id).reason_for_incompletion == "done here"
    wa.delete_workflow(workflow_id, archive_workflow=False)
    for clients in (pair.cb, pair.ca):
        with pytest.raises(ApiException) as gone:
            _read(clients, workflow_id)
        assert gone.value.status == 404
        assert f"No such workflow found by id: {workflow_id}" in gone.value.body
