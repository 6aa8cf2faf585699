"""Runs: execute (with Idempotency-Key), list, get, rerun, resume-from."""

from __future__ import annotations

import asyncio
import math
from typing import Any

from starlette.responses import Response
from wfgateway.adapters.altostrat import ids, paging, render, replay, runs
from wfgateway.adapters.altostrat import workflows as W
from wfgateway.adapters.altostrat.service import Service, json_response
from wfgateway.adapters.altostrat.store import Duplicate

from wfgateway.core.backend import Backend, ExactCounts
from wfgateway.core.errors import Conflict, InvalidArgument, NotFound, NotImplementedByBackend
from wfgateway.core.model import Execution
from wfgateway.core.statuses import TaskStatus
from wfgateway.dialect import Call

PER_PAGE = 15
IDEMPOTENCY_WINDOW_MS = 24 * 60 * 60 * 1000


def make(svc: Service) -> dict[str, Any]:
    async def rendered(call: Call, execution: Any, *, with_logs: bool = True,
                       record: dict[str, Any] | None = None) -> dict[str, Any]:
        """The run, embedding its workflow (``record``) as the older reference shows, in lists too."""
        redact = await svc.vault.redactor(call.principal.tenant)
        body = redact.run(render.run(execution, with_logs=with_logs))
        if record is not None and not W.is_foreign(record):
            body["workflow"] = render.workflow(record, svc.origin(call.request), full=False)
        return body

    async def rendered_page(call: Call, executions: list[Any], record: dict[str, Any]) -> list[dict[str, Any]]:
        """A listing's runs, as ``rendered`` writes each: the vault is read and the workflow written once
        per page, not once per run."""
        redact = await svc.vault.redactor(call.principal.tenant)
        workflow = None if W.is_foreign(record) else render.workflow(record, svc.origin(call.request), full=False)
        page = []
        for execution in executions:
            body = redact.run(render.run(execution, with_logs=False))
            if workflow is not None:
                body["workflow"] = workflow
            page.append(body)
        return page

    async def claim_key(tenant: str, key: str, workflow_id: str) -> tuple[str, bool]:
        """(run id, fresh): a new run id this request owns, or the run an earlier request with the
        same key started within 24 hours."""
        while True:
            run_id, now = ids.new_id(ids.RUN), W.now_ms()
            try:
                await svc.tables.execute(
                    "INSERT INTO altostrat_idempotency (tenant, key, workflow_id, run_id, created_ms) VALUES (?, ?, ?, ?, ?)",
                    (tenant, key, workflow_id, run_id, now),
                )
                return run_id, True
            except Duplicate:
                pass
            rows = await svc.tables.query(
                "SELECT workflow_id, run_id, created_ms FROM altostrat_idempotency WHERE tenant = ? AND key = ?",
                (tenant, key),
            )
            if not rows:
                continue  # released meanwhile: try to claim again
            owner_wf, old_run, created = rows[0]
            if now - created < IDEMPOTENCY_WINDOW_MS:
                if owner_wf != workflow_id:
                    raise Conflict("This Idempotency-Key was already used to execute another workflow.",
                                   details={"code": "idempotency_key_in_use"})
                return old_run, False
            changed = await svc.tables.execute(
                "UPDATE altostrat_idempotency SET workflow_id = ?, run_id = ?, created_ms = ?"
                " WHERE tenant = ? AND key = ? AND run_id = ?",
                (workflow_id, run_id, now, tenant, key, old_run),
            )
            if changed:
                return run_id, True

    async def release_key(tenant: str, key: str, run_id: str) -> None:
        await svc.tables.execute(
            "DELETE FROM altostrat_idempotency WHERE tenant = ? AND key = ? AND run_id = ?", (tenant, key, run_id)
        )

    async def execute(call: Call) -> Response:
        tenant = call.principal.tenant
        record, _ = await W.load(call.backend, tenant, call.path["workflowId"], foreign=True)
        context = (call.body or {}).get("context") or {}
        key = call.headers.get("Idempotency-Key")
        if not key:
            execution = await runs.start(call.backend, tenant, record, "manual", context)
            return json_response(await rendered(call, execution, record=record), 202)
        run_id, fresh = await claim_key(tenant, key, record["id"])
        if not fresh:
            execution = await runs.get_when_visible(call.backend, tenant, run_id)
            return json_response(await rendered(call, execution, record=record), 202)
        try:
            execution = await runs.start(call.backend, tenant, record, "manual", context, run_id=run_id)
        except BaseException:
            await release_key(tenant, key, run_id)
            raise
        return json_response(await rendered(call, execution, record=record), 202)

    async def list_runs(call: Call) -> Response:
        tenant = call.principal.tenant
        record, _ = await W.load(call.backend, tenant, call.path["workflowId"], foreign=True)
        page = paging.requested_page(call.query.get("page"))
        skip = (page - 1) * PER_PAGE
        items, total = await _page_of_runs(call.backend, tenant, record["id"], skip, PER_PAGE)
        full = await asyncio.gather(*(call.backend.get(e.id, tenant=tenant) for e in items))
        data = await rendered_page(call, full, record)
        last_page = max(1, math.ceil(total / PER_PAGE))
        path = f"{svc.origin(call.request)}/workflows/{record['id']}/executions"
        return json_response({
            "data": data,
            "links": {
                "first": f"{path}?page=1",
                "last": f"{path}?page={last_page}",
                "prev": f"{path}?page={page - 1}" if page > 1 else None,
                "next": f"{path}?page={page + 1}" if page < last_page else None,
            },
            "meta": {
                "current_page": page,
                "from": skip + 1 if data else None,
                "last_page": last_page,
                "path": path,
                "per_page": PER_PAGE,
                "to": skip + len(data) if data else None,
                "total": total,
            },
        })

    async def get_run(call: Call) -> Response:
        tenant = call.principal.tenant
        execution, record = await runs.get_run(call.backend, tenant, call.path["runId"])
        return json_response(await rendered(call, execution, record=record))

    async def rerun(call: Call) -> Response:
        """A new run with the original trigger payload, of the workflow as it is now."""
        tenant = call.principal.tenant
        original, record = await runs.get_run(call.backend, tenant, call.path["runId"])
        if record is not None and not record.get("is_active", True):
            raise Conflict(f"Workflow '{record['id']}' is not active.", details={"code": "workflow_inactive"})
        new_id = ids.new_id(ids.RUN)
        if record is None or W.is_foreign(record):  # another dialect's run: the same definition and input
            new = await call.backend.clone(original.id, tenant=tenant, execution_id_new=new_id,
                                           input=replay.rerun_input(original, record, new_id))
        else:
            new = await runs.start(call.backend, tenant, record, trigger_type_of(original),
                                   render.trigger_payload(original), new_id, original_run_id=original.id)
        return json_response({
            "message": "Workflow re-run initiated successfully.",
            "original_run_id": original.id,
            "new_run": await rendered(call, new, record=record),
        }, 202)

    async def resume(call: Call) -> Response:
        """A new run that inherits the failed run's results up to a completed node and goes on from there."""
        tenant = call.principal.tenant
        node_id = call.path["nodeId"]
        original, record = await runs.get_run(call.backend, tenant, call.path["runId"])
        status = render.RUN_STATUS.get(original.status, "running")
        if not original.status.terminal:
            raise Conflict(f"Workflow run '{original.id}' is still {status}; only a failed run can be resumed.",
                           details={"code": "run_in_progress"})
        new_id = ids.new_id(ids.RUN)
        if record is None or W.is_foreign(record):
            # another vendor's run: whether and how it resumes is the backend's to say (an upstream
            # that cannot start a new run from a task refuses by name), as before this rule
            snapshot = original.definition
            if snapshot is not None and all(t.ref != node_id for t in snapshot.tasks):
                raise NotFound(f"Node '{node_id}' not found in workflow run '{original.id}'.")
            if not any(a.ref == node_id and a.status == TaskStatus.COMPLETED for a in original.tasks):
                raise InvalidArgument(f"Node '{node_id}' did not complete successfully in workflow run "
                                      f"'{original.id}'.", details={"code": "node_not_completed"})
            new = await call.backend.clone(original.id, tenant=tenant, resume_from_ref=node_id,
                                           execution_id_new=new_id,
                                           input=replay.rerun_input(original, record, new_id))
        else:
            if status != "failed":
                raise Conflict(f"Workflow run '{original.id}' is {status}; only a failed run can be resumed.",
                               details={"code": "run_not_failed"})
            definition, inherited = replay.resumed_definition(tenant, record, original, node_id)
            new = await runs.start(call.backend, tenant, record, trigger_type_of(original),
                                   render.trigger_payload(original), new_id, original_run_id=original.id,
                                   definition=definition, extra_input={replay.INHERITED: inherited})
        return json_response({
            "message": f"Workflow resumed successfully from node '{node_id}'.",
            "original_run_id": original.id,
            "new_run": await rendered(call, new, record=record),
        }, 202)

    return {
        "executeWorkflow": execute,
        "listWorkflowRuns": list_runs,
        "getWorkflowRun": get_run,
        "rerunWorkflowRun": rerun,
        "resumeWorkflowRun": resume,
    }


