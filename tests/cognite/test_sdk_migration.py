"""What a Cognite user migrating to the gateway does with the official cognite-sdk, beyond the retry
walkthroughs of test_sdk_retry: workflow and version bookkeeping (updates, paging, every task type
rendered back), the ways to authenticate a run, task timeouts, failures on parallel branches, and
the errors the SDK turns into its exceptions."""

from __future__ import annotations

import json
from zoneinfo import ZoneInfo

import httpx
import pytest
from cognite.client.data_classes import ClientCredentials
from cognite.client.data_classes.workflows import (
    CDFTaskParameters,
    DynamicTaskParameters,
    FunctionTaskParameters,
    SubworkflowReferenceParameters,
    SubworkflowTaskParameters,
    TransformationTaskParameters,
    WorkflowDefinitionUpsert,
    WorkflowTask,
    WorkflowUpsert,
    WorkflowVersionId,
    WorkflowVersionUpsert,
)
from cognite.client.exceptions import CogniteAPIError, CogniteNotFoundError
from wfgateway.adapters.cognite.scheduler import next_fire

from tests.cognite.conftest import wait_for
from tests.cognite.test_sdk_retry import (
    async_task,
    attempts,
    detailed,
    statuses,
    unique,
    upsert,
    wait_status,
    wait_task,
)
from tests.cognite.test_sdk_triggers import tick


def api(gateway, project: str = "acme") -> httpx.Client:
    return httpx.Client(base_url=f"{gateway.url}/api/v1/projects/{project}", timeout=10)


# --- workflows and versions -------------------------------------------------------------------


def test_workflow_upsert_replaces_fields_and_keeps_its_creation_time(client):
    xid = unique("fields")
    first = client.workflows.upsert(WorkflowUpsert(xid, description="nightly", data_set_id=123,
                                                   max_concurrent_executions=5))
    assert (first.external_id, first.description, first.data_set_id, first.max_concurrent_executions) == (
        xid, "nightly", 123, 5)
    second = client.workflows.upsert(WorkflowUpsert(xid, description="hourly"))
    assert second.created_time == first.created_time and second.last_updated_time >= first.last_updated_time
    got = client.workflows.retrieve(xid)
    assert (got.description, got.created_time) == ("hourly", first.created_time)

    others = [unique("many"), unique("many")]
    upserted = client.workflows.upsert([WorkflowUpsert(x) for x in others])  # one request per item
    assert sorted(w.external_id for w in upserted) == sorted(others)
    assert len(client.workflows.list(limit=1)) == 1
    every = [w.external_id for w in client.workflows(limit=None)]
    assert set(others) | {xid} <= set(every) and len(every) == len(set(every))
    client.workflows.delete([*others, unique("ghost")], ignore_unknown_ids=True)
    assert [client.workflows.retrieve(x) for x in others] == [None, None]
    assert client.workflows.retrieve(xid) is not None


