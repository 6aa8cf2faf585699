"""Conductor schedules through conductor-python's SchedulerClient: a schedule really starts its workflow
every second, pause stops it, resume starts it again, delete removes it; bad input is Conductor's 400;
missed slots are replayed or skipped as ``runCatchupScheduleInstances`` says.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from conductor.client.configuration.configuration import Configuration
from conductor.client.http.models import StartWorkflowRequest, WorkflowDef, WorkflowTask
from conductor.client.http.models.save_schedule_request import SaveScheduleRequest
from conductor.client.http.rest import ApiException
from conductor.client.orkes.models.metadata_tag import MetadataTag
from conductor.client.orkes_clients import OrkesClients

from tests.conductor.conftest import ONLY_CONDUCTOR
from tests.support.server import RunningGateway, run_gateway

FLOW = "scheduled_flow"


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningGateway]:
    dialects = {**ONLY_CONDUCTOR, "conductor": {"schedule_tick_ms": 100}}
    with run_gateway(tmp_path_factory.mktemp("conductor-schedules"), dialects=dialects) as gw:
        yield gw


@pytest.fixture(scope="module")
def clients(gateway: RunningGateway) -> OrkesClients:
    clients = OrkesClients(configuration=Configuration(server_api_url=f"{gateway.url}/api"))
    task = WorkflowTask(name="mark", task_reference_name="mark_ref", type="SET_VARIABLE",
                        input_parameters={"fired": "${workflow.input._scheduledTime}"})
    clients.get_metadata_client().register_workflow_def(WorkflowDef(name=FLOW, version=1, tasks=[task]),
                                                        overwrite=True)
    return clients


def request(name: str, cron: str, **fields: Any) -> SaveScheduleRequest:
    start = StartWorkflowRequest(name=FLOW, version=1, input={"region": "eu"}, correlation_id=f"corr-{name}")
    return SaveScheduleRequest(name=name, cron_expression=cron, start_workflow_request=start, **fields)


def executions(clients: OrkesClients, name: str) -> list[Any]:
    found = clients.get_scheduler_client().search_schedule_executions(size=100, query=f"scheduleName IN ({name})")
    return list(found.results or [])


def wait_until(check: Callable[[], Any], timeout: float = 10.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        assert time.monotonic() < deadline, "condition not reached"
        time.sleep(0.1)


def on_gateway_loop(gateway: RunningGateway, make: Callable[[Any], Any]) -> Any:
    dialect = next(d for d in gateway.app.dialects if d.name == "conductor")
    return asyncio.run_coroutine_threadsafe(make(dialect), dialect.loop).result(timeout=20)


def fired_later(gateway: RunningGateway, name: str, seconds: int = 5) -> list[dict[str, Any]]:
    """What one pass of the firing loop starts for ``name`` if it ran ``seconds`` from now."""
    later = int(time.time() * 1000) + seconds * 1000
    return [run for run in on_gateway_loop(gateway, lambda d: d.scheduler.tick(later)) if run["scheduleName"] == name]


def test_every_second_schedule_starts_runs_and_pause_resume_delete_control_it(
        gateway: RunningGateway, clients: OrkesClients) -> None:
    scheduler = clients.get_scheduler_client()
    scheduler.save_schedule(request("every_second", "* * * * * ?", description="each second"))

    first = wait_until(lambda: [e for e in executions(clients, "every_second") if e.state == "EXECUTED"])[0]
    run = clients.get_workflow_client().get_workflow(first.workflow_id, include_tasks=True)
    assert run.workflow_name == FLOW and run.correlation_id == "corr-every_second"
    assert run.input["region"] == "eu" and run.input["_startedByScheduler"] == "every_second"
    assert run.input["_scheduledTime"] == first.scheduled_time and first.scheduled_time % 1000 == 0
    assert run.input["_schedulerCron"] == "* * * * * ? UTC"
    assert first.workflow_name == FLOW and first.zone_id == "UTC"

    schedule = scheduler.get_schedule("every_second")
    assert (schedule.cron_expression, schedule.description, schedule.paused) == ("* * * * * ?", "each second", False)
    assert [s.name for s in scheduler.get_all_schedules(workflow_name=FLOW)] == ["every_second"]
    assert scheduler.get_all_schedules(workflow_name="another_flow") == []

    scheduler.pause_schedule("every_second", reason="maintenance")
    paused = scheduler.get_schedule("every_second")
    assert paused.paused and paused.paused_reason == "maintenance"
    assert fired_later(gateway, "every_second") == []  # the firing loop's pass, five slots on: nothing
    at_pause = len(executions(clients, "every_second"))

    scheduler.resume_schedule("every_second")
    assert scheduler.get_schedule("every_second").paused is False
    wait_until(lambda: len(executions(clients, "every_second")) > at_pause)

    scheduler.delete_schedule("every_second")
    with pytest.raises(ApiException) as gone:
        scheduler.get_schedule("every_second")
    assert gone.value.status == 404 and "Schedule 'every_second' not found" in gone.value.body
    assert "every_second" not in [s.name for s in scheduler.get_all_schedules()]
    assert fired_later(gateway, "every_second") == []
    assert executions(clients, "every_second")  # its firings stay searchable


def test_bad_input_is_conductors_400_and_unknown_schedules_404(clients: OrkesClients) -> None:
    scheduler = clients.get_scheduler_client()
    for cron in ("* * * * *", "not a cron", "61 * * * * *"):
        with pytest.raises(ApiException) as bad:
            scheduler.save_schedule(request("bad_cron", cron))
        assert bad.value.status == 400 and "Invalid cron expression" in bad.value.body
    with pytest.raises(ApiException) as bad_zone:
        scheduler.save_schedule(request("bad_zone", "0 0 * * * ?", zone_id="Mars/Olympus"))
    assert bad_zone.value.status == 400 and "Unknown time-zone ID: Mars/Olympus" in bad_zone.value.body
    with pytest.raises(ApiException) as preview:
        scheduler.get_next_few_schedule_execution_times("every day")
    assert preview.value.status == 400 and "Invalid cron expression" in preview.value.body
    with pytest.raises(ApiException) as bad_time:
        scheduler.search_schedule_executions(query="scheduledTime>yesterday")
    assert bad_time.value.status == 400
    assert scheduler.get_all_schedules() == [] or "bad_cron" not in [s.name for s in scheduler.get_all_schedules()]

    for action in (scheduler.get_schedule, scheduler.pause_schedule, scheduler.resume_schedule):
        with pytest.raises(ApiException) as missing:
            action("no_such_schedule")
        assert missing.value.status == 404 and "Schedule 'no_such_schedule' not found" in missing.value.body
    scheduler.delete_schedule("no_such_schedule")  # a quiet 200, as the OSS server answers

    scheduler.save_schedule(request("not_paused", "0 0 * * * ?"))
    with pytest.raises(ApiException) as not_paused:
        scheduler.resume_schedule("not_paused")  # the OSS server's answer to resuming a running schedule
    assert not_paused.value.status == 404
    scheduler.delete_schedule("not_paused")


def test_schedule_tags_are_added_listed_removed_and_go_with_the_schedule(clients: OrkesClients) -> None:
    """Orkes' SchedulerClient.set/get/delete_scheduler_tags, as conductor-python's own lifecycle test uses them."""
    scheduler = clients.get_scheduler_client()
    scheduler.save_schedule(request("tagged_nightly", "0 0 2 * * ?"))
    scheduler.set_scheduler_tags([MetadataTag("env", "prod"), MetadataTag("team", "ops")], "tagged_nightly")
    scheduler.save_schedule(request("tagged_nightly", "0 0 3 * * ?"))  # replacing the schedule keeps its tags
    assert sorted((t.key, t.value) for t in scheduler.get_scheduler_tags("tagged_nightly")) == [
        ("env", "prod"), ("team", "ops")]

    scheduler.delete_scheduler_tags([MetadataTag("env", "prod"), MetadataTag("team", "ops")], "tagged_nightly")
    assert scheduler.get_scheduler_tags("tagged_nightly") == []

    scheduler.set_scheduler_tags([MetadataTag("env", "prod")], "tagged_nightly")
    scheduler.delete_schedule("tagged_nightly")
    scheduler.save_schedule(request("tagged_nightly", "0 0 2 * * ?"))
    assert scheduler.get_scheduler_tags("tagged_nightly") == []  # a schedule created again starts untagged
    scheduler.delete_schedule("tagged_nightly")
    with pytest.raises(ApiException) as missing:
        scheduler.get_scheduler_tags("tagged_nightly")
    assert missing.value.status == 404 and "Schedule 'tagged_nightly' not found" in missing.value.body


def test_next_few_execution_times_follow_the_cron_and_its_window(clients: OrkesClients) -> None:
    scheduler = clients.get_scheduler_client()
    start = int(datetime(2031, 3, 1, 8, tzinfo=UTC).timestamp() * 1000)
    end = int(datetime(2031, 3, 4, 8, tzinfo=UTC).timestamp() * 1000)
    times = scheduler.get_next_few_schedule_execution_times("0 0 12 * * ?", schedule_start_time=start,
                                                            schedule_end_time=end, limit=10)
    assert [datetime.fromtimestamp(t / 1000, UTC).isoformat() for t in times] == [
        "2031-03-01T12:00:00+00:00", "2031-03-02T12:00:00+00:00", "2031-03-03T12:00:00+00:00"]
    assert len(scheduler.get_next_few_schedule_execution_times("0 0 9 ? * MON", limit=10)) == 5  # at most five
    weekly = scheduler.get_next_few_schedule_execution_times("0 0 9 ? * MON", limit=2)
    assert [datetime.fromtimestamp(t / 1000, UTC).strftime("%a %H:%M:%S") for t in weekly] == ["Mon 09:00:00"] * 2


@pytest.mark.parametrize(("catchup", "fired"), [(True, 3), (False, 1)])
def test_missed_slots_are_replayed_with_catchup_and_skipped_without(
        gateway: RunningGateway, clients: OrkesClients, catchup: bool, fired: int) -> None:
    name = f"yearly_{catchup}"
    scheduler = clients.get_scheduler_client()
    scheduler.save_schedule(request(name, "0 0 0 1 1 ?", run_catchup_schedule_instances=catchup))
    first_slot = on_gateway_loop(gateway, lambda d: d.schedules.get("default", name))["next"]
    first = datetime.fromtimestamp(first_slot / 1000, UTC)
    three_years_on = first.replace(year=first.year + 2).timestamp() * 1000 + 1000

    started = on_gateway_loop(gateway, lambda d: d.scheduler.tick(int(three_years_on)))
    assert [run["scheduleName"] for run in started] == [name] * fired
    assert all(run["state"] == "EXECUTED" for run in started)
    again = on_gateway_loop(gateway, lambda d: d.scheduler.tick(int(three_years_on)))
    assert again == []  # each slot fires once
    slots = sorted(e.scheduled_time for e in executions(clients, name))
    assert len(slots) == fired and slots[0] == first_slot
    scheduler.delete_schedule(name)


def test_a_schedule_whose_workflow_is_unknown_records_a_failed_execution(
        gateway: RunningGateway, clients: OrkesClients) -> None:
    scheduler = clients.get_scheduler_client()
    start = StartWorkflowRequest(name="never_registered", version=1)
    scheduler.save_schedule(SaveScheduleRequest(name="orphan", cron_expression="0 0 0 1 1 ?",
                                                start_workflow_request=start))
    slot = on_gateway_loop(gateway, lambda d: d.schedules.get("default", "orphan"))["next"]
    on_gateway_loop(gateway, lambda d: d.scheduler.tick(slot + 10))
    [failed] = scheduler.search_schedule_executions(query="scheduleName IN (orphan) AND state IN (FAILED)").results
    assert failed.workflow_id is None and "never_registered" in failed.reason
    assert scheduler.search_schedule_executions(query="orphan AND state IN (EXECUTED)").total_hits == 0
    scheduler.delete_schedule("orphan")


def test_two_replicas_sharing_a_store_start_each_slot_once(tmp_path) -> None:
    """Two gateways on one store, both firing every 100 ms: every second's slot starts one workflow."""
    dialects = {**ONLY_CONDUCTOR, "conductor": {"schedule_tick_ms": 100}}
    with run_gateway(tmp_path, dialects=dialects) as one, run_gateway(tmp_path, dialects=dialects) as two:
        first, second = (OrkesClients(configuration=Configuration(server_api_url=f"{gw.url}/api")) for gw in (one, two))
        task = WorkflowTask(name="mark", task_reference_name="mark_ref", type="SET_VARIABLE", input_parameters={"x": 1})
        first.get_metadata_client().register_workflow_def(WorkflowDef(name=FLOW, version=1, tasks=[task]),
                                                          overwrite=True)
        first.get_scheduler_client().save_schedule(request("shared", "* * * * * ?"))
        wait_until(lambda: len(executions(second, "shared")) >= 2)
        second.get_scheduler_client().pause_schedule("shared")
        time.sleep(0.3)  # a start claimed just before the pause is recorded
        found = executions(first, "shared")
        slots = [e.scheduled_time for e in found]
        assert len(slots) == len(set(slots)) and all(e.state == "EXECUTED" for e in found)
        assert len({e.workflow_id for e in found}) == len(found)
