"""Orkes' correlated batch search (``POST /api/workflow/correlated/batch``, conductor-python
``WorkflowClient.get_by_correlation_ids_in_batch``) answers the caller's workflows only: both tenants
start workflows of the same name with the same correlation ids."""

from __future__ import annotations

from conductor.client.configuration.configuration import Configuration
from conductor.client.configuration.settings.authentication_settings import AuthenticationSettings
from conductor.client.http.models.correlation_ids_search_request import CorrelationIdsSearchRequest
from conductor.client.orkes_clients import OrkesClients

from tests.tenancy.conftest import SECRETS, TwoTenants


def _flow(name: str) -> dict:
    return {"name": name, "version": 1, "schemaVersion": 2, "timeoutSeconds": 0,
            "tasks": [{"name": "hold", "taskReferenceName": "hold_ref", "type": "WAIT"}]}


def test_correlated_batch_is_per_tenant_and_per_name(tenants: TwoTenants) -> None:
    started: dict[str, dict[tuple[str, str], str]] = {}
    for t in (tenants.acme, tenants.rival):
        ids: dict[tuple[str, str], str] = {}
        for name in ("cb_orders", "cb_refunds", "cb_other"):
            assert t.conductor.post("/api/metadata/workflow", json=_flow(name),
                                    params={"overwrite": "true"}).status_code == 200
            for cid in ("order-1", "order-2"):
                got = t.conductor.post("/api/workflow", json={"name": name, "version": 1, "correlationId": cid})
                ids[(name, cid)] = got.text
        started[t.name] = ids
    mine = started["acme"]
    acme = tenants.acme.conductor
    assert acme.delete(f"/api/workflow/{mine[('cb_refunds', 'order-2')]}").status_code == 200  # terminated: closed

    config = Configuration(server_api_url=f"{tenants.gateway.url}/api", authentication_settings=AuthenticationSettings(
        key_id="acme-key", key_secret=SECRETS["TENANCY_CONDUCTOR_ACME"]))
    workflows = OrkesClients(configuration=config).get_workflow_client()
    ask = CorrelationIdsSearchRequest(correlation_ids=["order-1", "order-2", "order-9"],
                                      workflow_names=["cb_orders", "cb_refunds"])
    found = workflows.get_by_correlation_ids_in_batch(ask)
    assert {cid: [w.workflow_id for w in wfs] for cid, wfs in found.items()} == {
        "order-1": [mine[("cb_orders", "order-1")], mine[("cb_refunds", "order-1")]],
        "order-2": [mine[("cb_orders", "order-2")]],
        "order-9": []}
    closed = workflows.get_by_correlation_ids_in_batch(ask, include_completed=True, include_tasks=True)
    assert [w.workflow_id for w in closed["order-2"]] == [mine[("cb_orders", "order-2")],
                                                          mine[("cb_refunds", "order-2")]]
    assert [task.reference_task_name for task in closed["order-2"][0].tasks] == ["hold_ref"]
    rivals = set(started["rival"].values())
    assert not rivals & {w.workflow_id for wfs in closed.values() for w in wfs}

    bad = acme.post("/api/workflow/correlated/batch", json={"correlationIds": ["order-1"]})
    assert bad.status_code == 400 and bad.json()["validationErrors"]