def test_every_task_type_reads_back_as_it_was_written(client):
    xid, child = unique("types"), unique("types-child")
    upsert(client, child, [async_task("inner")])
    tasks = [
        WorkflowTask("fn", FunctionTaskParameters("echo", data={"day": "${workflow.input.day}"}),
                     name="Call echo", description="echoes the day", retries=2, timeout=120),
        WorkflowTask("tr", TransformationTaskParameters("tr-xid", concurrency_policy="waitForCurrent"),
                     depends_on=["fn"], on_failure="skipTask"),
        WorkflowTask("req", CDFTaskParameters("/timeseries/list", "POST", body={"limit": 1}), depends_on=["fn"]),
        WorkflowTask("fan", DynamicTaskParameters("${fn.output.response.tasks}"), depends_on=["fn"]),
        WorkflowTask("ref", SubworkflowReferenceParameters(child, "1"), depends_on=["fn"]),
        WorkflowTask("inline", SubworkflowTaskParameters([async_task("x"), async_task("y", depends_on=["x"])])),
    ]
    created = client.workflows.versions.upsert(
        WorkflowVersionUpsert(xid, "v1", WorkflowDefinitionUpsert(tasks, description="all types")))
    got = client.workflows.versions.retrieve((xid, "v1"))
    for answer in (created, got):
        assert (answer.workflow_external_id, answer.version) == (xid, "v1")
        assert answer.workflow_definition.description == "all types"
        assert [t.external_id for t in answer.workflow_definition.tasks] == [t.external_id for t in tasks]
        for wrote, read in zip(tasks, answer.workflow_definition.tasks, strict=True):
            expected = wrote.parameters.dump()
            if wrote.type == "function":  # Cognite answers the default it filled in
                expected.setdefault("isAsyncComplete", False)
            assert read.parameters.dump() == expected, wrote.external_id
            assert (read.depends_on or []) == (wrote.depends_on or []), wrote.external_id
            assert read.on_failure == wrote.on_failure
        fn = answer.workflow_definition.tasks[0]
        assert (fn.name, fn.description, fn.retries, fn.timeout) == ("Call echo", "echoes the day", 2, 120)
        tr = answer.workflow_definition.tasks[1]
        assert (tr.retries, tr.timeout, tr.on_failure) == (3, 3600, "skipTask")  # Cognite's defaults
    assert client.workflows.retrieve(xid) is not None  # a version upsert creates its workflow


def test_version_listing_pages_filters_and_deletes_many(client, gateway):
    a, b = unique("va"), unique("vb")
    for v in ("1", "2", "3"):
        upsert(client, a, [async_task("t")], version=v)
    upsert(client, b, [async_task("t")], version="1")
    both = client.workflows.versions.list([a, WorkflowVersionId(b, "1")], limit=None)
    assert sorted((v.workflow_external_id, v.version) for v in both) == [(a, "1"), (a, "2"), (a, "3"), (b, "1")]
    assert len(client.workflows.versions.list(a, limit=2)) == 2
    assert {(v.workflow_external_id, v.version) for v in client.workflows.versions.list(limit=None)} >= {
        (a, "1"), (b, "1")}
    with api(gateway) as http:
        seen, cursor = [], None
        while True:
            body = {"filter": {"workflowFilters": [{"externalId": a}]}, "limit": 2, **({"cursor": cursor} if cursor
                                                                                      else {})}
            page = http.post("/workflows/versions/list", json=body)
            assert page.status_code == 200, page.text
            seen += [v["version"] for v in page.json()["items"]]
            cursor = page.json().get("nextCursor")
            if not cursor:
                break
    assert sorted(seen) == ["1", "2", "3"]
    client.workflows.versions.delete([(a, "1"), (a, "2"), (b, "9")], ignore_unknown_ids=True)
    assert [v.version for v in client.workflows.versions.list(a, limit=None)] == ["3"]
    with pytest.raises(CogniteNotFoundError) as missing:
        client.workflows.versions.delete([(a, "3"), (b, "9")])
    assert missing.value.missing == [{"workflowExternalId": b, "version": "9"}]
    assert client.workflows.versions.retrieve((a, "3")) is not None  # nothing deleted when one is unknown


def test_a_version_with_running_executions_cannot_be_deleted(client):
    xid = unique("busy-version")
    upsert(client, xid, [async_task("a")])
    run = client.workflows.executions.run(xid, "1")
    with pytest.raises(CogniteAPIError) as busy:
        client.workflows.versions.delete((xid, "1"))
    assert busy.value.code == 409
    client.workflows.executions.cancel(run.id, "done")
    client.workflows.versions.delete((xid, "1"))
    assert client.workflows.versions.retrieve((xid, "1")) is None


