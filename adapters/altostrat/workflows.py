"""Altostrat workflows kept as engine definitions: the definition's name is the ``fl_`` id and
the vendor JSON travels in ``definition.extra["altostrat"]`` so it renders back unchanged.

Each workflow has one definition version (1) that an update overwrites; runs keep the snapshot
they started with, and re-runs and resumed runs start from the workflow as it is now (replay.py).
"""

from __future__ import annotations

import hashlib
import re
import time
from typing import Any

from wfgateway.adapters.altostrat import ids
from wfgateway.adapters.altostrat.translate import Graph, translate

from wfgateway.core.backend import Backend
from wfgateway.core.errors import Conflict, InvalidArgument, NotFound
from wfgateway.core.model import WorkflowDefinition

DIALECT = "altostrat"
VERSION = 1
RUN_TIMEOUT_MS = 60 * 60 * 1000  # a run over 1 hour is failed
SCHEDULED_TYPES = frozenset({"interval", "cron"})
_INTERVAL = re.compile(r"^\s*(\d+)\s*(second|minute|hour|day|week)s?\s*$", re.IGNORECASE)


def now_ms() -> int:
    return int(time.time() * 1000)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


LAST_SHOWABLE_MS = 253402300800000  # 10000-01-01T00:00:00Z: the dates a run or a listing can show end before it


def check_schedule(record: dict[str, Any]) -> list[str]:
    kind, value = record.get("schedule_type") or "manual", record.get("schedule_value")
    if kind in SCHEDULED_TYPES and not value:
        return [f"The schedule_value is required when schedule_type is {kind}."]
    if kind == "cron" and value:
        from croniter import croniter

        if not croniter.is_valid(value):
            return [f"The schedule_value '{value}' is not a valid cron expression."]
        if cron_next_ms(value, now_ms()) is None:
            return [f"The schedule_value '{value}' never fires."]
    if kind == "interval" and value:
        m = _INTERVAL.match(value)
        if not m or int(m.group(1)) == 0 or next_run_ms({"schedule_type": kind, "schedule_value": value},
                                                        now_ms()) is None:
            # "0 minutes" would start a run on every scheduler tick; a next run past 9999 cannot be shown
            return [f"The schedule_value '{value}' is not a valid interval (e.g. '5 minutes')."]
    if kind in ("daily", "weekly", "monthly") and value:
        from croniter import croniter

        hhmm = re.match(r"^\s*([01]?\d|2[0-3]):([0-5]\d)\s*$", value)
        if not hhmm and not (len(value.split()) == 5 and croniter.is_valid(value)):
            return [f"The schedule_value '{value}' is not a valid time of day (HH:MM) for a {kind} schedule."]
        if not hhmm and cron_next_ms(value, now_ms()) is None:
            return [f"The schedule_value '{value}' never fires."]
    return []


def next_run_ms(record: dict[str, Any], after_ms: int) -> int | None:
    """When a scheduled workflow runs next (None for manual ones)."""
    kind, value = record.get("schedule_type"), record.get("schedule_value")
    if not record.get("is_active", True) or not value:
        return None
    if kind == "cron":
        return cron_next_ms(value, after_ms)
    if kind == "interval":
        m = _INTERVAL.match(value)
        if m and int(m.group(1)) > 0:
            unit = {"second": 1, "minute": 60, "hour": 3600, "day": 86400, "week": 604800}[m.group(2).lower()]
            due = after_ms + int(m.group(1)) * unit * 1000
            return due if due < LAST_SHOWABLE_MS else None  # past 9999-12-31 no date shows it: never due
    return None


def cron_next_ms(expression: str, after_ms: int) -> int | None:
    """The first firing of a valid cron expression after ``after_ms``; None when there is none (February
    31st, a year field gone by): such a schedule has no next run, which is no error of its listing."""
    from datetime import UTC, datetime

    from croniter import CroniterBadDateError, croniter

    base = datetime.fromtimestamp(after_ms / 1000, tz=UTC)
    try:
        return int(croniter(expression, base).get_next(datetime).timestamp() * 1000)
    except CroniterBadDateError:
        return None


def check(record: dict[str, Any]) -> Graph:
    """The graph and schedule checks of a workflow body (``graph.errors`` empty when valid)."""
    graph = translate(record.get("nodes") or [], record.get("edges") or [])
    graph.errors.extend(check_schedule(record))
    if graph.trigger_component == "webhook_trigger" and record.get("schedule_type") in SCHEDULED_TYPES:
        pass  # a webhook workflow may also run on a schedule
    return graph


def to_definition(tenant: str, record: dict[str, Any], graph: Graph) -> WorkflowDefinition:
    return WorkflowDefinition(
        tenant=tenant, name=record["id"], version=VERSION, tasks=graph.tasks,
        description=record.get("description"), timeout_ms=RUN_TIMEOUT_MS, dialect=DIALECT,
        extra={DIALECT: record}, created_ms=record["created_ms"], updated_ms=record["updated_ms"],
    )


def record_of(definition: WorkflowDefinition) -> dict[str, Any] | None:
    """The Altostrat workflow a definition holds (None for other dialects' definitions)."""
    if definition.dialect != DIALECT:
        return None
    record = (definition.extra or {}).get(DIALECT)
    return record if isinstance(record, dict) else None


