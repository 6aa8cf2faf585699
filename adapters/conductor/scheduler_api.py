"""Handlers of /api/scheduler (the OSS server's SchedulerResource), on the tenant's ScheduleStore.

Answers as the OSS server's scheduler module answers: a save returns the stored WorkflowSchedule; an
unknown schedule is 404 ``Schedule 'NAME' not found`` on get, pause and resume (resume also when the
schedule is not paused); a delete of an unknown schedule is a quiet 200.  Where the OSS server gives a
500 for bad input (an unparseable cron expression or zone, a non-numeric time in an execution
search) the gateway answers 400 with the same message.  ``/admin/pause`` and ``/admin/resume`` stop and
restart every schedule of the caller's tenant (the OSS server's switch is per server instance).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from starlette.responses import Response
from wfgateway.adapters.conductor.common import tenant
from wfgateway.adapters.conductor.responses import empty_response, json_response
from wfgateway.adapters.conductor.schedules import SEP, ScheduleStore, following, now_ms
from wfgateway.adapters.conductor.spring_cron import expand, zone

from wfgateway.core.errors import InvalidArgument, NotFound
from wfgateway.dialect import Call, Handler

# the fields of a WorkflowSchedule a save keeps (createTime, createdBy, ... are the server's)
SAVED = ("name", "cronExpression", "runCatchupScheduleInstances", "paused", "pausedReason", "startWorkflowRequest",
         "zoneId", "cronSchedules", "scheduleStartTime", "scheduleEndTime", "description")
SORTABLE = {"scheduledTime", "executionTime", "scheduleName", "workflowName", "state"}
MAX_PREVIEW = 5  # getListOfNextSchedules answers at most five times whatever the limit


def not_found(name: str) -> NotFound:
    return NotFound(f"Schedule '{name}' not found")


def render(schedule: dict[str, Any], next_slot: int | None) -> dict[str, Any]:
    """A WorkflowSchedule as Jackson writes it (nulls left out; ``cronSchedules`` always a list)."""
    doc = {k: v for k, v in schedule.items() if v is not None}
    doc["cronSchedules"] = list(schedule.get("cronSchedules") or [])
    if next_slot is not None and not schedule.get("paused"):
        doc["nextRunTime"] = next_slot
    return doc


def check_expressions(body: dict[str, Any]) -> None:
    for cron in body.get("cronSchedules") or [{"cronExpression": body.get("cronExpression"),
                                               "zoneId": body.get("zoneId")}]:
        expand(cron.get("cronExpression"))
        zone(cron.get("zoneId"))


class SchedulerApi:
    def __init__(self, store: ScheduleStore, clock: Callable[[], int] = now_ms) -> None:
        self.store = store
        self.clock = clock

    def handlers(self) -> dict[str, Handler]:
        return {
            "saveSchedule": self.save_schedule,
            "getSchedule": self.get_schedule,
            "getAllSchedules": self.get_all_schedules,
            "deleteSchedule": self.delete_schedule,
            "pauseSchedule": self.pause_schedule,
            "pauseScheduleByGet": self.pause_schedule,
            "resumeSchedule": self.resume_schedule,
            "resumeScheduleByGet": self.resume_schedule,
            "pauseAllSchedules": self.pause_all,
            "resumeAllSchedules": self.resume_all,
            "requeueAllExecutionRecords": self.requeue_all,
            "getNextFewSchedules": self.next_few,
            "searchV21": self.search_executions,
        }

    async def _save(self, call: Call, body: dict[str, Any]) -> dict[str, Any]:
        name = body.get("name")
        if not isinstance(name, str) or not name.strip():
            raise InvalidArgument("Schedule name is required")
        if SEP in name:
            raise InvalidArgument(f"Invalid schedule name: {name!r}")
        check_expressions(body)
        request = body.get("startWorkflowRequest")
        if not isinstance(request, dict) or not request.get("name"):
            raise InvalidArgument("startWorkflowRequest with a workflow name is required")
        now = self.clock()
        existing = await self.store.get(tenant(call), name)
        schedule: dict[str, Any] = {k: body.get(k) for k in SAVED}
        schedule.update(
            runCatchupScheduleInstances=bool(body.get("runCatchupScheduleInstances")),
            paused=bool(body.get("paused")), zoneId=body.get("zoneId") or "UTC",
            cronSchedules=list(body.get("cronSchedules") or []),
            createTime=existing["schedule"]["createTime"] if existing else now,
            createdBy=existing["schedule"]["createdBy"] if existing else call.principal.subject,
            updatedTime=now, updatedBy=call.principal.subject,
        )
        next_slot = following(schedule, now, now)
        await self.store.put(tenant(call), name, schedule, next_slot)
        return render(schedule, next_slot)

    async def save_schedule(self, call: Call) -> Response:
        return json_response(await self._save(call, dict(call.body or {})))

    async def _load(self, call: Call, name: str) -> dict[str, Any]:
        rec = await self.store.get(tenant(call), name)
        if rec is None:
            raise not_found(name)
        return rec

    async def get_schedule(self, call: Call) -> Response:
        rec = await self._load(call, call.path["name"])
        return json_response(render(rec["schedule"], rec.get("next")))

    async def get_all_schedules(self, call: Call) -> Response:
        wanted = (call.query.get("workflowName") or "").strip()
        out = [render(rec["schedule"], rec.get("next")) for rec in await self.store.of_tenant(tenant(call))
               if not wanted or (rec["schedule"].get("startWorkflowRequest") or {}).get("name") == wanted]
        return json_response(out)

    async def delete_schedule(self, call: Call) -> Response:
        await self.store.delete(tenant(call), call.path["name"])
        return empty_response()

    async def pause_schedule(self, call: Call) -> Response:
        rec = await self._load(call, call.path["name"])
        schedule = {**rec["schedule"], "paused": True, "pausedReason": call.query.get("reason"),
                    "updatedTime": self.clock(), "updatedBy": call.principal.subject}
        await self.store.put(tenant(call), call.path["name"], schedule, rec.get("next"))
        return empty_response()

    async def resume_schedule(self, call: Call) -> Response:
        name = call.path["name"]
        rec = await self.store.get(tenant(call), name)
        if rec is None or not rec["schedule"].get("paused"):
            raise not_found(name)  # as the OSS server answers a schedule that is not paused
        await self._save(call, {**rec["schedule"], "paused": False, "pausedReason": None})
        return empty_response()

    async def pause_all(self, call: Call) -> Response:
        await self.store.set_paused_all(tenant(call), True)
        return json_response({"status": "done"})

    async def resume_all(self, call: Call) -> Response:
        await self.store.set_paused_all(tenant(call), False)
        return json_response({"status": "done"})

    async def requeue_all(self, call: Call) -> Response:
        """Firings are stored searchable when they happen: none waits to be requeued for archival."""
        return json_response({"recordIds.size": 0, "sampleIds": []})

    async def next_few(self, call: Call) -> Response:
        q = call.query
        cron = q.get("cronExpression")
        expand(cron)
        limit = q.get("limit")
        preview = {"cronExpression": cron, "scheduleStartTime": q.get("scheduleStartTime"),
                   "scheduleEndTime": q.get("scheduleEndTime")}
        times: list[int] = []
        now = last = self.clock()
        for _ in range(min(MAX_PREVIEW, 5 if limit is None else int(limit))):
            nxt = following(preview, now, last)
            if nxt is None:
                break
            times.append(nxt)
            last = now = nxt
        return json_response(times)

    async def search_executions(self, call: Call) -> Response:
        q = call.query
        match = parse_execution_query(q.get("query"))
        runs = [run for run in await self.store.runs(tenant(call)) if match(run)]
        for field, descending in reversed(sort_options(q.get("sort"))):
            runs.sort(key=_by(field), reverse=descending)
        asked = q.get("size")
        start, size = max(0, int(q.get("start") or 0)), 100 if asked is None else int(asked)
        page = runs[start:start + max(0, size)]
        return json_response({"totalHits": len(runs), "results": [{k: v for k, v in r.items() if v is not None}
                                                                   for r in page]})


def _by(field: str) -> Callable[[dict[str, Any]], tuple[bool, Any]]:
    def key(run: dict[str, Any]) -> tuple[bool, Any]:
        value = run.get(field)
        return value is not None, value if value is not None else 0

    return key


def sort_options(sort: str | None) -> list[tuple[str, bool]]:
    """``field[:ASC|DESC]`` items, comma-separated; unknown fields sort by scheduledTime, DESC unless ASC."""
    out = []
    for item in (sort or "").split(","):
        if not item.strip():
            continue
        field, _, direction = item.partition(":")
        field = field.strip() if field.strip() in SORTABLE else "scheduledTime"
        out.append((field, direction.strip().upper() != "ASC"))
    return out or [("scheduledTime", True)]


def parse_execution_query(query: str | None) -> Callable[[dict[str, Any]], bool]:
    """The OSS SchedulerSearchQuery: ``scheduleName IN (a,b) AND state IN (..) AND scheduledTime>N AND
    scheduledTime<N AND workflowName=x AND executionId=y``; any other clause is a schedule name."""
    names: list[str] = []
    states: list[str] = []
    after = before = None
    workflow = execution = None
    for clause in re.split(r"\s+AND\s+", query or ""):
        clause = clause.strip()
        if not clause:
            continue
        if clause.startswith("scheduleName IN (") and clause.endswith(")"):
            names += [v.strip() for v in clause[len("scheduleName IN ("):-1].split(",") if v.strip()]
        elif clause.startswith("state IN (") and clause.endswith(")"):
            states += [v.strip() for v in clause[len("state IN ("):-1].split(",") if v.strip()]
        elif clause.startswith("scheduledTime>"):
            after = _long(clause[len("scheduledTime>"):])
        elif clause.startswith("scheduledTime<"):
            before = _long(clause[len("scheduledTime<"):])
        elif clause.startswith("workflowName="):
            workflow = clause[len("workflowName="):].strip().lower()
        elif clause.startswith("executionId="):
            execution = clause[len("executionId="):].strip()
        else:
            names.append(clause)

    def match(run: dict[str, Any]) -> bool:
        slot = run.get("scheduledTime") or 0
        return ((not names or run.get("scheduleName") in names) and (not states or run.get("state") in states)
                and (after is None or slot > after) and (before is None or slot < before)
                and (not workflow or workflow in str(run.get("workflowName") or "").lower())
                and (not execution or run.get("executionId") == execution))

    return match


def _long(text: str) -> int:
    try:
        return int(text.strip())
    except ValueError:
        raise InvalidArgument(f'For input string: "{text.strip()}"') from None
