"""What the conductor-python acceptance modules share: a worker process pool for one task type and
waiting for a workflow to reach a status."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from typing import Any

from conductor.client.automator.task_handler import TaskHandler
from conductor.client.configuration.configuration import Configuration
from conductor.client.http.models import TaskDef
from conductor.client.http.models.workflow import Workflow
from conductor.client.orkes_clients import OrkesClients
from conductor.client.worker.worker import Worker


@contextlib.contextmanager
def worker_processes(config: Configuration, clients: OrkesClients, task_type: str,
                     execute: Callable[..., Any]) -> Iterator[None]:
    """Register ``task_type`` (no retries) and serve it with the SDK's own worker processes."""
    clients.get_metadata_client().register_task_def(
        TaskDef(name=task_type, retry_count=0, timeout_seconds=60, response_timeout_seconds=30))
    handler = TaskHandler(workers=[Worker(task_type, execute, poll_interval=50)], configuration=config,
                          scan_for_annotated_workers=False, monitor_processes=False)
    handler.start_processes()
    try:
        yield
    finally:
        handler.stop_processes()


def wait_status(clients: OrkesClients, workflow_id: str, *statuses: str, timeout: float = 20.0) -> Workflow:
    """The workflow (with its tasks) once it is in one of ``statuses``; fails with its task rows otherwise."""
    wc = clients.get_workflow_client()
    deadline = time.monotonic() + timeout
    while True:
        wf = wc.get_workflow(workflow_id, include_tasks=True)
        if wf.status in statuses:
            return wf
        if time.monotonic() > deadline:
            raise AssertionError(f"workflow {workflow_id} is {wf.status}, expected {statuses}: {rows(wf)}")
        time.sleep(0.05)


def rows(wf: Workflow) -> list[tuple[str, str]]:
    return [(t.reference_task_name, t.status) for t in wf.tasks]
