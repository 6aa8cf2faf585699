"""An integer past 64 bits in a run's input and a task's output, with cognite-sdk 8.22.0: it comes back
as the same integer (JSON numbers have no size), never a float and never a 500."""

from __future__ import annotations

from tests.cognite.test_sdk_retry import async_task, detailed, unique, upsert, wait_status, wait_task

BIG = 123456789012345678901234567890


def test_an_integer_past_64_bits_comes_back_as_the_same_integer(client):
    xid = unique("big-ints")
    upsert(client, xid, [async_task("a")])
    run = client.workflows.executions.run(xid, "1", input={"n": BIG, "neg": -BIG, "nested": [{"deep": BIG}]})
    task = wait_task(client, run.id, "a", "in_progress")
    client.workflows.tasks.update(task.id, "completed", output={"response": {"echo": BIG + 1}})
    done = wait_status(client, run.id, "completed")
    assert done.input == {"n": BIG, "neg": -BIG, "nested": [{"deep": BIG}]} and type(done.input["n"]) is int
    (finished,) = [t for t in detailed(client, run.id).executed_tasks if t.external_id == "a"]
    assert finished.output.response == {"echo": BIG + 1}
    listed = [e for e in client.workflows.executions.list(workflow_version_ids=[(xid, "1")]) if e.id == run.id]
    assert listed and listed[0].status == "completed"
