"""Workflows: list, create, get, update, delete, validate, triggerable, synchronous run."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response
from wfgateway.adapters.altostrat import render, runs
from wfgateway.adapters.altostrat import workflows as W
from wfgateway.adapters.altostrat.service import Service, json_response, no_content

from wfgateway.core.errors import InvalidArgument, UpstreamTimeout
from wfgateway.core.model import TaskAttempt
from wfgateway.core.statuses import ExecutionStatus
from wfgateway.dialect import Call

SYNC_TIMEOUT_S = 30.0


def make(svc: Service) -> dict[str, Any]:
    async def authorization_of(tenant: str, record: dict[str, Any]) -> dict[str, Any] | None:
        auth_id = record.get("authorization_id")
        return await svc.authorizations.get(tenant, auth_id) if auth_id else None

    async def require_authorization(tenant: str, auth_id: str) -> None:
        if await svc.authorizations.get(tenant, auth_id) is None:
            raise InvalidArgument("The selected authorization_id is invalid.",
                                  details={"code": "parameter_invalid"})

    async def webhook_rows(tenant: str, record: dict[str, Any]) -> None:
        statements: list[tuple[str, tuple[Any, ...]]] = [
            ("DELETE FROM altostrat_webhooks WHERE tenant = ? AND workflow_id = ?", (tenant, record["id"]))
        ]
        if record.get("webhook_token"):
            statements.append(("INSERT INTO altostrat_webhooks (token_hash, tenant, workflow_id) VALUES (?, ?, ?)",
                               (W.token_hash(record["webhook_token"]), tenant, record["id"])))
        await svc.tables.transaction(statements)

    async def list_workflows(call: Call) -> Response:
        records = await W.list_all(call.backend, call.principal.tenant, foreign=True)
        return json_response([render.workflow(r, svc.origin(call.request), full=False) for r in records])

    async def create_workflow(call: Call) -> Response:
        tenant = call.principal.tenant
        await require_authorization(tenant, call.body["authorization_id"])
        record = W.new_record(call.body)
        graph = W.check(record)
        if graph.errors:
            raise W.invalid(graph.errors)
        W.assign_webhook_token(record, graph)
        await call.backend.put_definition(W.to_definition(tenant, record, graph), overwrite=False)
        try:
            await webhook_rows(tenant, record)
        except BaseException:
            await call.backend.delete_definition(tenant, record["id"])
            raise
        await svc.scheduler.save(tenant, record)
        auth = await authorization_of(tenant, record)
        return json_response(render.workflow(record, svc.origin(call.request), auth), 201)

    async def get_workflow(call: Call) -> Response:
        tenant = call.principal.tenant
        record, _ = await W.load(call.backend, tenant, call.path["workflowId"], foreign=True)
        return json_response(render.workflow(record, svc.origin(call.request), await authorization_of(tenant, record)))

    async def update_workflow(call: Call) -> Response:
        tenant = call.principal.tenant
        record, _ = await W.load(call.backend, tenant, call.path["workflowId"], foreign=True)
        if W.is_foreign(record):
            raise W.refuse_foreign(record, "updateWorkflow")
        if "authorization_id" in call.body and call.body["authorization_id"] != record.get("authorization_id"):
            await require_authorization(tenant, call.body["authorization_id"])
        updated = W.updated_record(record, call.body)
        graph = W.check(updated)
        if graph.errors:
            raise W.invalid(graph.errors)
        W.assign_webhook_token(updated, graph)
        await call.backend.put_definition(W.to_definition(tenant, updated, graph), overwrite=True)
        if updated.get("webhook_token") != record.get("webhook_token"):
            await webhook_rows(tenant, updated)
        await svc.scheduler.save(tenant, updated)
        return json_response(render.workflow(updated, svc.origin(call.request), await authorization_of(tenant, updated)))

    async def delete_workflow(call: Call) -> Response:
        tenant = call.principal.tenant
        record, _ = await W.load(call.backend, tenant, call.path["workflowId"], foreign=True)
        if W.is_foreign(record):
            raise W.refuse_foreign(record, "deleteWorkflow")
        # "Permanently deletes a workflow and all of its associated runs and logs": the runs go
        # first (a failure leaves the workflow to delete again), then a sweep for a run started meanwhile.
        await runs.delete_all(call.backend, tenant, record["id"])
        await call.backend.delete_definition(tenant, record["id"])
        await runs.delete_all(call.backend, tenant, record["id"])
        await svc.tables.transaction([
            ("DELETE FROM altostrat_webhooks WHERE tenant = ? AND workflow_id = ?", (tenant, record["id"])),
            ("DELETE FROM altostrat_idempotency WHERE tenant = ? AND workflow_id = ?", (tenant, record["id"])),
            ("DELETE FROM altostrat_schedules WHERE tenant = ? AND workflow_id = ?", (tenant, record["id"])),
        ])
        return no_content()

    async def validate_workflow(call: Call) -> Response:
        graph = W.check(call.body)
        errors = list(graph.errors)
        if await svc.authorizations.get(call.principal.tenant, call.body["authorization_id"]) is None:
            errors.append("The selected authorization_id is invalid.")
        return json_response({"valid": not errors, "errors": errors})

    async def list_triggerable(call: Call) -> Response:
        records = await W.list_all(call.backend, call.principal.tenant)
        return json_response([render.workflow(r, svc.origin(call.request), full=False) for r in records if r.get("is_active", True)])

    async def execute_sync(call: Call) -> Response:
        tenant = call.principal.tenant
        record, _ = await W.load(call.backend, tenant, call.path["workflowId"], foreign=True)
        if W.is_foreign(record):
            raise W.refuse_foreign_sync(record)
        execution = await runs.start(call.backend, tenant, record, "api", {"payload": call.body or {}})
        done = await runs.wait_terminal(call.backend, tenant, execution.id, SYNC_TIMEOUT_S)
        if done is None:
            raise UpstreamTimeout(f"Workflow run '{execution.id}' did not finish within {int(SYNC_TIMEOUT_S)} seconds.",
                                  details={"code": "workflow_timeout"})
        redact = await svc.vault.redactor(tenant)
        if done.status != ExecutionStatus.COMPLETED:
            message = render.error_message(done) or "The workflow run failed."
            raise InvalidArgument(redact(message), details={"code": "workflow_failed"})
        return json_response(redact(final_output(done)))

    return {
        "listWorkflows": list_workflows,
        "createWorkflow": create_workflow,
        "getWorkflow": get_workflow,
        "updateWorkflow": update_workflow,
        "deleteWorkflow": delete_workflow,
        "validateWorkflow": validate_workflow,
        "listTriggerableWorkflows": list_triggerable,
        "executeSyncWorkflow": execute_sync,
    }


def final_output(execution: Any) -> dict[str, Any]:
    """The output of the node that finished last (the trigger's output if nothing else ran)."""
    done: list[TaskAttempt] = [a for a in execution.tasks if render.log_status(a) in ("success", "warning")]
    trigger = render.trigger_ref(execution)
    others = [a for a in done if a.ref != trigger]
    if not others:
        return dict(execution.input or {})
    last = max(others, key=lambda a: (a.ended_ms, a.seq))
    return dict(last.output) if isinstance(last.output, dict) else {"value": last.output}