@pytest.mark.parametrize("tasks, words", [
    ([{"externalId": "a", "type": "function", "parameters": {"function": {"externalId": "f"}},
       "dependsOn": [{"externalId": "b"}]},
      {"externalId": "b", "type": "function", "parameters": {"function": {"externalId": "f"}},
       "dependsOn": [{"externalId": "a"}]}], ["cycle"]),
    ([{"externalId": "a", "type": "function", "parameters": {"function": {"externalId": "f"}}},
      {"externalId": "a", "type": "function", "parameters": {"function": {"externalId": "f"}}}], ["duplicated", "a"]),
    ([{"externalId": "s", "type": "subworkflow", "parameters": {"subworkflow": {"tasks": [
        {"externalId": "d", "type": "dynamic", "parameters": {"dynamic": {"tasks": "${x.output}"}}}]}}}],
     ["dynamic"]),
    ([{"externalId": "a", "type": "function", "parameters": {"function": {"externalId": "f"}}, "timeout": 0}],
     ["timeout"]),
    ([{"externalId": "a", "type": "function", "parameters": {"function": {"externalId": "f"}},
       "onFailure": "ignore"}], ["onFailure"]),
    ([{"externalId": " a", "type": "function", "parameters": {"function": {"externalId": "f"}}}], ["externalId"]),
])
def test_bad_definitions_are_400_with_a_message_naming_the_problem(gateway, tasks, words):
    with api(gateway) as http:
        r = http.post("/workflows/versions", json={"items": [{"workflowExternalId": unique("bad"), "version": "1",
                                                              "workflowDefinition": {"tasks": tasks}}]})
    assert r.status_code == 400, r.text
    error = r.json()["error"]
    assert error["code"] == 400
    for word in words:
        assert word.lower() in error["message"].lower(), error["message"]


# --- running -----------------------------------------------------------------------------------


def test_run_with_a_nonce_from_sessions_create_and_with_client_credentials(client, gateway):
    xid = unique("auth-run")
    upsert(client, xid, [async_task("a")])
    session = client.iam.sessions.create()
    assert session.status == "READY" and session.nonce
    run = client.workflows.executions.run(xid, "1", input={"n": 1}, nonce=session.nonce)
    assert (run.workflow_external_id, run.version, run.status) == (xid, "1", "running")
    with_creds = client.workflows.executions.run(xid, "1", client_credentials=ClientCredentials("cid", "secret"),
                                                 metadata={"who": "cid"})
    assert with_creds.id != run.id and with_creds.metadata == {"who": "cid"}
    ex = detailed(client, run.id)
    assert ex.input == {"n": 1} and ex.metadata == {}
    a = wait_task(client, with_creds.id, "a", "in_progress")
    client.workflows.tasks.update(a.id, "failed")
    wait_status(client, with_creds.id, "failed")
    retried = client.workflows.executions.retry(with_creds.id, client_credentials=ClientCredentials("cid", "secret"))
    assert (retried.id, retried.status) == (with_creds.id, "running")
    with api(gateway) as http:
        r = http.post("/sessions", json={"items": [{"clientId": "cid", "clientSecret": "s"}]})
        assert r.status_code == 200 and r.json()["items"][0]["type"] == "CLIENT_CREDENTIALS"
        bad = http.post("/sessions", json={"items": [{"clientId": "cid"}]})
        assert bad.status_code == 400 and bad.json()["error"]["message"]


def test_an_input_over_100_kb_is_refused(client):
    from cognite.client.data_classes.workflows import WorkflowScheduledTriggerRule, WorkflowTriggerUpsert

    xid = unique("big-input")
    upsert(client, xid, [async_task("a")])
    with pytest.raises(CogniteAPIError) as big:
        client.workflows.executions.run(xid, "1", input={"blob": "x" * 110_000})
    assert big.value.code == 400 and "100 KB" in big.value.message
    with pytest.raises(CogniteAPIError) as big_trigger:
        client.workflows.triggers.upsert(WorkflowTriggerUpsert(unique("big"), WorkflowScheduledTriggerRule("0 0 1 1 *"),
                                                               xid, "1", input={"blob": "x" * 110_000}))
    assert big_trigger.value.code == 400
    assert client.workflows.executions.run(xid, "1", input={"blob": "x" * 90_000}).status == "running"


