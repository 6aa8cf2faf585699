"""Scheduled workflows: ``schedule_type`` interval / cron (and daily / weekly / monthly) start runs.

Due times live in the dialect's ``altostrat_schedules`` table.  A replica fires a due workflow only
if its conditional update that moves ``next_ms`` forward wins, so several gateway replicas sharing
one database start each scheduled run once.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from wfgateway.adapters.altostrat import runs
from wfgateway.adapters.altostrat import workflows as W
from wfgateway.adapters.altostrat.store import Tables

from wfgateway.core.backend import Backend
from wfgateway.core.errors import GatewayError, NotFound
from wfgateway.core.loops import Ticking

log = logging.getLogger("wfgateway.altostrat")

SCHEMA = """CREATE TABLE IF NOT EXISTS altostrat_schedules (
    tenant TEXT NOT NULL, workflow_id TEXT NOT NULL, next_ms BIGINT NOT NULL,
    PRIMARY KEY (tenant, workflow_id))"""
_HHMM = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*$")
TICK_S = 1.0


def as_cron(record: dict[str, Any]) -> str | None:
    """The cron expression of a daily / weekly / monthly / cron schedule (None otherwise).
    daily/weekly/monthly take ``HH:MM`` (default midnight UTC), or a full cron expression."""
    kind, value = record.get("schedule_type"), (record.get("schedule_value") or "").strip()
    if kind == "cron":
        return value or None
    if kind not in ("daily", "weekly", "monthly"):
        return None
    if value and len(value.split()) == 5:
        return value
    m = _HHMM.match(value) if value else None
    hour, minute = (int(m.group(1)), int(m.group(2))) if m else (0, 0)
    day = {"daily": "* * *", "weekly": "* * 1", "monthly": "1 * *"}[kind]
    return f"{minute} {hour} {day}"


def next_due(record: dict[str, Any], after_ms: int) -> int | None:
    if not record.get("is_active", True):
        return None
    if record.get("schedule_type") == "interval":
        return W.next_run_ms(record, after_ms)
    expr = as_cron(record)
    if expr is None:
        return None
    return W.next_run_ms({**record, "schedule_type": "cron", "schedule_value": expr}, after_ms)


class Scheduler(Ticking):
    def __init__(self, tables: Tables, backend: Backend) -> None:
        super().__init__("altostrat-schedules", interval_s=TICK_S, clock=W.now_ms)
        self.tables = tables  # created with SCHEMA among its extra tables
        self.backend = backend

    async def save(self, tenant: str, record: dict[str, Any]) -> None:
        """Record (or clear) when ``record`` runs next."""
        due = next_due(record, W.now_ms())
        statements: list[tuple[str, tuple[Any, ...]]] = [
            ("DELETE FROM altostrat_schedules WHERE tenant = ? AND workflow_id = ?", (tenant, record["id"]))]
        if due is not None:
            statements.append(("INSERT INTO altostrat_schedules (tenant, workflow_id, next_ms) VALUES (?, ?, ?)",
                               (tenant, record["id"], due)))
        await self.tables.transaction(statements)

    async def forget(self, tenant: str, workflow_id: str) -> None:
        await self.tables.execute("DELETE FROM altostrat_schedules WHERE tenant = ? AND workflow_id = ?",
                                   (tenant, workflow_id))

    async def tick(self, now: int) -> list[str]:
        """Start every due workflow once; the ids of the runs started."""
        started: list[str] = []
        due = await self.tables.query(
            "SELECT tenant, workflow_id, next_ms FROM altostrat_schedules WHERE next_ms <= ? ORDER BY next_ms", (now,))
        for tenant, workflow_id, next_ms in due:
            try:
                record, _ = await W.load(self.backend, tenant, workflow_id)
            except NotFound:  # the workflow is gone; a store that cannot answer now is not a reason
                await self.forget(tenant, workflow_id)
                continue
            following = next_due(record, max(now, next_ms))
            if following is None:
                await self.forget(tenant, workflow_id)
                continue
            won = await self.tables.execute(
                "UPDATE altostrat_schedules SET next_ms = ? WHERE tenant = ? AND workflow_id = ? AND next_ms = ?",
                (following, tenant, workflow_id, next_ms))
            if not won:
                continue  # another replica fired it
            try:
                execution = await runs.start(self.backend, tenant, record, "schedule", {})
                started.append(execution.id)
            except GatewayError as exc:
                log.warning("scheduled run of %s failed to start: %s", workflow_id, exc.message)
        return started
