"""Every error the Cognite handlers raise, as the unmodified SDK reports it, on the gateway as
config.yaml ships it: exception class, status, message and ``missing``/``duplicated`` for each.

Where CDF's text is known (its SDK's integration tests and docs match on it: "workflows were not
found", "running executions", "Workflow trigger not found.", "Trigger not found.", "Task with id ...
is already in a terminal state") the gateway answers that text; the others are the gateway's own
wording in CDF's error body."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from cognite.client import CogniteClient
from cognite.client.data_classes.workflows import WorkflowScheduledTriggerRule, WorkflowTriggerUpsert
from cognite.client.exceptions import CogniteAPIError, CogniteNotFoundError

from tests.cognite.conftest import sdk_client
from tests.cognite.test_sdk_retry import async_task, unique, upsert, wait_status, wait_task
from tests.support.server import run_gateway

MISSING_ID = "00000000-0000-4000-8000-000000000000"


@dataclass
class World:
    client: CogniteClient
    busy: str  # a workflow with a RUNNING execution
    idle: str  # a workflow without one
    running: str  # that execution
    done: str  # a COMPLETED execution
    done_task: str  # its finished task


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    with run_gateway(tmp_path_factory.mktemp("cognite-errors")) as gw:
        client = sdk_client(gw.url, "plant-errors")
        busy, idle = unique("busy"), unique("idle")
        upsert(client, busy, [async_task("a")])
        upsert(client, idle, [async_task("a")])
        running = client.workflows.executions.run(busy, "1").id
        wait_task(client, running, "a", "in_progress")
        done = client.workflows.executions.run(idle, "1").id
        task = wait_task(client, done, "a", "in_progress")
        client.workflows.tasks.update(task.id, "completed")
        wait_status(client, done, "completed")
        yield World(client, busy, idle, running, done, task.id)


def nightly(workflow: str, cron: str = "0 0 * * *") -> WorkflowTriggerUpsert:
    return WorkflowTriggerUpsert(unique("tr"), WorkflowScheduledTriggerRule(cron), workflow, "1")


def reuse_nonce(w: World) -> Any:
    session = w.client.iam.sessions.create()
    w.client.workflows.executions.run(w.idle, "1", nonce=session.nonce)
    return w.client.post(f"/api/v1/projects/{w.client.config.project}/workflows/executions/{w.done}/retry",
                         json={"authentication": {"nonce": session.nonce}})


# (case, call, exception class, status, message (exact, or ending with "..." for a prefix), missing)
CASES: list[tuple[str, Callable[[World], Any], type[CogniteAPIError], int, str, list[dict] | None]] = [
    ("delete unknown workflow", lambda w: w.client.workflows.delete("nope", ignore_unknown_ids=False),
     CogniteNotFoundError, 404, "The following workflows were not found", [{"externalId": "nope"}]),
    ("delete workflow with a running execution", lambda w: w.client.workflows.delete(w.busy),
     CogniteAPIError, 409, "Some of the specified workflows have running executions", None),
    ("delete unknown version", lambda w: w.client.workflows.versions.delete(("nope", "9")),
     CogniteNotFoundError, 404, "The following workflow versions were not found",
     [{"workflowExternalId": "nope", "version": "9"}]),
    ("delete version with a running execution", lambda w: w.client.workflows.versions.delete((w.busy, "1")),
     CogniteAPIError, 409, "Some of the specified workflows have running executions", None),
    ("run an unknown version", lambda w: w.client.workflows.executions.run("nope", "9"),
     CogniteNotFoundError, 404, "Workflow version 'nope' version '9' not found",
     [{"workflowExternalId": "nope", "version": "9"}]),
    ("run with more than 100 KB of input", lambda w: w.client.workflows.executions.run(
        w.busy, "1", input={"blob": "x" * 110_000}),
     CogniteAPIError, 400, "The workflow input is 110011 bytes of JSON; at most 102400 (100 KB) are allowed", None),
    ("run with a nonce never issued", lambda w: w.client.workflows.executions.run(w.busy, "1", nonce="made-up"),
     CogniteAPIError, 400,
     "Failed to bind session using nonce: no session with this nonce exists in the project", None),
    ("cancel an unknown execution", lambda w: w.client.workflows.executions.cancel(MISSING_ID, "x"),
     CogniteNotFoundError, 404, f"Workflow execution {MISSING_ID} not found", [{"id": MISSING_ID}]),
    ("cancel a completed execution", lambda w: w.client.workflows.executions.cancel(w.done, "x"),
     CogniteAPIError, 400, "Workflow execution {done} cannot be cancelled: it is already in a terminal state "
     "(status=COMPLETED)", None),
    ("retry an unknown execution", lambda w: w.client.workflows.executions.retry(MISSING_ID),
     CogniteNotFoundError, 404, f"Workflow execution {MISSING_ID} not found", [{"id": MISSING_ID}]),
    ("retry a running execution", lambda w: w.client.workflows.executions.retry(w.running),
     CogniteAPIError, 400, "Workflow execution {running} is not in a retryable state (status=RUNNING); only "
     "FAILED, TIMED_OUT and TERMINATED executions can be retried", None),
    ("update an unknown task", lambda w: w.client.workflows.tasks.update(MISSING_ID, "completed"),
     CogniteNotFoundError, 404, f"Task with id {MISSING_ID} not found", [{"id": MISSING_ID}]),
    ("update a finished task", lambda w: w.client.workflows.tasks.update(w.done_task, "completed"),
     CogniteAPIError, 400, "Task with id {done_task} is already in a terminal state", None),
    ("history of an unknown trigger", lambda w: w.client.workflows.triggers.list_runs("nope"),
     CogniteNotFoundError, 404, "Workflow trigger not found.", [{"externalId": "nope"}]),
    ("pause an unknown trigger", lambda w: w.client.workflows.triggers.pause("nope"),
     CogniteNotFoundError, 404, "Trigger not found.", [{"externalId": "nope"}]),
    ("resume an unknown trigger", lambda w: w.client.workflows.triggers.resume("nope"),
     CogniteNotFoundError, 404, "Trigger not found.", [{"externalId": "nope"}]),
    ("delete an unknown trigger", lambda w: w.client.workflows.triggers.delete("nope"),
     CogniteNotFoundError, 400, "The following workflow triggers were not found", [{"externalId": "nope"}]),
    ("trigger for an unknown version", lambda w: w.client.workflows.triggers.upsert(nightly("nope")),
     CogniteNotFoundError, 404, "Workflow version 'nope' version '1' not found",
     [{"workflowExternalId": "nope", "version": "1"}]),
    ("trigger with a bad cron expression", lambda w: w.client.workflows.triggers.upsert(nightly(w.busy, "61 * * * *")),
     CogniteAPIError, 400, "Invalid cron expression '61 * * * *': expected five fields (minute hour day month "
     "weekday)", None),
    ("version with a duplicated task", lambda w: upsert(w.client, unique("dup"), [async_task("a"), async_task("a")]),
     CogniteAPIError, 400, "Task externalId 'a' is duplicated in the workflow definition", None),
    ("version depending on an unknown task", lambda w: upsert(w.client, unique("dep"), [
        async_task("a", depends_on=["ghost"])]),
     CogniteAPIError, 400, "Task 'a' depends on unknown task 'ghost'", None),
    ("a nonce used for a run, presented for a retry", lambda w: reuse_nonce(w),
     CogniteAPIError, 400, "Invalid nonce: the session nonce has already been used", None),
    ("retrieve unknown sessions", lambda w: w.client.iam.sessions.retrieve([1, 2]),
     CogniteNotFoundError, 400, "Sessions not found", [{"id": 1}, {"id": 2}]),
    ("revoke unknown sessions", lambda w: w.client.iam.sessions.revoke([3]),
     CogniteNotFoundError, 400, "Sessions not found", [{"id": 3}]),
]


@pytest.mark.parametrize(("call", "kind", "status", "message", "missing"),
                         [case[1:] for case in CASES], ids=[case[0] for case in CASES])
def test_each_error_is_cdf_shaped(world: World, call, kind, status, message, missing):
    with pytest.raises(CogniteAPIError) as caught:
        call(world)
    err = caught.value
    assert type(err) is kind
    assert err.code == status
    assert err.message == message.format(**vars(world))
    assert (err.missing or None) == missing and not err.duplicated  # the SDK turns an absent list into []


def test_what_the_sdk_turns_into_none(world: World):
    """Unknown workflows and versions are 404 and unknown executions 400: the SDK answers None."""
    assert world.client.workflows.retrieve("nope") is None
    assert world.client.workflows.versions.retrieve(("nope", "1")) is None
    assert world.client.workflows.executions.retrieve_detailed(MISSING_ID) is None
