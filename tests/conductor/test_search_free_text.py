"""Free text in a workflow search, through conductor-python 2.0.0's ``WorkflowClient.search(free_text=...)``:
a workflow id, a correlation id or a workflow name typed into the box finds those runs (the OSS server's
index matches the text anywhere in the run; ids and names are what users type there), together with the
query's filters, with a totalHits that counts each run once."""

from __future__ import annotations

import time
import uuid
from typing import Any

from conductor.client.configuration.configuration import Configuration
from conductor.client.http.api_client import ApiClient
from conductor.client.http.models import StartWorkflowRequest, TaskDef
from conductor.client.http.models.workflow_def import WorkflowDef
from conductor.client.http.models.workflow_task import WorkflowTask
from conductor.client.orkes_clients import OrkesClients


def _hits(config: Configuration, **query: Any) -> tuple[int, list[str]]:
    """(totalHits, workflow ids) of GET /api/workflow/search through the SDK's HTTP client: its
    ``WorkflowClient.search`` answers the results without the total."""
    found = ApiClient(config).call_api("/workflow/search", "GET", query_params=list(query.items()),
                                       response_type="SearchResultWorkflowSummary", _return_http_data_only=True)
    return found.total_hits, [r.workflow_id for r in found.results]


def _flow(clients: OrkesClients) -> str:
    name = f"free_{uuid.uuid4().hex[:8]}"
    clients.get_metadata_client().register_task_def(TaskDef(name=f"{name}_t", timeout_seconds=60, response_timeout_seconds=30))
    clients.get_metadata_client().register_workflow_def(WorkflowDef(
        name=name, version=1, timeout_seconds=0,
        tasks=[WorkflowTask(name=f"{name}_t", task_reference_name="t", type="SIMPLE")]), overwrite=True)
    return name


def _start(clients: OrkesClients, name: str, correlation_id: str | None = None) -> str:
    return clients.get_workflow_client().start_workflow(
        StartWorkflowRequest(name=name, version=1, input={}, correlation_id=correlation_id))


def test_free_text_finds_runs_by_workflow_name_correlation_id_and_id(clients: OrkesClients, config: Configuration
                                                                     ) -> None:
    workflows = clients.get_workflow_client()
    name, other = _flow(clients), _flow(clients)
    correlation = f"order-{uuid.uuid4().hex[:6]}"
    mine = [_start(clients, name) for _ in range(3)]
    correlated = [_start(clients, other, correlation), _start(clients, name, correlation)]
    lone = _start(clients, other)

    by_name = workflows.search(free_text=name, size=100).results
    assert {r.workflow_id for r in by_name} == {*mine, correlated[1]}
    assert all(r.workflow_type == name for r in by_name)
    assert _hits(config, freeText=name)[0] == 4

    assert {r.workflow_id for r in workflows.search(free_text=correlation).results} == set(correlated)
    assert _hits(config, freeText=correlation)[0] == 2

    assert [r.workflow_id for r in workflows.search(free_text=lone).results] == [lone]
    assert _hits(config, freeText=lone) == (1, [lone])
    assert _hits(config, freeText=lone, query="status IN (FAILED)") == (0, [])  # the run is RUNNING

    assert _hits(config, freeText=f"nothing-{uuid.uuid4().hex}") == (0, [])


def test_free_text_pages_newest_first_and_keeps_the_querys_filters(clients: OrkesClients, config: Configuration
                                                                   ) -> None:
    workflows = clients.get_workflow_client()
    name = _flow(clients)
    started = []
    for _ in range(5):
        started.append(_start(clients, name))
        time.sleep(0.005)  # apart by milliseconds, so newest-first is the reverse of starting order
    workflows.terminate_workflow(started[0], reason="stop")

    first = workflows.search(free_text=name, start=0, size=2).results
    second = workflows.search(free_text=name, start=2, size=2).results
    assert [r.workflow_id for r in first + second] == started[::-1][:4]
    assert _hits(config, freeText=name, start=2, size=2) == (5, started[::-1][2:4])

    running = _hits(config, freeText=name, query="status IN (RUNNING)")
    assert running[0] == 4 and started[0] not in running[1]
    assert _hits(config, freeText=name, query="workflowType IN (someone_else)") == (0, [])
    assert _hits(config, freeText=name, size=0) == (5, [])