def test_running_a_missing_version_is_not_found(client):
    xid = unique("no-version")
    upsert(client, xid, [async_task("a")])
    with pytest.raises(CogniteNotFoundError) as missing:
        client.workflows.executions.run(xid, "2")
    assert missing.value.missing == [{"workflowExternalId": xid, "version": "2"}]


def test_detailed_execution_timestamps_and_reasons_through_fail_and_retry(client):
    xid = unique("shapes")
    upsert(client, xid, [async_task("a"), async_task("b", depends_on=["a"])])
    run = client.workflows.executions.run(xid, "1")
    assert run.start_time is not None and run.end_time is None and run.created_time <= run.start_time
    a = wait_task(client, run.id, "a", "in_progress")
    assert a.start_time is not None and a.end_time is None and a.reason_for_incompletion is None
    assert a.input.external_id == "manual" and a.input.is_async_complete is True
    client.workflows.tasks.update(a.id, "failed_with_terminal_error", output={"error": "bad rows"})
    ex = wait_status(client, run.id, "failed")
    failed = attempts(ex, "a")[0]
    assert failed.status == "failed_with_terminal_error" and failed.end_time >= failed.start_time
    assert failed.reason_for_incompletion and ex.reason_for_incompletion
    assert ex.end_time is not None and statuses(ex, "b") == []
    retried = client.workflows.executions.retry(run.id)
    assert retried.reason_for_incompletion is None and retried.end_time is None
    ex = detailed(client, run.id)
    assert ex.status == "running" and ex.end_time is None and ex.reason_for_incompletion is None
    a2 = wait_task(client, run.id, "a", "in_progress", count=2)
    client.workflows.tasks.update(a2.id, "completed", output={"response": {"ok": True}})
    b = wait_task(client, run.id, "b", "in_progress")
    client.workflows.tasks.update(b.id, "completed")
    ex = wait_status(client, run.id, "completed")
    assert ex.end_time >= ex.start_time and ex.reason_for_incompletion is None
    assert [t.status for t in ex.executed_tasks] == ["failed_with_terminal_error", "completed", "completed"]


def test_terminal_error_is_not_retried_automatically_but_failed_is(client):
    xid = unique("terminal")
    upsert(client, xid, [async_task("a", retries=2)])
    run = client.workflows.executions.run(xid, "1")
    a = wait_task(client, run.id, "a", "in_progress")
    client.workflows.tasks.update(a.id, "failed")
    a2 = wait_task(client, run.id, "a", "in_progress", count=2)  # FAILED: the task's own retries
    client.workflows.tasks.update(a2.id, "failed_with_terminal_error")
    ex = wait_status(client, run.id, "failed")
    assert statuses(ex, "a") == ["failed", "failed_with_terminal_error"]


def test_a_failed_branch_cancels_its_running_sibling_and_retry_runs_both(client):
    xid = unique("branches")
    upsert(client, xid, [async_task("left"), async_task("right"), async_task("join", depends_on=["left", "right"])])
    run = client.workflows.executions.run(xid, "1")
    left = wait_task(client, run.id, "left", "in_progress")
    wait_task(client, run.id, "right", "in_progress")
    client.workflows.tasks.update(left.id, "failed")
    ex = wait_status(client, run.id, "failed")
    assert statuses(ex, "left") == ["failed"] and statuses(ex, "right") == ["canceled"]
    assert statuses(ex, "join") == []
    client.workflows.executions.retry(run.id)
    left2 = wait_task(client, run.id, "left", "in_progress", count=2)
    right2 = wait_task(client, run.id, "right", "in_progress", count=2)
    client.workflows.tasks.update(left2.id, "completed")
    client.workflows.tasks.update(right2.id, "completed")
    join = wait_task(client, run.id, "join", "in_progress")
    client.workflows.tasks.update(join.id, "completed")
    wait_status(client, run.id, "completed")


