"""Test a node, the public webhook trigger, the vault and authorizations."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response
from wfgateway.adapters.altostrat import components as C
from wfgateway.adapters.altostrat import ids, render, runs
from wfgateway.adapters.altostrat import templates as T
from wfgateway.adapters.altostrat import workflows as W
from wfgateway.adapters.altostrat.service import Service, json_response, no_content
from wfgateway.adapters.altostrat.timefmt import iso, parse_ms
from wfgateway.adapters.altostrat.translate import task_for_node
from wfgateway.adapters.altostrat.vault import VaultItem

from wfgateway.client_auth import constant_time_equals
from wfgateway.core.errors import Conflict, InvalidArgument, NotFound, UpstreamTimeout
from wfgateway.core.model import WorkflowDefinition
from wfgateway.core.statuses import ExecutionStatus
from wfgateway.dialect import Call

TEST_NODE_TIMEOUT_S = 30.0
TEST_NODE_DEFINITION = "__altostrat_test_node__"
_PRIVATE_HEADERS = frozenset({"authorization", "cookie", "proxy-authorization"})


def vault_item(item: VaultItem) -> dict[str, Any]:
    body: dict[str, Any] = {"id": item.id, "name": item.name, "created_at": iso(item.created_ms),
                            "expires_at": iso(item.expires_ms)}
    if item.api_key:
        body["api_key"] = item.api_key
    return body


def _future_ms(value: str | None) -> int | None:
    if value is None:
        return None
    try:
        ms = parse_ms(value)
    except ValueError as exc:
        raise InvalidArgument("The 'expires_at' parameter must be a date-time.",
                              details={"code": "parameter_invalid"}) from exc
    if ms <= W.now_ms():
        raise InvalidArgument("The 'expires_at' parameter must be a date in the future.",
                              details={"code": "parameter_invalid"})
    return ms


def make(svc: Service) -> dict[str, Any]:
    # -- test a node ------------------------------------------------------------------------
    async def test_node(call: Call) -> Response:
        tenant = call.principal.tenant
        node = call.body["node"]
        context = call.body.get("context") or {}
        auth_id = call.body.get("authorization_id")
        if auth_id is not None and await svc.authorizations.get(tenant, auth_id) is None:
            raise InvalidArgument("The selected authorization_id is invalid.", details={"code": "parameter_invalid"})
        component = C.component_of(node)
        if component is None:
            raise InvalidArgument("The node names no component (data.componentId).",
                                  details={"code": "parameter_invalid"})
        errors = C.check_node(node, component)
        if errors:
            raise InvalidArgument(errors[0], details={"code": "invalid_node"})
        data = T.resolve_local(node.get("data") or {}, context, lambda name: "${secrets." + name + "}")
        if C.is_trigger(component):
            kind = component.removesuffix("_trigger")
            return json_response({"status": "success", "output": {"trigger_type": kind,
                                                                    "run_id": ids.new_id(ids.RUN)}})
        if component == C.DELAY:
            seconds = data["duration"] * C.DELAY_UNITS_S[data.get("unit", "seconds")]
            return json_response({"status": "success", "output": {"delayed_seconds": seconds}})
        if component == C.TERMINATE:
            return json_response({"status": "success", "output": {"status": data.get("status", "completed"),
                                                                  "message": data.get("message")}})
        spec = task_for_node({**node, "data": data}, component, [], None)
        spec.continue_on_error = False
        definition = WorkflowDefinition(tenant=tenant, name=TEST_NODE_DEFINITION, version=1, tasks=[spec],
                                        dialect=W.DIALECT, timeout_ms=C.NODE_TIMEOUT_MS)
        run_id = ids.new_id(ids.RUN)
        await call.backend.start(tenant, TEST_NODE_DEFINITION, 1, {}, execution_id=run_id,
                                 dialect=W.DIALECT, definition=definition)
        done = await runs.wait_terminal(call.backend, tenant, run_id, TEST_NODE_TIMEOUT_S)
        if done is None:
            raise UpstreamTimeout(f"The node did not finish within {int(TEST_NODE_TIMEOUT_S)} seconds.",
                                  details={"code": "node_timeout"})
        redact = await svc.vault.redactor(tenant)
        attempt = next((a for a in done.tasks if a.ref == spec.ref), None)
        if done.status != ExecutionStatus.COMPLETED or attempt is None:
            message = render.failure_message(attempt, component) if attempt else (done.reason or "The node failed.")
            raise InvalidArgument(redact(message), details={"code": "node_failed"})
        entry = render.log_entry(attempt, done, None) or {"output": {}}
        return json_response({"status": "success", "output": redact(entry["output"])})

    # -- webhook trigger (public: the token is the credential) ---------------------------------
    async def webhook(call: Call) -> Response:
        token = call.path["webhookToken"]
        rows = await svc.tables.query(
            "SELECT tenant, workflow_id FROM altostrat_webhooks WHERE token_hash = ?", (W.token_hash(token),)
        )
        if not rows:
            raise NotFound("Webhook not found.")
        tenant, workflow_id = rows[0]
        record, _ = await W.load(call.backend, tenant, workflow_id)
        if not record.get("webhook_token") or not constant_time_equals(record["webhook_token"], token):
            raise NotFound("Webhook not found.")
        headers = {k: v for k, v in call.request.headers.items() if k.lower() not in _PRIVATE_HEADERS}
        execution = await runs.start(call.backend, tenant, record, "webhook",
                                     {"webhook_payload": call.body or {}, "headers": headers})
        return json_response({"message": "Webhook received and workflow execution queued.",
                              "run_id": execution.id}, 202)

    # -- vault ------------------------------------------------------------------------------
    async def list_vault(call: Call) -> Response:
        return json_response([vault_item(i) for i in await svc.vault.list(call.principal.tenant)])

    async def create_vault(call: Call) -> Response:
        b = call.body
        item = await svc.vault.create(call.principal.tenant, b["name"], b.get("secret"),
                                      _future_ms(b.get("expires_at")), W.now_ms())
        return json_response(vault_item(item), 201)

    async def get_vault(call: Call) -> Response:
        return json_response(vault_item(await svc.vault.get(call.principal.tenant, call.path["vaultId"])))

    async def update_vault(call: Call) -> Response:
        b = call.body
        changes: dict[str, Any] = {k: b[k] for k in ("name", "secret") if k in b}
        if "expires_at" in b:
            changes["expires_ms"] = _future_ms(b["expires_at"])
        item = await svc.vault.update(call.principal.tenant, call.path["vaultId"], changes, W.now_ms())
        return json_response(vault_item(item))

    async def delete_vault(call: Call) -> Response:
        await svc.vault.delete(call.principal.tenant, call.path["vaultId"])
        return no_content()

    # -- authorizations -----------------------------------------------------------------------
    async def list_authorizations(call: Call) -> Response:
        return json_response(await svc.authorizations.list(call.principal.tenant))

    async def create_authorization(call: Call) -> Response:
        auth = await svc.authorizations.create(call.principal, W.now_ms())
        url = f"{svc.origin(call.request)}/workflows/authorization?authorization_id={auth['id']}"
        return json_response({"url": url, "id": auth["id"]})

    async def delete_authorization(call: Call) -> Response:
        tenant, auth_id = call.principal.tenant, call.path["authId"]
        if await svc.authorizations.get(tenant, auth_id) is None:
            raise NotFound(f"Authorization '{auth_id}' not found.")
        users = [r["id"] for r in await W.list_all(call.backend, tenant) if r.get("authorization_id") == auth_id]
        if users:
            raise Conflict(f"Authorization '{auth_id}' is used by workflow(s) {', '.join(users)}.",
                           details={"code": "authorization_in_use"})
        await svc.authorizations.delete(tenant, auth_id)
        return no_content()

    return {
        "testWorkflowNode": test_node,
        "triggerWorkflowWebhook": webhook,
        "listVaultItems": list_vault,
        "createVaultItem": create_vault,
        "getVaultItem": get_vault,
        "updateVaultItem": update_vault,
        "deleteVaultItem": delete_vault,
        "listWorkflowAuthorizations": list_authorizations,
        "createWorkflowAuthorizationUrl": create_authorization,
        "deleteWorkflowAuthorization": delete_authorization,
    }
