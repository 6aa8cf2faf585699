"""Conductor's workflow schedules: stored per tenant, fired in the background exactly once per slot.

A schedule row holds the schedule as saved and its next slot (epoch ms).  The firing loop is the one
every dialect's scheduler uses (core.loops.Ticking, about once a second): a due slot is claimed by
a compare-and-set that moves the row's next slot forward, so of all the replicas and worker
processes sharing the persistence home exactly one starts the slot's workflow.  The next slot is
computed as the OSS SchedulerService computes it: with ``runCatchupScheduleInstances`` the slot
after the one just fired (missed slots are replayed one by one, in order), without it the first
slot after now (missed slots are skipped); never before ``scheduleStartTime`` nor after
``scheduleEndTime``.  Each firing is kept as a WorkflowScheduleExecutionModel (EXECUTED with the
workflow's id, or FAILED with the reason the start was refused); a schedule keeps its newest 5
once it has more than 10, the OSS server's archival defaults.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from wfgateway.adapters.conductor.spring_cron import next_after
from wfgateway.adapters.conductor.workflow_api import start_from_request

from wfgateway.core.backend import Backend
from wfgateway.core.errors import GatewayError
from wfgateway.core.loops import Ticking
from wfgateway.dialect import Principal
from wfgateway.engine.store.kv import KeyValue
from wfgateway.engine.store.tables import StoreHome

log = logging.getLogger("wfgateway.conductor.schedules")

NAMESPACE = "conductor_schedules"  # the persistence home's <namespace>_kv table
SEP = "\x1f"  # between a key's parts (tenant, schedule name, slot, execution id)
SCHEDULES, RUNS, ADMIN = "schedule", "run", "admin"
KEEP_RUNS, PRUNE_ABOVE = 5, 10  # archival-max-records / archival-max-record-threshold
MAX_SLOTS_PER_TICK = 100  # a long catch-up continues on the next tick


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def crons(schedule: dict[str, Any]) -> list[tuple[str, str]]:
    """(cron, zone) of each expression: ``cronSchedules`` when given, else ``cronExpression``/``zoneId``."""
    multi = schedule.get("cronSchedules") or []
    if multi:
        return [(str(c.get("cronExpression") or ""), c.get("zoneId") or "UTC") for c in multi]
    return [(str(schedule.get("cronExpression") or ""), schedule.get("zoneId") or "UTC")]


def following(schedule: dict[str, Any], now: int, last: int) -> int | None:
    """The next slot after ``last`` (the slot just fired, or now when saved), or None past the end."""
    best: int | None = None
    for cron, zone_id in crons(schedule):
        nxt = _next_one(schedule, cron, zone_id, now, last)
        if nxt is not None and (best is None or nxt < best):
            best = nxt
    return best


def _next_one(schedule: dict[str, Any], cron: str, zone_id: str, now: int, last: int) -> int | None:
    start, end = schedule.get("scheduleStartTime"), schedule.get("scheduleEndTime")
    after = last if schedule.get("runCatchupScheduleInstances") else max(now, last)
    if start is not None and after < start - 500:
        after = start - 500  # the OSS server steps back 500 ms so that a slot at the start time counts
    nxt = next_after(cron, zone_id, after)
    if nxt is None or end is not None and nxt > end:
        return None
    return nxt


def schedule_key(tenant: str, name: str) -> str:
    return f"{tenant}{SEP}{name}"


@dataclass(frozen=True)
class ScheduledCaller:
    """What starting a workflow needs of a call (workflow_api.Caller), for a start the scheduler makes."""

    backend: Backend
    principal: Principal


class ScheduleStore:
    """Schedules, their firings and each tenant's pause-all flag, in the persistence home's KV table."""

    def __init__(self, home: StoreHome) -> None:
        self.kv = KeyValue(home, NAMESPACE)

    async def open(self) -> None:
        await self.kv.open()

    async def get(self, tenant: str, name: str) -> dict[str, Any] | None:
        rec = await self.kv.get(SCHEDULES, schedule_key(tenant, name))
        return rec if isinstance(rec, dict) else None

    async def put(self, tenant: str, name: str, schedule: dict[str, Any], next_slot: int | None) -> None:
        await self.kv.put(SCHEDULES, schedule_key(tenant, name), {"schedule": schedule, "next": next_slot})

    async def delete(self, tenant: str, name: str) -> bool:
        return await self.kv.delete(SCHEDULES, schedule_key(tenant, name))

    async def of_tenant(self, tenant: str) -> list[dict[str, Any]]:
        return [rec for _, rec in await _scan_all(self.kv, SCHEDULES, f"{tenant}{SEP}")]

    async def every(self) -> list[tuple[str, dict[str, Any]]]:
        return await _scan_all(self.kv, SCHEDULES, "")

    async def claim(self, key: str, seen: dict[str, Any], claimed: dict[str, Any]) -> bool:
        return await self.kv.replace(SCHEDULES, key, seen, claimed)

    async def record(self, tenant: str, run: dict[str, Any]) -> None:
        prefix = f"{tenant}{SEP}{run['scheduleName']}{SEP}"
        await self.kv.put(RUNS, f"{prefix}{run['scheduledTime']:015d}{SEP}{run['executionId']}", run)
        kept = await _scan_all(self.kv, RUNS, prefix)
        if len(kept) > PRUNE_ABOVE:
            for key, _ in kept[:-KEEP_RUNS]:
                await self.kv.delete(RUNS, key)

    async def runs(self, tenant: str) -> list[dict[str, Any]]:
        return [run for _, run in await _scan_all(self.kv, RUNS, f"{tenant}{SEP}")]

    async def set_paused_all(self, tenant: str, paused: bool) -> None:
        if paused:
            await self.kv.put(ADMIN, tenant, {"paused": True})
        else:
            await self.kv.delete(ADMIN, tenant)

    async def paused_tenants(self) -> set[str]:
        return {k for k, _ in await _scan_all(self.kv, ADMIN, "")}


async def _scan_all(kv: KeyValue, ns: str, prefix: str) -> list[tuple[str, Any]]:
    out: list[tuple[str, Any]] = []
    after: str | None = None
    while True:
        rows = await kv.scan(ns, prefix, after=after, limit=1000)
        out += rows
        if len(rows) < 1000:
            return out
        after = rows[-1][0]


class Scheduler(Ticking):
    """Fires every tenant's due schedule slots on ``backend`` (the embedded engine)."""

    def __init__(self, store: ScheduleStore, backend: Backend, *, clock: Callable[[], int] = now_ms,
                 interval_s: float = 1.0) -> None:
        super().__init__("conductor-schedules", interval_s=interval_s, clock=clock)
        self.store = store
        self.backend = backend

    async def tick(self, now: int) -> list[dict[str, Any]]:
        """Fire each due slot once (claimed by compare-and-set); the executions recorded."""
        fired: list[dict[str, Any]] = []
        paused = await self.store.paused_tenants()
        for key, rec in await self.store.every():
            tenant, name = key.split(SEP, 1)
            if tenant in paused or rec["schedule"].get("paused"):
                continue
            for _ in range(MAX_SLOTS_PER_TICK):
                slot = rec.get("next")
                if slot is None or slot > now:
                    break
                try:
                    nxt = following(rec["schedule"], now, slot)
                except GatewayError:  # a stored expression that no longer parses: it fires no more
                    nxt = None
                claimed = {**rec, "next": nxt}
                if not await self.store.claim(key, rec, claimed):
                    break  # another replica or worker process fired it, or the schedule changed meanwhile
                fired.append(await self.fire(tenant, name, rec["schedule"], slot, now))
                rec = claimed
        return fired

    async def fire(self, tenant: str, name: str, schedule: dict[str, Any], slot: int, now: int) -> dict[str, Any]:
        """Start the schedule's workflow for ``slot`` with the scheduler's input keys, as the OSS server does."""
        request = dict(schedule.get("startWorkflowRequest") or {})
        cron, zone_id = crons(schedule)[0]
        run: dict[str, Any] = {
            "executionId": str(uuid.uuid4()), "scheduleName": name, "scheduledTime": slot, "executionTime": now,
            "workflowName": request.get("name"), "startWorkflowRequest": request, "zoneId": zone_id,
        }
        body = {**request, "input": {
            **(request.get("input") or {}), "_startedByScheduler": name, "_scheduledTime": slot,
            "_executedTime": now, "_executionId": run["executionId"], "_schedulerCron": f"{cron} {zone_id}",
        }}
        try:
            caller = ScheduledCaller(self.backend, Principal(tenant=tenant, subject="scheduler"))
            run.update(workflowId=await start_from_request(caller, body), state="EXECUTED")
        except GatewayError as exc:
            log.warning("schedule %s could not start %s: %s", name, request.get("name"), exc.message)
            run.update(state="FAILED", reason=exc.message[:999])
        await self.store.record(tenant, run)
        return run