def test_tasks_update_is_refused_for_tasks_that_are_not_async(client, gateway):
    xid = unique("not-async")
    upsert(client, xid, [WorkflowTask("fan", DynamicTaskParameters("${workflow.input.tasks}")),
                         async_task("after", depends_on=["fan"])])
    run = client.workflows.executions.run(xid, "1", input={"tasks": [
        {"externalId": "child", "type": "function", "parameters": {"function": {"externalId": "manual"},
                                                                   "isAsyncComplete": True}}]})
    child = wait_task(client, run.id, "child", "in_progress")
    fan = attempts(detailed(client, run.id), "fan")[0]
    assert fan.status == "in_progress"
    with pytest.raises(CogniteAPIError) as refused:
        client.workflows.tasks.update(fan.id, "completed")
    assert refused.value.code == 400
    with pytest.raises(CogniteNotFoundError):
        client.workflows.tasks.update("00000000-0000-4000-8000-000000000000", "completed")
    client.workflows.tasks.update(child.id, "completed", output={"response": {"n": 1}})
    wait_task(client, run.id, "after", "in_progress")
    assert attempts(detailed(client, run.id), "fan")[0].status == "completed"


def test_a_dynamic_reference_that_is_no_task_list_fails_the_execution(client):
    xid = unique("bad-dynamic")
    upsert(client, xid, [WorkflowTask("fan", DynamicTaskParameters("${workflow.input.tasks}"), retries=0)])
    run = client.workflows.executions.run(xid, "1", input={"tasks": "not a list"})
    assert run.status == "running"  # run answers before the engine looks at the tasks, as at Cognite
    ex = wait_status(client, run.id, "failed")
    assert statuses(ex, "fan") == ["failed"] and ex.reason_for_incompletion
    retried = client.workflows.executions.retry(run.id)  # the expansion fails again at once ...
    assert (retried.status, retried.end_time, retried.reason_for_incompletion) == ("running", None, None)
    ex = wait_for(lambda: detailed(client, run.id), lambda e: len(attempts(e, "fan")) == 2)
    assert ex.status == "failed"  # ... which retrieve shows


def test_running_a_version_without_tasks_answers_running_and_completes(client):
    xid = unique("empty")
    upsert(client, xid, [])
    run = client.workflows.executions.run(xid, "1")
    assert (run.status, run.end_time) == ("running", None)
    assert wait_status(client, run.id, "completed").executed_tasks == []


# --- timeouts ------------------------------------------------------------------------------------


def test_a_timed_out_task_with_abort_workflow_is_not_retried_and_fails_the_workflow(client):
    """SDK docstring of WorkflowTask.on_failure: "In the event of a timeout, no retries are
    undertaken; the task is marked as TIMED_OUT and the Workflow is marked as FAILED"."""
    xid = unique("timeout-abort")
    upsert(client, xid, [WorkflowTask("slow", FunctionTaskParameters("manual", is_async_complete=True),
                                      retries=3, timeout=1), async_task("after", depends_on=["slow"])])
    run = client.workflows.executions.run(xid, "1")
    ex = wait_for(lambda: detailed(client, run.id), lambda e: e.status != "running", timeout=15)
    print([(t.external_id, t.status, t.start_time, t.end_time) for t in ex.executed_tasks])
    assert ex.status == "failed" and statuses(ex, "slow") == ["timed_out"] and statuses(ex, "after") == []
    assert attempts(ex, "slow")[0].reason_for_incompletion
    assert [e.id for e in client.workflows.executions.list(xid, statuses="failed", limit=None)] == [run.id]
    client.workflows.executions.retry(run.id)  # a TIMED_OUT task is among those a retry re-runs
    slow = wait_task(client, run.id, "slow", "in_progress", count=2)
    client.workflows.tasks.update(slow.id, "completed")
    after = wait_task(client, run.id, "after", "in_progress")
    client.workflows.tasks.update(after.id, "completed")
    wait_status(client, run.id, "completed")


