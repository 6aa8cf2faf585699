"""Schedule triggers: cron expressions that really start executions.

Cognite's cron expressions have five fields (minute granularity), evaluated in the trigger's
timezone (default UTC).  A background task started in ``Dialect.startup`` calls :meth:`tick` about
once a second; ``tick(now_ms)`` fires every unpaused trigger whose next fire time has passed, once
(missed fire times while the gateway was down coalesce into one run), and records the run in the
trigger's history.  Claiming a fire is a compare-and-set on the trigger's row, so several gateway
replicas sharing one store never fire a trigger twice.  Tests drive ``tick`` with a chosen "now";
one real firing would take up to a minute.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import CroniterBadDateError, croniter
from wfgateway.adapters.cognite.clock import now_ms
from wfgateway.adapters.cognite.errors import bad_request
from wfgateway.adapters.cognite.limits import check_concurrency
from wfgateway.adapters.cognite.nesting import check_references, cognite_tasks
from wfgateway.adapters.cognite.state import SEP, KeyValue, key

from wfgateway.core.backend import Backend
from wfgateway.core.errors import GatewayError
from wfgateway.core.loops import Ticking

log = logging.getLogger("wfgateway.cognite.triggers")

TRIGGERS = "trigger"
RUNS = "trigger_run"


def check_schedule(cron: str, timezone: str | None) -> None:
    """400 unless ``cron`` is a five-field cron expression that fires and ``timezone`` an IANA zone."""
    if len(cron.split()) != 5 or not croniter.is_valid(cron):
        raise bad_request(f"Invalid cron expression '{cron}': expected five fields (minute hour day month weekday)")
    try:  # February 30th passes the field checks; with no year field, one that fires now always will
        next_fire(cron, timezone, now_ms())
    except CroniterBadDateError:
        raise bad_request(f"Invalid cron expression '{cron}': it never fires") from None


def zone(timezone: str | None) -> ZoneInfo | Any:
    if not timezone:
        return UTC
    try:
        return ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise bad_request(f"Invalid timezone '{timezone}'") from exc


def is_schedule(trigger: dict[str, Any]) -> bool:
    """Only schedule triggers fire here (data modeling and record stream triggers have nothing to watch)."""
    return bool(trigger["triggerRule"].get("triggerType") == "schedule")


def upcoming(rec: dict[str, Any], now: int) -> int:
    """The next fire time of a trigger row from ``now``, never one it already fired."""
    rule = rec["trigger"]["triggerRule"]
    return next_fire(rule["cronExpression"], rule.get("timezone"), max(now, int(rec.get("lastFireTime") or 0)))


def next_fire(cron: str, timezone: str | None, after_ms: int) -> int:
    """The first fire time (ms) strictly after ``after_ms``."""
    start = datetime.fromtimestamp(after_ms / 1000, tz=zone(timezone))
    nxt = croniter(cron, start).get_next(datetime)
    return int(nxt.timestamp() * 1000)


def trigger_input(trigger: dict[str, Any]) -> dict[str, Any]:
    """A trigger-started execution's input: the trigger's static input plus CDF's system input,
    the workflow version (``${workflow.input.version}``), as CDF appends it."""
    return {**dict(trigger.get("input") or {}), "version": trigger["workflowVersion"]}


class SessionCheck(Protocol):
    async def usable(self, project: str, session_id: int | None) -> str | None: ...


class TriggerScheduler(Ticking):
    def __init__(self, kv: KeyValue, backend: Backend, *, clock: Callable[[], int] = now_ms,
                 interval_s: float = 1.0, sessions: SessionCheck | None = None) -> None:
        super().__init__("cognite-triggers", interval_s=interval_s, clock=clock)
        self.kv = kv
        self.sessions = sessions  # a trigger whose session was revoked or expired starts nothing
        self.backend = backend
        self.interval_s = interval_s

    async def tick(self, now: int) -> list[dict[str, Any]]:
        """Fire every due trigger; returns the runs recorded."""
        runs = []
        for k, rec in await self.kv.scan(TRIGGERS, "", limit=1_000_000):
            trigger = rec["trigger"]
            if trigger["isPaused"] or not is_schedule(trigger) or rec["nextFireTime"] > now:
                continue
            rule = trigger["triggerRule"]
            claimed = {**rec, "lastFireTime": rec["nextFireTime"],
                       "nextFireTime": next_fire(rule["cronExpression"], rule.get("timezone"), now)}
            if not await self.kv.replace(TRIGGERS, k, rec, claimed):
                continue  # another replica fired it, or it changed meanwhile
            runs.append(await self.fire(k.split(SEP, 1)[0], trigger, rec["nextFireTime"], rec.get("sessionId")))
        return runs

    async def fire(self, project: str, trigger: dict[str, Any], fire_time: int,
                   session_id: int | None = None) -> dict[str, Any]:
        run: dict[str, Any] = {
            "externalId": trigger["externalId"], "fireTime": fire_time,
            "workflowExternalId": trigger["workflowExternalId"], "workflowVersion": trigger["workflowVersion"],
        }
        try:
            wf, version = trigger["workflowExternalId"], trigger["workflowVersion"]
            unusable = await self.sessions.usable(project, session_id) if self.sessions else None
            if unusable:
                raise bad_request(f"The trigger's session cannot start executions: {unusable}")
            d = await self.backend.get_definition(project, wf, version)
            await check_references(self.backend, project, wf, version, cognite_tasks(d))
            await check_concurrency(self.backend, self.kv, project, wf)
            e = await self.backend.start(
                project, trigger["workflowExternalId"], trigger["workflowVersion"], trigger_input(trigger),
                metadata=dict(trigger.get("metadata") or {}), execution_id=str(uuid.uuid4()),
                idempotency_key=f"cognite-trigger:{trigger['externalId']}:{fire_time}",
                idempotency_strategy="return_existing", dialect="cognite",
            )
            run.update(status="success", workflowExecutionId=e.id)
        except GatewayError as exc:
            run.update(status="failed", reasonForFailure=exc.message)
        await self.kv.put(RUNS, key(project, trigger["externalId"], f"{fire_time:015d}"), run)
        return run
