"""Logs: per workflow (with filters), recent across the organization, statistics.

Log entries are derived from the runs' task attempts (one entry per finished node execution), so
they can never disagree with the runs.  Listings look at the most recent ``MAX_RUNS`` runs.
"""

from __future__ import annotations

import asyncio
from typing import Any

from starlette.responses import Response
from wfgateway.adapters.altostrat import render
from wfgateway.adapters.altostrat import workflows as W
from wfgateway.adapters.altostrat.service import Service, json_response
from wfgateway.adapters.altostrat.timefmt import parse_ms

from wfgateway.core.backend import ExactCounts
from wfgateway.core.errors import InvalidArgument
from wfgateway.core.statuses import ExecutionStatus
from wfgateway.dialect import Call

MAX_RUNS = 100
RECENT_RUNS = 25
RECENT_LOGS = 50
STATS_RUNS = 500
THIRTY_DAYS_MS = 30 * 24 * 3600 * 1000
SCAN_LIMIT = 1000
# filter -> the query parameters that set it (the vendor names its filters, not their parameters)
FILTERS = {"level": ("level", "status"), "node_id": ("node_id",), "run_id": ("run_id", "execution_id"),
           "from": ("from", "start_date"), "to": ("to", "end_date")}


def make(svc: Service) -> dict[str, Any]:
    async def runs_of(call: Call, tenant: str, name: str | None, limit: int) -> list[Any]:
        """The newest ``limit`` runs of workflow ``name`` (of any Altostrat workflow when None; other
        dialects' executions of the same tenant are skipped, looking at most SCAN_LIMIT of them)."""
        items: list[Any] = []
        cursor, scanned = None, 0
        while len(items) < limit and scanned < SCAN_LIMIT:
            page = await call.backend.search(tenant, name=name, cursor=cursor, limit=limit, newest_first=True,
                                               count=False)
            scanned += len(page.items)
            items += [e for e in page.items if name is not None or _is_altostrat(e)]
            cursor = page.next_cursor
            if not cursor or not page.items:
                break
        return list(await asyncio.gather(*(call.backend.get(e.id, tenant=tenant) for e in items[:limit])))

    def entries(executions: list[Any], *, foreign: bool = False) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        for e in executions:
            if e.dialect and e.dialect != W.DIALECT and not foreign:
                continue
            out.extend(render.logs_of(e, render.trigger_ref(e)))
        out.sort(key=lambda entry: entry["created_at"], reverse=True)
        return out

    async def list_logs(call: Call) -> Response:
        tenant = call.principal.tenant
        record, _ = await W.load(call.backend, tenant, call.path["workflowId"], foreign=True)
        q = {name: next((call.query[a] for a in aliases if call.query.get(a)), None)
             for name, aliases in FILTERS.items()}
        try:
            since = parse_ms(q["from"]) if q["from"] else None
            until = parse_ms(q["to"]) if q["to"] else None
        except ValueError as exc:
            raise InvalidArgument("The 'from' and 'to' parameters must be date-times.",
                                  details={"code": "parameter_invalid"}) from exc
        logs = entries(await runs_of(call, tenant, record["id"], MAX_RUNS), foreign=W.is_foreign(record))
        if q["level"]:
            level = "success" if q["level"] == "info" else q["level"]
            logs = [x for x in logs if x["status"] == level]
        if q["node_id"]:
            logs = [x for x in logs if x["node_id"] == q["node_id"]]
        if q["run_id"]:
            logs = [x for x in logs if x["execution_id"] == q["run_id"]]
        if since is not None or until is not None:
            logs = [x for x in logs if _within(x["created_at"], since, until)]
        redact = await svc.vault.redactor(tenant)
        return json_response(redact.logs(logs))

    async def recent_logs(call: Call) -> Response:
        tenant = call.principal.tenant
        logs = entries(await runs_of(call, tenant, None, RECENT_RUNS))[:RECENT_LOGS]
        redact = await svc.vault.redactor(tenant)
        return json_response(redact.logs(logs))

    async def stats(call: Call) -> Response:
        tenant = call.principal.tenant
        record, _ = await W.load(call.backend, tenant, call.path["workflowId"], foreign=True)
        wf = record["id"]

        async def count(statuses: list[ExecutionStatus] | None, since: int | None) -> int:
            if isinstance(call.backend, ExactCounts):  # every run, past a search's bound of 10,000
                return await call.backend.count(tenant, name=wf, statuses=statuses, created_from_ms=since)
            page = await call.backend.search(tenant, name=wf, statuses=statuses, created_from_ms=since, limit=1)
            return page.total if page.total is not None else len(page.items)

        total = await count(None, None)
        completed_all = await count([ExecutionStatus.COMPLETED], None)
        since = W.now_ms() - THIRTY_DAYS_MS
        recent: dict[str, int] = {}
        for name, statuses in render.RUN_STATUSES_OF.items():
            n = await count(statuses, since)
            if n:
                recent[name] = n
        log_statuses = {"success": 0, "error": 0, "warning": 0}
        for entry in entries(await runs_of(call, tenant, wf, STATS_RUNS), foreign=W.is_foreign(record)):
            log_statuses[entry["status"]] += 1
        return json_response({
            "log_statuses": log_statuses,
            "recent_runs": recent,
            "total_runs": total,
            "success_rate": round(completed_all * 100 / total, 2) if total else 0,
        })

    return {"listWorkflowLogs": list_logs, "listRecentWorkflowLogs": recent_logs, "getWorkflowLogStats": stats}


def _is_altostrat(execution: Any) -> bool:
    return (execution.definition_name or "").startswith("fl_") and execution.dialect in ("", W.DIALECT)


def _within(created_at: str, since: int | None, until: int | None) -> bool:
    t = parse_ms(created_at)
    return (since is None or t >= since) and (until is None or t <= until)