def test_a_timed_out_task_with_skip_task_retries_then_lets_the_workflow_go_on(client):
    """With skipTask, failures and timeouts are retried until the retries are exhausted; the task then
    ends COMPLETED_WITH_ERRORS and the next tasks run."""
    xid = unique("timeout-skip")
    upsert(client, xid, [WorkflowTask("slow", FunctionTaskParameters("manual", is_async_complete=True),
                                      retries=1, timeout=1, on_failure="skipTask"),
                         async_task("after", depends_on=["slow"])])
    run = client.workflows.executions.run(xid, "1")
    after = wait_for(lambda: detailed(client, run.id), lambda e: statuses(e, "after") == ["in_progress"],
                     timeout=15)
    assert statuses(after, "slow") == ["timed_out", "completed_with_errors"]
    client.workflows.tasks.update(attempts(after, "after")[0].id, "completed")
    assert wait_status(client, run.id, "completed").status == "completed"


# --- triggers ------------------------------------------------------------------------------------


def test_trigger_upsert_updates_in_place_and_lists_page_by_page(client, gateway):
    from cognite.client.data_classes.workflows import WorkflowScheduledTriggerRule, WorkflowTriggerUpsert

    wf = unique("tr-wf")
    upsert(client, wf, [async_task("a")])
    upsert(client, wf, [async_task("a"), async_task("b")], version="2")
    tr = unique("tr")
    first = client.workflows.triggers.upsert(WorkflowTriggerUpsert(tr, WorkflowScheduledTriggerRule("0 0 1 1 *"),
                                                                   wf, "1", input={"a": 1}))
    client.workflows.triggers.pause(tr)
    second = client.workflows.triggers.upsert(
        WorkflowTriggerUpsert(tr, WorkflowScheduledTriggerRule("0 12 1 1 *", timezone=ZoneInfo("Europe/Oslo")), wf, "2",
                              metadata={"m": "v"}),
        client_credentials=ClientCredentials("cid", "secret"))
    assert second.created_time == first.created_time and second.last_updated_time >= first.last_updated_time
    assert (second.workflow_version, second.trigger_rule.cron_expression, second.metadata) == ("2", "0 12 1 1 *",
                                                                                               {"m": "v"})
    listed = [t for t in client.workflows.triggers.list(limit=None) if t.external_id == tr]
    assert len(listed) == 1 and listed[0].workflow_version == "2" and listed[0].is_paused
    assert str(listed[0].trigger_rule.timezone) == "Europe/Oslo"
    more = [unique("tr-more") for _ in range(3)]
    for x in more:
        client.workflows.triggers.upsert(WorkflowTriggerUpsert(x, WorkflowScheduledTriggerRule("0 0 1 1 *"), wf, "1"))
    assert len(client.workflows.triggers.list(limit=2)) == 2
    with api(gateway) as http:
        seen, cursor = [], None
        while True:
            page = http.get("/workflows/triggers", params={"limit": 2, **({"cursor": cursor} if cursor else {})})
            assert page.status_code == 200 and len(page.json()["items"]) <= 2
            seen += [t["externalId"] for t in page.json()["items"]]
            cursor = page.json().get("nextCursor")
            if not cursor:
                break
    assert set(more) | {tr} <= set(seen) and len(seen) == len(set(seen))
    client.workflows.triggers.delete([tr, *more])
    assert not {tr, *more} & {t.external_id for t in client.workflows.triggers.list(limit=None)}
    with pytest.raises(CogniteAPIError):
        client.workflows.triggers.delete(tr)


def test_deleting_a_workflow_deletes_its_triggers(client):
    from cognite.client.data_classes.workflows import WorkflowScheduledTriggerRule, WorkflowTriggerUpsert

    wf, tr = unique("owned"), unique("owned-tr")
    upsert(client, wf, [async_task("a")])
    client.workflows.triggers.upsert(WorkflowTriggerUpsert(tr, WorkflowScheduledTriggerRule("0 0 1 1 *"), wf, "1"))
    client.workflows.delete(wf)
    assert tr not in {t.external_id for t in client.workflows.triggers.list(limit=None)}


