"""Workflow triggers: upsert, list, delete, pause, resume, run history (only schedule triggers fire)."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response
from wfgateway.adapters.cognite.clock import now_ms
from wfgateway.adapters.cognite.errors import bad_request, not_found
from wfgateway.adapters.cognite.handlers.executions import check_input_size
from wfgateway.adapters.cognite.paging import encode, field
from wfgateway.adapters.cognite.scheduler import RUNS, TRIGGERS, check_schedule, is_schedule, upcoming
from wfgateway.adapters.cognite.service import CogniteService, json, limit_of
from wfgateway.adapters.cognite.state import key

from wfgateway.core.errors import NotFound
from wfgateway.dialect import Call


async def delete_triggers_of(svc: CogniteService, project: str, workflow_xid: str) -> None:
    """Drop the triggers of a deleted workflow (with their history)."""
    for _, rec in await svc.kv.scan(TRIGGERS, key(project, ""), limit=1_000_000):
        if rec["trigger"]["workflowExternalId"] == workflow_xid:
            await _delete(svc, project, rec["trigger"]["externalId"])


async def _delete(svc: CogniteService, project: str, xid: str) -> bool:
    found = await svc.kv.delete(TRIGGERS, key(project, xid))
    for k, _ in await svc.kv.scan(RUNS, key(project, xid, ""), limit=1_000_000):
        await svc.kv.delete(RUNS, k)
    return found


async def _load(svc: CogniteService, project: str, xid: str,
                message: str = "Workflow trigger not found.") -> dict[str, Any]:
    """The trigger row; 404 with CDF's text (history says "Workflow trigger not found.", pause and
    resume "Trigger not found.")."""
    rec = await svc.kv.get(TRIGGERS, key(project, xid))
    if rec is None:
        raise not_found(message, [{"externalId": xid}])
    return rec


def stored_rule(rule: dict[str, Any]) -> dict[str, Any]:
    """The trigger rule as kept and answered: a schedule's cron checked; other types (data modeling,
    record streams) kept as given without nulls -- this gateway has nothing they could watch, so they
    are managed like any trigger but never fire."""
    if rule["triggerType"] == "schedule":
        check_schedule(rule["cronExpression"], rule.get("timezone"))
        return {k: rule[k] for k in ("triggerType", "cronExpression", "timezone") if rule.get(k) is not None}
    return {k: v for k, v in rule.items() if v is not None}


def handlers(svc: CogniteService) -> dict[str, Any]:
    async def upsert_triggers(call: Call) -> Response:
        project = call.principal.tenant
        out = []
        for item in call.body["items"]:
            rule = stored_rule(item["triggerRule"])
            check_input_size(item.get("input") or {})
            xid, wf, version = item["externalId"], item["workflowExternalId"], item["workflowVersion"]
            try:  # before the nonce is bound: a refused upsert leaves its session unused
                await call.backend.get_definition(project, wf, version)
            except NotFound:
                raise not_found(f"Workflow version '{wf}' version '{version}' not found",
                                [{"workflowExternalId": wf, "version": version}]) from None
            session = await svc.sessions.require(project, item["authentication"]["nonce"])
            existing = await svc.kv.get(TRIGGERS, key(project, xid))
            now = now_ms()
            trigger: dict[str, Any] = {
                "externalId": xid,
                "triggerRule": rule,
                "workflowExternalId": wf, "workflowVersion": version,
                "input": dict(item.get("input") or {}), "metadata": dict(item.get("metadata") or {}),
                "isPaused": bool(existing and existing["trigger"]["isPaused"]),
                "createdTime": existing["trigger"]["createdTime"] if existing else now,
                "lastUpdatedTime": now,
            }
            rec = {"trigger": trigger, "nonce": item["authentication"]["nonce"], "sessionId": session.get("id"),
                   "lastFireTime": existing.get("lastFireTime", 0) if existing else 0}
            rec["nextFireTime"] = upcoming(rec, now) if is_schedule(trigger) else None
            await svc.kv.put(TRIGGERS, key(project, xid), rec)
            out.append(trigger)
        return json({"items": out})

    async def list_triggers(call: Call) -> Response:
        project = call.principal.tenant
        limit = limit_of(call.query.get("limit"))
        after = field(call, call.query.get("cursor"), "after", str)
        rows = await svc.kv.scan(TRIGGERS, key(project, ""), after=after, limit=limit + 1)
        cursor = encode(call, {"after": rows[limit - 1][0]}) if len(rows) > limit else None
        return json({"items": [rec["trigger"] for _, rec in rows[:limit]], "nextCursor": cursor})

    async def delete_triggers(call: Call) -> Response:
        project = call.principal.tenant
        xids = list(dict.fromkeys(i["externalId"] for i in call.body["items"]))
        missing = [x for x in xids if await svc.kv.get(TRIGGERS, key(project, x)) is None]
        if missing:
            raise bad_request("The following workflow triggers were not found",
                              missing=[{"externalId": x} for x in missing])
        for x in xids:
            await _delete(svc, project, x)
        return json({})

    async def list_runs(call: Call) -> Response:
        project, xid = call.principal.tenant, call.path["triggerExternalId"]
        await _load(svc, project, xid)
        limit = limit_of(call.query.get("limit"))
        before = field(call, call.query.get("cursor"), "before", str, xid)
        rows = await svc.kv.scan(RUNS, key(project, xid, ""), after=before, limit=limit + 1, reverse=True)
        cursor = encode(call, {"before": rows[limit - 1][0]}, xid) if len(rows) > limit else None
        return json({"items": [run for _, run in rows[:limit]], "nextCursor": cursor})

    async def set_paused(call: Call, paused: bool) -> Response:
        project, xid = call.principal.tenant, call.path["triggerExternalId"]
        while True:
            rec = await _load(svc, project, xid, "Trigger not found.")
            trigger = {**rec["trigger"], "isPaused": paused}
            if rec["trigger"]["isPaused"] != paused:
                trigger["lastUpdatedTime"] = now_ms()
            new = {**rec, "trigger": trigger}
            if not paused and rec["trigger"]["isPaused"] and is_schedule(trigger):  # resumed: next fire from now
                new["nextFireTime"] = upcoming(new, now_ms())
            if await svc.kv.replace(TRIGGERS, key(project, xid), rec, new):
                return json({})

    async def pause(call: Call) -> Response:
        return await set_paused(call, True)

    async def resume(call: Call) -> Response:
        return await set_paused(call, False)

    return {
        "upsertTriggers": upsert_triggers,
        "listTriggers": list_triggers,
        "deleteTriggers": delete_triggers,
        "listTriggerRuns": list_runs,
        "pauseTrigger": pause,
        "resumeTrigger": resume,
    }