def trigger_type_of(run: Any) -> str:
    return str((run.input or {}).get("trigger_type") or (run.metadata or {}).get("trigger_type") or "manual")


async def _page_of_runs(backend: Backend, tenant: str, workflow_id: str, skip: int, limit: int
                        ) -> tuple[list[Execution], int]:
    """Runs ``skip``..``skip+limit`` of a workflow, newest first, and their total.  The engine passes
    over the first ``skip`` on its index, so page 1,000 costs what page 2 does; an upstream that pages
    by cursor alone (Cognite) is walked to the page."""
    counter = backend if isinstance(backend, ExactCounts) else None  # Laravel's paginator counts every run
    try:  # a page past 2**62 runs is past any store's last (and an offset must fit a 64-bit integer)
        page = await backend.search(tenant, name=workflow_id, limit=max(limit, 1), newest_first=True,
                                    skip=min(skip, 2**62), count=counter is None)
        if counter is not None:  # exact, where a search's total stops at 10,000
            return list(page.items), await counter.count(tenant, name=workflow_id)
        return list(page.items), page.total or 0
    except NotImplementedByBackend:
        if not skip:
            raise
    cursor, seen, out, total = None, 0, [], 0
    while True:
        want = min(skip + limit - seen, 1000)
        page = await backend.search(tenant, name=workflow_id, cursor=cursor, limit=max(want, 1), newest_first=True)
        total = page.total if page.total is not None else total
        for e in page.items:
            if skip <= seen < skip + limit:
                out.append(e)
            seen += 1
        cursor = page.next_cursor
        if seen >= skip + limit or not cursor or not page.items:
            return out, total or seen