def test_data_modeling_trigger_is_stored_listed_paused_and_deleted(client, gateway):
    from cognite.client.data_classes import filters
    from cognite.client.data_classes.data_modeling import ViewId
    from cognite.client.data_classes.data_modeling.query import (
        NodeResultSetExpression,
        Select,
        SourceSelector,
    )
    from cognite.client.data_classes.workflows import (
        WorkflowDataModelingTriggerRule,
        WorkflowTriggerDataModelingQuery,
        WorkflowTriggerUpsert,
    )

    wf, tr = unique("dm-wf"), unique("dm")
    upsert(client, wf, [async_task("a")])
    view = ViewId("my-space", "Pump", "v1")
    query = WorkflowTriggerDataModelingQuery(
        with_={"pumps": NodeResultSetExpression(filter=filters.Equals(view.as_property_ref("site"), "A"))},
        select={"pumps": Select([SourceSelector(view, ["site"])])})
    rule = WorkflowDataModelingTriggerRule(query, batch_size=100, batch_timeout=300)
    created = client.workflows.triggers.upsert(WorkflowTriggerUpsert(tr, rule, wf, "1", input={"k": "v"}))
    wrote = json.loads(json.dumps(rule.dump()))  # the SDK dumps property references as tuples
    assert created.external_id == tr and json.loads(json.dumps(created.trigger_rule.dump())) == wrote
    listed = next(t for t in client.workflows.triggers.list(limit=None) if t.external_id == tr)
    assert json.loads(json.dumps(listed.trigger_rule.dump())) == wrote and listed.input == {"k": "v"}
    client.workflows.triggers.pause(tr)
    client.workflows.triggers.resume(tr)
    assert [r for r in tick(gateway, 4_102_444_800_000) if r["externalId"] == tr] == []  # nothing to watch here
    assert len(client.workflows.triggers.list_runs(tr)) == 0
    with api(gateway) as http:
        nonce = http.post("/sessions", json={"items": [{"tokenExchange": True}]}).json()["items"][0]["nonce"]
        bad = http.post("/workflows/triggers", json={"items": [{
            "externalId": unique("dm-bad"), "triggerRule": {"triggerType": "dataModeling", "batchSize": 10},
            "workflowExternalId": wf, "workflowVersion": "1", "authentication": {"nonce": nonce}}]})
    assert bad.status_code == 400 and "dataModelingQuery" in bad.json()["error"]["message"]
    client.workflows.triggers.delete(tr)
    assert tr not in {t.external_id for t in client.workflows.triggers.list(limit=None)}


def test_dynamic_tasks_chain_on_each_other_and_read_outer_outputs(client, functions):
    xid = unique("dyn-chain")
    children = [
        {"externalId": "d1", "type": "function",
         "parameters": {"function": {"externalId": "echo", "data": {"n": "${workflow.input.n}"}}}},
        {"externalId": "d2", "type": "function", "dependsOn": [{"externalId": "d1"}],
         "parameters": {"function": {"externalId": "echo", "data": {"prev": "${d1.output.response.n}",
                                                                    "tag": "${plan.output.response.tag}"}}}},
    ]
    upsert(client, xid, [
        WorkflowTask("plan", FunctionTaskParameters("echo", data={"tag": "t-1"})),
        WorkflowTask("fan", DynamicTaskParameters("${workflow.input.tasks}"), depends_on=["plan"]),
        WorkflowTask("whole", FunctionTaskParameters("echo", data="${workflow.input.n}"), depends_on=["fan"]),
    ])
    run = client.workflows.executions.run(xid, "1", input={"n": 7, "tasks": children})
    ex = wait_status(client, run.id, "completed")
    d2 = attempts(ex, "d2")[0]
    assert d2.output.response == {"prev": 7, "tag": "t-1"}
    assert attempts(ex, "whole")[0].output.response == 7
    assert [t.external_id for t in ex.executed_tasks] == ["plan", "fan", "d1", "d2", "whole"]


