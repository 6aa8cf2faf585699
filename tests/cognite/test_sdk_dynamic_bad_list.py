"""A dynamic task whose tasks reference resolves to task definitions CDF would not take fails with a reason;
the execution stays readable through cognite-sdk (FAILS on main: the failed container's input echoes the
list verbatim, and the SDK's DynamicTaskParameters cannot parse a task without parameters)."""

from __future__ import annotations

from cognite.client.data_classes.workflows import DynamicTaskParameters, WorkflowTask

from tests.cognite.test_sdk_retry import async_task, unique, upsert, wait_status, wait_task


def test_a_dynamic_task_given_a_malformed_task_list_fails_and_the_run_stays_readable(client):
    xid = unique("dyn-bad-list")
    upsert(client, xid, [async_task("plan"),
                         WorkflowTask("fan", DynamicTaskParameters("${plan.output.tasks}"), depends_on=["plan"])])
    run = client.workflows.executions.run(xid, "1")
    plan = wait_task(client, run.id, "plan", "in_progress")
    client.workflows.tasks.update(plan.id, "completed", output={"tasks": [{"externalId": "x", "type": "function"}]})
    failed = wait_status(client, run.id, "failed")  # retrieve_detailed parses every executed task
    assert "needs parameters" in (failed.reason_for_incompletion or "")
