"""Conductor event handlers through conductor-python 2.0.0: EventResourceApi on the SDK's ApiClient for
/api/event (CRUD with the OSS server's answers to bad input), and handlers consuming what EVENT tasks
publish to the ``conductor`` queue -- starting a workflow, completing / failing a WAIT task,
terminating a run -- registered and started with the SDK's metadata and workflow clients.

Ordering used instead of timing: a message's matching handlers act in name order, all before the
message is let go, so once handler ``z_*`` has completed the publisher's WAIT task, the handlers
before it have had their turn with the same message.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from conductor.client.configuration.configuration import Configuration
from conductor.client.http.api.event_resource_api import EventResourceApi
from conductor.client.http.api_client import ApiClient
from conductor.client.http.models import StartWorkflowRequest, Workflow
from conductor.client.http.models.action import Action
from conductor.client.http.models.event_handler import EventHandler
from conductor.client.http.models.start_workflow import StartWorkflow
from conductor.client.http.models.task_details import TaskDetails
from conductor.client.http.models.update_workflow_variables import UpdateWorkflowVariables
from conductor.client.http.models.workflow_def import WorkflowDef
from conductor.client.http.models.workflow_task import WorkflowTask
from conductor.client.http.rest import ApiException
from conductor.client.orkes_clients import OrkesClients

from tests.conductor.conftest import ONLY_CONDUCTOR
from tests.conductor.sdk_support import wait_status
from tests.engine.pg import PG_DSN, create_schema, drop_schema
from tests.support.server import run_gateway


@pytest.fixture(scope="module")
def events(config: Configuration) -> EventResourceApi:
    return EventResourceApi(ApiClient(config))


def _error(exc: pytest.ExceptionInfo[ApiException]) -> dict[str, Any]:
    body = json.loads(exc.value.body)
    assert body["status"] == exc.value.status
    return body


def handler(name: str, event: str, *actions: Action, condition: str | None = None, active: bool = True) -> EventHandler:
    return EventHandler(name=name, event=event, condition=condition, actions=list(actions), active=active)


def complete(workflow_id: str, ref: str, output: dict[str, Any], action: str = "complete_task") -> Action:
    details = TaskDetails(workflow_id=workflow_id, task_ref_name=ref, output=output)
    return Action(action=action, **{action: details})


def start(name: str, input: dict[str, Any], correlation_id: str | None = None) -> Action:
    return Action(action="start_workflow",
                  start_workflow=StartWorkflow(name=name, version=1, input=input, correlation_id=correlation_id))


def register(clients: OrkesClients, name: str, *tasks: WorkflowTask) -> None:
    clients.get_metadata_client().register_workflow_def(
        WorkflowDef(name=name, version=1, timeout_seconds=0, tasks=list(tasks)), overwrite=True)


def publisher(clients: OrkesClients, name: str, sink: str) -> None:
    """An EVENT task to ``sink``, then a WAIT task an event handler ends."""
    register(clients, name,
             WorkflowTask(name="publish", task_reference_name="publish_ref", type="EVENT", sink=sink,
                          input_parameters={"orderId": "${workflow.input.orderId}",
                                            "amount": "${workflow.input.amount}"}),
             WorkflowTask(name="await_ack", task_reference_name="ack_ref", type="WAIT"))


def run(clients: OrkesClients, name: str, input: dict[str, Any], correlation_id: str | None = None) -> str:
    return clients.get_workflow_client().start_workflow(
        StartWorkflowRequest(name=name, version=1, input=input, correlation_id=correlation_id))


def task_of(wf: Workflow, ref: str) -> Any:
    return next(t for t in wf.tasks if t.reference_task_name == ref)


# -- CRUD --------------------------------------------------------------------------------------------
def test_handlers_are_added_listed_by_event_updated_and_removed(events: EventResourceApi) -> None:
    ev = "conductor:crud_flow:notify"
    events.add_event_handler(handler("crud_on", ev, start("crud_target", {"id": "${orderId}"}), condition="$.ok"))
    events.add_event_handler(handler("crud_off", ev, start("crud_target", {}), active=False))
    events.add_event_handler(handler("crud_other", "conductor:crud_flow:elsewhere", start("crud_target", {})))

    mine = {h.name: h for h in events.get_event_handlers() if h.name.startswith("crud_")}
    assert set(mine) == {"crud_on", "crud_off", "crud_other"}
    stored = mine["crud_on"]
    assert (stored.event, stored.condition, stored.active) == (ev, "$.ok", True)
    assert stored.actions[0].action == "start_workflow"
    assert stored.actions[0].start_workflow.input == {"id": "${orderId}"}
    assert stored.actions[0].expand_inline_json is False

    assert [h.name for h in events.get_event_handlers_for_event(ev)] == ["crud_on"]  # activeOnly defaults to true
    assert sorted(h.name for h in events.get_event_handlers_for_event(ev, active_only=False)) == ["crud_off", "crud_on"]
    assert events.get_event_handlers_for_event("conductor:crud_flow:nothing") == []

    events.update_event_handler(handler("crud_off", ev, start("crud_target", {"again": True}), active=True))
    assert sorted(h.name for h in events.get_event_handlers_for_event(ev)) == ["crud_off", "crud_on"]

    events.remove_event_handler_status("crud_other")
    assert "crud_other" not in {h.name for h in events.get_event_handlers()}


def test_a_name_is_taken_once_and_an_unknown_name_cannot_be_updated_or_removed(events: EventResourceApi) -> None:
    events.add_event_handler(handler("dup_handler", "conductor:x:y", start("t", {})))
    with pytest.raises(ApiException) as taken:
        events.add_event_handler(handler("dup_handler", "conductor:x:z", start("t", {})))
    assert taken.value.status == 409
    assert _error(taken)["message"] == "EventHandler with name dup_handler already exists!"
    assert [h.event for h in events.get_event_handlers() if h.name == "dup_handler"] == ["conductor:x:y"]

    with pytest.raises(ApiException) as unknown_update:
        events.update_event_handler(handler("no_such_handler", "conductor:x:y", start("t", {})))
    assert unknown_update.value.status == 404
    assert _error(unknown_update)["message"] == "EventHandler with name no_such_handler not found!"
    with pytest.raises(ApiException) as unknown_remove:
        events.remove_event_handler_status("no_such_handler")
    assert unknown_remove.value.status == 404
    assert _error(unknown_remove)["message"] == "EventHandler with name no_such_handler not found!"
    assert "no_such_handler" not in {h.name for h in events.get_event_handlers()}


def test_a_handler_without_name_event_or_actions_gets_the_servers_validation_answer(events: EventResourceApi) -> None:
    with pytest.raises(ApiException) as empty:
        events.add_event_handler(EventHandler(name="", actions=[]))
    body = _error(empty)
    assert empty.value.status == 400 and body["message"] == "Validation failed, check below errors for detail."
    assert sorted((e["path"], e["message"]) for e in body["validationErrors"]) == [
        ("addEventHandler.eventHandler.actions", "No actions specified. Please specify at-least one action"),
        ("addEventHandler.eventHandler.event", "Missing event location"),
        ("addEventHandler.eventHandler.name", "Missing event handler name"),
    ]
    with pytest.raises(ApiException) as no_actions:
        events.update_event_handler(EventHandler(name="n", event="conductor:a:b"))
    assert [(e["path"], e["message"]) for e in _error(no_actions)["validationErrors"]] == [
        ("updateEventHandler.eventHandler.actions", "No actions specified. Please specify at-least one action")]
    with pytest.raises(ApiException) as bad_action:
        events.add_event_handler({"name": "bad_action", "event": "conductor:a:b", "actions": [{"action": "send_email"}]})
    assert bad_action.value.status == 400
    assert {"", "n", "bad_action"}.isdisjoint({h.name for h in events.get_event_handlers()})


# -- processing --------------------------------------------------------------------------------------
def test_handlers_start_a_workflow_when_their_condition_holds_and_complete_the_wait_task(
        clients: OrkesClients, events: EventResourceApi) -> None:
    register(clients, "ev_fulfil", WorkflowTask(name="note", task_reference_name="note_ref", type="SET_VARIABLE",
                                                input_parameters={"orderId": "${workflow.input.orderId}"}))
    publisher(clients, "ev_orders", "conductor:orders")
    ev = "conductor:ev_orders:orders"
    events.add_event_handler(handler(
        "a_big_orders", ev, start("ev_fulfil", {"orderId": "${orderId}", "source": "${workflowInstanceId}",
                                                "label": "order ${orderId} of ${amount}"}, "${correlationId}"),
        condition="$.amount > 100"))
    events.add_event_handler(handler("b_inactive", ev, complete("${workflowInstanceId}", "ack_ref", {},
                                                                action="fail_task"), active=False))
    events.add_event_handler(handler("z_ack", ev, complete("${workflowInstanceId}", "ack_ref",
                                                           {"ackedBy": "z_ack", "amount": "${amount}"})))

    big = run(clients, "ev_orders", {"orderId": "O-1", "amount": 150}, "c-big")
    done = wait_status(clients, big, "COMPLETED")
    message_id = task_of(done, "publish_ref").task_id
    assert task_of(done, "ack_ref").output_data == {
        "ackedBy": "z_ack", "amount": 150, "workflowId": big, "taskRefName": "ack_ref",
        "conductor.event.messageId": message_id, "conductor.event.name": ev}

    wc = clients.get_workflow_client()
    started = wc.get_by_correlation_ids("ev_fulfil", ["c-big", "c-small"], include_completed=True)
    assert len(started["c-big"]) == 1
    child = wait_status(clients, started["c-big"][0].workflow_id, "COMPLETED")
    assert child.input == {"orderId": "O-1", "source": big, "label": "order O-1 of 150",
                           "conductor.event.messageId": message_id, "conductor.event.name": ev}
    assert (child.correlation_id, child.event) == ("c-big", ev)

    small = run(clients, "ev_orders", {"orderId": "O-2", "amount": 50}, "c-small")
    wait_status(clients, small, "COMPLETED")  # z_ack acted: a_big_orders had its turn, and declined
    assert wc.get_by_correlation_ids("ev_fulfil", ["c-small"], include_completed=True).get("c-small", []) == []


def test_a_bare_conductor_sink_is_the_task_s_own_event_and_fail_task_fails_the_wait(
        clients: OrkesClients, events: EventResourceApi) -> None:
    publisher(clients, "ev_bare", "conductor")
    not_approved = handler("a_approved_only", "conductor:ev_bare:publish_ref",  # the payload has no approved field
                           complete("${workflowInstanceId}", "ack_ref", {}), condition="approved")
    not_approved.evaluator_type = "value-param"
    events.add_event_handler(not_approved)
    events.add_event_handler(handler(
        "z_reject", "conductor:ev_bare:publish_ref",
        Action(action="fail_task", fail_task=TaskDetails(workflow_id="${workflowInstanceId}", task_ref_name="ack_ref",
                                                         output={"why": "rejected"}))))
    wid = run(clients, "ev_bare", {"orderId": "O-3", "amount": 1})
    failed = wait_status(clients, wid, "FAILED")
    assert task_of(failed, "ack_ref").status == "FAILED"
    assert task_of(failed, "ack_ref").output_data["why"] == "rejected"


def test_terminate_workflow_ends_the_run_the_payload_names(clients: OrkesClients, events: EventResourceApi) -> None:
    """An action that cannot run (a workflow nobody registered) fails alone: the next handler still acts."""
    publisher(clients, "ev_cancel", "conductor:cancel")
    events.add_event_handler(handler("a_unknown_flow", "conductor:ev_cancel:cancel", start("ev_no_such_flow", {})))
    events.add_event_handler(EventHandler(
        name="z_cancel", event="conductor:ev_cancel:cancel", active=True, actions=[Action(
            action="terminate_workflow",
            terminate_workflow={"workflowId": "${workflowInstanceId}", "terminationReason": "cancelled ${orderId}"})]))
    wid = run(clients, "ev_cancel", {"orderId": "O-4", "amount": 1})
    ended = wait_status(clients, wid, "TERMINATED")
    assert ended.reason_for_incompletion == "cancelled O-4"


def test_update_workflow_variables_sets_and_appends_to_the_run_s_variables(
        clients: OrkesClients, events: EventResourceApi) -> None:
    register(clients, "ev_vars",
             WorkflowTask(name="init", task_reference_name="init_ref", type="SET_VARIABLE",
                          input_parameters={"tags": ["first"], "kept": 1}),
             WorkflowTask(name="publish", task_reference_name="publish_ref", type="EVENT", sink="conductor:vars",
                          input_parameters={"orderId": "${workflow.input.orderId}"}),
             WorkflowTask(name="await_ack", task_reference_name="ack_ref", type="WAIT"))
    ev = "conductor:ev_vars:vars"
    events.add_event_handler(handler("a_vars", ev, Action(
        action="update_workflow_variables", update_workflow_variables=UpdateWorkflowVariables(
            workflow_id="${workflowInstanceId}", append_array=True,
            variables={"tags": ["${orderId}"], "status": "seen ${orderId}"}))))
    events.add_event_handler(handler("z_vars_ack", ev, complete("${workflowInstanceId}", "ack_ref", {})))
    wid = run(clients, "ev_vars", {"orderId": "O-6"})
    done = wait_status(clients, wid, "COMPLETED")
    assert done.variables == {"tags": ["first", "O-6"], "kept": 1, "status": "seen O-6"}


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[dict[str, Any]]:
    if request.param == "sqlite":
        yield {"kind": "sqlite", "path": str(tmp_path / "shared.db")}
        return
    schema = create_schema()
    try:
        yield {"kind": "postgres", "dsn": PG_DSN, "schema": schema}
    finally:
        drop_schema(schema)


def test_a_published_event_waits_in_the_store_for_a_gateway_that_handles_events(
        tmp_path: Path, store: dict[str, Any]) -> None:
    """A gateway with event processing off (the OSS default-event-processor switch) only queues what is
    published; a later gateway on the same store handles the queued message."""

    def dialects(processing: bool) -> dict[str, Any]:
        return {**ONLY_CONDUCTOR, "conductor": {"event_processing": processing}}

    with run_gateway(tmp_path, dialects=dialects(False), store=store) as first:
        config = Configuration(server_api_url=f"{first.url}/api")
        clients = OrkesClients(configuration=config)
        publisher(clients, "ev_later", "conductor:later")
        EventResourceApi(ApiClient(config)).add_event_handler(handler(
            "z_later", "conductor:ev_later:later", complete("${workflowInstanceId}", "ack_ref", {"late": True})))
        wid = run(clients, "ev_later", {"orderId": "O-5", "amount": 1})
        wf = clients.get_workflow_client().get_workflow(wid, include_tasks=True)
        deadline = time.monotonic() + 20
        while [t.status for t in wf.tasks] != ["COMPLETED", "IN_PROGRESS"]:  # published, nobody handles it
            assert time.monotonic() < deadline, [t.status for t in wf.tasks]
            time.sleep(0.05)
            wf = clients.get_workflow_client().get_workflow(wid, include_tasks=True)

    with run_gateway(tmp_path, dialects=dialects(True), store=store) as second:
        again = OrkesClients(configuration=Configuration(server_api_url=f"{second.url}/api"))
        done = wait_status(again, wid, "COMPLETED")
        assert task_of(done, "ack_ref").output_data["late"] is True


def test_a_handler_name_with_nul_is_refused_on_every_store_never_a_500(
        tmp_path: Path, store: dict[str, Any]) -> None:
    """PostgreSQL text cannot hold NUL: adding such a handler answered 500 there (psycopg's DataError);
    now the add is a 400 in Conductor's format, and reading or removing that name is the usual 404."""
    with run_gateway(tmp_path, dialects=ONLY_CONDUCTOR, store=store) as gw:
        api = EventResourceApi(ApiClient(Configuration(server_api_url=f"{gw.url}/api")))
        name = "nul\x00name"
        try:
            api.add_event_handler(handler(name, "conductor:wf:nul", start("wf", {})))
        except ApiException as exc:
            assert exc.status == 400, exc.body
            assert "NUL" in json.loads(exc.body)["message"]
        with pytest.raises(ApiException) as missing:
            api.remove_event_handler_status("nul\x00other")
        assert missing.value.status == 404
        assert _error(missing)["message"] == "EventHandler with name nul\x00other not found!"
        assert api.get_event_handlers_for_event("conductor:wf:\x00", active_only=False) == []


def test_null_fields_of_a_handler_are_read_as_absent_as_the_server_reads_them(config: Configuration) -> None:
    """The server's Jackson takes ``null`` for any EventHandler field (a client that writes nulls sends
    them): a null condition is no condition, null name/event/actions get the bean-validation answer --
    the spec refused them with a schema error instead."""
    with httpx.Client(base_url=config.host, timeout=30) as http:
        ok = http.post("/event", json={"name": "nulls_ok", "event": "conductor:nulls:q", "condition": None,
                                       "evaluatorType": None, "active": None,
                                       "actions": [{"action": "start_workflow", "start_workflow": {"name": "x"}}]})
        assert ok.status_code == 200, ok.text
        stored = http.get("/event/conductor:nulls:q", params={"activeOnly": "false"}).json()
        assert [(h["name"], "condition" in h, h["active"]) for h in stored] == [("nulls_ok", False, False)]
        bad = http.post("/event", json={"name": None, "event": None, "actions": None})
        assert bad.status_code == 400
        assert sorted((e["path"], e["message"]) for e in bad.json()["validationErrors"]) == [
            ("addEventHandler.eventHandler.actions", "No actions specified. Please specify at-least one action"),
            ("addEventHandler.eventHandler.actions", "must not be null"),
            ("addEventHandler.eventHandler.event", "Missing event location"),
            ("addEventHandler.eventHandler.name", "Missing event handler name"),
        ]
