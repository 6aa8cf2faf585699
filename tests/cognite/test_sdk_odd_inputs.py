"""What a cognite-sdk user meets with odd inputs, where CDF's docs say what happens: a delete naming an
unknown workflow or version is 404 and deletes nothing of its batch; a task id must be 36 characters;
a task update's output is at most 100 KB; a session status filter is taken in the lower case of
CDF's docs as well as the upper case the SDK sends; and an oversized value is not echoed back whole."""

from __future__ import annotations

import httpx
import pytest
from cognite.client.data_classes.workflows import (
    FunctionTaskParameters,
    WorkflowDefinitionUpsert,
    WorkflowTask,
    WorkflowUpsert,
    WorkflowVersionUpsert,
)
from cognite.client.exceptions import CogniteAPIError, CogniteNotFoundError

from tests.cognite.conftest import sdk_client
from tests.cognite.test_sdk_retry import async_task, unique, upsert, wait_task


def test_a_delete_naming_an_unknown_workflow_or_version_is_404_and_deletes_nothing(client):
    kept, ghost = unique("kept"), unique("ghost")
    upsert(client, kept, [async_task("a")])

    with pytest.raises(CogniteNotFoundError) as versions:
        client.workflows.versions.delete([(kept, "1"), (kept, "9")])
    assert versions.value.code == 404
    assert versions.value.missing == [{"workflowExternalId": kept, "version": "9"}]
    assert client.workflows.versions.retrieve((kept, "1")) is not None

    with pytest.raises(CogniteNotFoundError) as workflows:
        client.workflows.delete([kept, ghost, ghost])
    assert workflows.value.code == 404 and workflows.value.missing == [{"externalId": ghost}]
    assert client.workflows.retrieve(kept) is not None

    client.workflows.delete([kept, ghost], ignore_unknown_ids=True)
    assert client.workflows.retrieve(kept) is None


def test_task_ids_are_36_characters_and_task_output_at_most_100_kb(client, gateway):
    xid = unique("odd-task")
    upsert(client, xid, [async_task("a")])
    run = client.workflows.executions.run(xid, "1")
    task = wait_task(client, run.id, "a", "in_progress")

    with pytest.raises(CogniteAPIError) as short:
        client.workflows.tasks.update("not-a-task-id", "completed")
    assert type(short.value) is CogniteAPIError and short.value.code == 400
    assert "taskId" in short.value.message

    with pytest.raises(CogniteAPIError) as big:
        client.workflows.tasks.update(task.id, "completed", output={"blob": "x" * 110_000})
    assert type(big.value) is CogniteAPIError and big.value.code == 400
    assert big.value.message == "The task output is 110011 bytes of JSON; at most 102400 (100 KB) are allowed"
    assert wait_task(client, run.id, "a", "in_progress").id == task.id  # refused: the task still waits

    done = client.workflows.tasks.update(task.id, "completed", output={"blob": "x" * 100_000})
    assert done.status == "completed"


def test_an_oversized_value_is_named_with_its_rule_but_not_echoed_whole(client):
    with pytest.raises(CogniteAPIError) as caught:
        client.workflows.upsert(WorkflowUpsert("w" * 300_000))
    message = caught.value.message
    assert caught.value.code == 400 and len(message) < 300
    assert message.startswith("Invalid request: body.items[0].externalId: ")
    assert message.endswith(" is longer than 255 characters")


def test_sessions_list_takes_the_status_in_either_case(client, gateway):
    project = unique("sess-case")
    sessions = sdk_client(gateway.url, project).iam.sessions
    ready = sessions.create()
    revoked = sessions.create()
    sessions.revoke(revoked.id)
    http = httpx.Client(base_url=f"{gateway.url}/api/v1/projects/{project}", headers={"Authorization": "Bearer t"})
    for status, expected in (("ready", ready.id), ("READY", ready.id), ("revoked", revoked.id)):
        r = http.get("/sessions", params={"status": status})
        assert r.status_code == 200, r.text
        assert [s["id"] for s in r.json()["items"]] == [expected]
    assert [s.id for s in sessions.list("REVOKED")] == [revoked.id]

    bad = http.get("/sessions", params={"status": "Ready"})
    assert bad.status_code == 400 and "query.status" in bad.json()["error"]["message"]


def test_a_version_of_digits_that_are_not_ascii_is_a_name_like_any_other(client):
    """'¹' and '٣' pass str.isdigit() yet are no number: such a version is stored and read back as text
    (it answered 500 when the engine took it for a version number)."""
    xid = unique("odd-version")
    for version in ("\u00b9", "\u0663"):
        client.workflows.versions.upsert(WorkflowVersionUpsert(xid, version, WorkflowDefinitionUpsert(
            tasks=[WorkflowTask("a", FunctionTaskParameters("fn"))])))
    listed = client.workflows.versions.list(workflow_version_ids=[xid])
    assert sorted(v.version for v in listed) == sorted(["\u00b9", "\u0663"])
    assert client.workflows.versions.retrieve((xid, "\u00b9")).version == "\u00b9"