def test_subworkflow_references_follow_cognites_nesting_rule(client, gateway):
    """A subworkflow's tasks cannot be dynamic or subworkflow tasks -- also those of a referenced
    version -- so no version reaches itself through references (which once recursed without end)."""
    from cognite.client.data_classes.workflows import WorkflowScheduledTriggerRule, WorkflowTriggerUpsert

    me = unique("self-ref")
    with pytest.raises(CogniteAPIError) as itself:
        upsert(client, me, [WorkflowTask("again", SubworkflowReferenceParameters(me, "1"))])
    assert itself.value.code == 400 and "subworkflow" in itself.value.message

    child, parent = unique("nest-child"), unique("nest-parent")
    upsert(client, child, [async_task("a")])
    upsert(client, parent, [WorkflowTask("stage", SubworkflowReferenceParameters(child, "1"), retries=0)])
    upsert(client, child, [WorkflowTask("fan", DynamicTaskParameters("${workflow.input.tasks}"))])  # changed since
    with pytest.raises(CogniteAPIError) as nested:
        client.workflows.executions.run(parent, "1")
    assert nested.value.code == 400 and "fan" in nested.value.message
    assert len(client.workflows.executions.list(parent, limit=None)) == 0
    tr = unique("nest-tr")
    created = client.workflows.triggers.upsert(
        WorkflowTriggerUpsert(tr, WorkflowScheduledTriggerRule("0 0 1 1 *"), parent, "1"))
    fired = [r for r in tick(gateway, next_fire("0 0 1 1 *", None, created.created_time)) if r["externalId"] == tr]
    assert fired[0]["status"] == "failed" and "fan" in fired[0]["reasonForFailure"]
    client.workflows.triggers.delete(tr)

    ghost = unique("ghost-ref")
    upsert(client, ghost, [WorkflowTask("stage", SubworkflowReferenceParameters(unique("missing"), "1"), retries=0)])
    run = client.workflows.executions.run(ghost, "1")
    ex = wait_status(client, run.id, "failed")
    assert statuses(ex, "stage") == ["failed"] and attempts(ex, "stage")[0].reason_for_incompletion


@pytest.mark.parametrize("state", [{"o": "abc"}, {"o": -5}, {"o": [1]}, {"after": ["x"]}, {"after": 1},
                                   {"before": {"a": 1}}, {"c": 5}])
def test_a_cursor_made_up_to_look_like_ours_is_400_never_500(gateway, state):
    import base64

    cursor = base64.urlsafe_b64encode(json.dumps(state).encode()).decode().rstrip("=")
    with api(gateway) as http:
        for r in (http.get("/workflows", params={"cursor": cursor}),
                  http.post("/workflows/versions/list", json={"cursor": cursor}),
                  http.get("/workflows/versions", params={"cursor": cursor}),
                  http.post("/workflows/executions/list", json={"cursor": cursor}),
                  http.get("/workflows/triggers", params={"cursor": cursor})):
            assert r.status_code == 400, (r.request.url, r.text)
            assert "cursor" in r.json()["error"]["message"].lower()


def test_errors_reach_the_sdk_with_cognites_fields(client):
    xid = unique("err-fields")
    with pytest.raises(CogniteNotFoundError) as missing:
        client.workflows.delete(xid)
    err = missing.value
    assert (err.code, err.missing, err.extra) == (404, [{"externalId": xid}], {}) and not err.duplicated
    assert err.x_request_id and err.message == "The following workflows were not found"
    upsert(client, xid, [async_task("a")])
    run = client.workflows.executions.run(xid, "1")
    with pytest.raises(CogniteAPIError) as busy:
        client.workflows.delete(xid)
    assert type(busy.value) is CogniteAPIError and busy.value.code == 409 and busy.value.x_request_id
    with pytest.raises(CogniteAPIError) as bad:
        client.workflows.executions.cancel(run.id, "x" * 501)
    assert bad.value.code == 400 and "reason" in bad.value.message
    client.workflows.executions.cancel(run.id, "cleanup")