def foreign_view(definition: WorkflowDefinition) -> dict[str, Any]:
    """A read-only Altostrat view of another dialect's workflow (on the engine, or at a Conductor or
    Cognite upstream): it can be listed, read (without nodes and edges, which cannot express its
    tasks), executed, and its runs listed, read and re-run; not updated or deleted."""
    created = definition.created_ms or definition.updated_ms or now_ms()
    return {
        "id": definition.name, "name": definition.name, "description": definition.description,
        "is_active": True, "authorization_id": None, "schedule_type": "manual", "schedule_value": None,
        "webhook_token": None, "created_ms": created, "updated_ms": max(definition.updated_ms, created),
        "foreign": definition.dialect or "another", "version": definition.version,
    }


def is_foreign(record: dict[str, Any]) -> bool:
    return bool(record.get("foreign"))


def refuse_foreign(record: dict[str, Any], operation: str) -> Conflict:
    """409, a documented status of every operation that refuses: the workflow exists, but its state
    (tasks written through another dialect) rules the operation out -- not a gateway fault (5xx)."""
    return Conflict(
        f"{operation} cannot be carried out: workflow '{record['id']}' was written through the {record['foreign']} "
        "API, and Altostrat nodes and edges cannot express its tasks.", details={"code": "workflow_not_editable"})


def refuse_foreign_sync(record: dict[str, Any]) -> Conflict:
    """A synchronous run of another dialect's workflow could wait on that dialect's workers (a Conductor
    SIMPLE task, a Cognite function without an endpoint) far beyond the request; refuse it at once."""
    return Conflict(
        f"Workflow '{record['id']}' was written through the {record['foreign']} API and may wait for that API's "
        f"workers: run it with POST /workflows/{record['id']}/execute and read the run.",
        details={"code": "workflow_not_synchronous"})


async def load(backend: Backend, tenant: str, workflow_id: str, *,
               foreign: bool = False) -> tuple[dict[str, Any], WorkflowDefinition]:
    """The workflow record and its definition; NotFound if it does not exist for ``tenant``.  With
    ``foreign``, another dialect's workflow (its latest version) is found too, as ``foreign_view``."""
    try:
        definition = await backend.get_definition(tenant, workflow_id, VERSION)
    except NotFound:
        definition = None
    record = record_of(definition) if definition is not None else None
    if record is None and foreign:
        try:
            latest = await backend.get_definition(tenant, workflow_id, None)
        except NotFound:
            latest = None
        if latest is not None and record_of(latest) is None:
            return foreign_view(latest), latest
    if record is None or definition is None:
        raise NotFound(f"Workflow '{workflow_id}' not found.")
    return record, definition


async def list_all(backend: Backend, tenant: str, *, foreign: bool = False) -> list[dict[str, Any]]:
    """Every Altostrat workflow of ``tenant``, newest first; with ``foreign`` also other dialects'
    workflows (each name once, at its latest version)."""
    records: list[dict[str, Any]] = []
    others: dict[str, dict[str, Any]] = {}
    cursor = None
    while True:
        page = await backend.list_definitions(tenant, cursor=cursor, limit=1000)
        for d in page.items:
            r = record_of(d)
            if r is not None:
                records.append(r)
            elif foreign and d.dialect != DIALECT and d.version != "inline":
                others[d.name] = foreign_view(d)  # listed oldest first: the latest version wins
        cursor = page.next_cursor
        if not cursor:
            break
    records += others.values()
    records.sort(key=lambda r: (r["created_ms"], r["id"]), reverse=True)
    return records


def new_record(body: dict[str, Any]) -> dict[str, Any]:
    t = now_ms()
    record = {
        "id": ids.new_id(ids.WORKFLOW),
        "name": body["name"],
        "description": body.get("description"),
        "nodes": body["nodes"],
        "edges": body["edges"],
        "is_active": body.get("is_active", True),
        "authorization_id": body["authorization_id"],
        "schedule_type": body.get("schedule_type") or "manual",
        "schedule_value": body.get("schedule_value"),
        "webhook_token": None,
        "created_ms": t,
        "updated_ms": t,
    }
    return record


def updated_record(record: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
    out = dict(record)
    for key in ("name", "description", "nodes", "edges", "is_active", "authorization_id", "schedule_type",
                "schedule_value"):
        if key in body:
            out[key] = body[key]
    out["updated_ms"] = max(now_ms(), record["updated_ms"] + 1)
    return out


def assign_webhook_token(record: dict[str, Any], graph: Graph) -> None:
    """A workflow with a webhook trigger gets a secret token on save (kept across updates)."""
    if graph.trigger_component == "webhook_trigger":
        if not record.get("webhook_token"):
            record["webhook_token"] = ids.secret_token(ids.WEBHOOK_TOKEN)
    else:
        record["webhook_token"] = None


def invalid(errors: list[str]) -> InvalidArgument:
    first = errors[0]
    more = f" (and {len(errors) - 1} more error{'s' if len(errors) > 2 else ''})" if len(errors) > 1 else ""
    return InvalidArgument(first + more, details={"code": "invalid_workflow", "errors": errors})
