"""The same kinds of objects for each tenant, with names that collide (both tenants own ``shared``)
and names that sort before and after the other tenant's, through each dialect's own API."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import httpx


def names(tenant: str) -> list[str]:
    return [f"{tenant}-wf", "shared", f"a-{tenant}", f"zz-{tenant}", f"{tenant}\u00e9"]


@dataclass
class Seeded:
    """What one tenant owns: every id and name another tenant must never see."""

    tenant: str
    names: list[str] = field(default_factory=list)
    ids: set[str] = field(default_factory=set)  # execution, run, workflow, vault, authorization ids
    triggers: list[str] = field(default_factory=list)

    def private(self) -> set[str]:
        """Strings only this tenant's objects carry (``shared`` belongs to both, so it is left out)."""
        return {n for n in self.names if "shared" not in n} | self.ids | set(self.triggers)


def _ok(response: httpx.Response, *statuses: int) -> Any:
    assert response.status_code in (statuses or (200,)), response.text
    return response.json() if response.content and "json" in response.headers.get("content-type", "") \
        else response.text


def _nonce(client: httpx.Client, out: Seeded | None = None) -> str:
    session = _ok(client.post("/sessions", json={"items": [{"tokenExchange": True}]}))["items"][0]
    if out is not None:
        out.ids.add(str(session["id"]))  # answers carry it as a number; the test compares it as text
    return session["nonce"]


def seed_cognite(client: httpx.Client, tenant: str, out: Seeded) -> None:
    task = {"externalId": "a", "type": "function",
            "parameters": {"function": {"externalId": "fn", "data": {"who": tenant}}, "isAsyncComplete": True}}
    for name in names(tenant):
        _ok(client.post("/workflows", json={"items": [{"externalId": name, "description": f"of {tenant}"}]}))
        _ok(client.post("/workflows/versions", json={"items": [
            {"workflowExternalId": name, "version": "1", "workflowDefinition": {"tasks": [task]}}]}))
        for _ in range(2):
            run = _ok(client.post(f"/workflows/{name}/versions/1/run",
                                  json={"input": {"tenant": tenant}, "authentication": {"nonce": _nonce(client, out)}}))
            out.ids.add(run["id"])
    nonce = _nonce(client, out)
    for name in (f"{tenant}-trig", "shared-trig", f"a-{tenant}-trig"):
        _ok(client.post("/workflows/triggers", json={"items": [{
            "externalId": name, "triggerRule": {"triggerType": "schedule", "cronExpression": "0 0 1 1 *"},
            "workflowExternalId": names(tenant)[0], "workflowVersion": "1", "authentication": {"nonce": nonce}}]}))
        if name != "shared-trig":
            out.triggers.append(name)
    out.names += names(tenant)


def seed_conductor(client: httpx.Client, tenant: str, out: Seeded) -> None:
    _ok(client.post("/api/metadata/taskdefs", json=[{"name": f"{tenant}_task", "retryCount": 0}]))
    for name in (f"c.{n}" for n in names(tenant)):  # Cognite's names are taken: one engine, one tenant
        _ok(client.post("/api/metadata/workflow", json={
            "name": name, "version": 1, "schemaVersion": 2, "ownerEmail": f"{tenant}@example.com",
            "tasks": [{"name": f"{tenant}_task", "taskReferenceName": "t", "type": "SIMPLE"}]}))
        for _ in range(2):
            out.ids.add(_ok(client.post(f"/api/workflow/{name}", json={"tenant": tenant}, ), 200))
    out.names += [f"{tenant}_task", *(f"c.{n}" for n in names(tenant))]


def seed_altostrat(client: httpx.Client, tenant: str, out: Seeded) -> None:
    auth = _ok(client.post("/workflows/authorization"))["id"]
    out.ids.add(auth)
    for name in (f"alto {n}" for n in names(tenant)):
        out.names.append(name)
        wf = _ok(client.post("/workflows", json={
            "name": name, "authorization_id": auth, "edges": [],
            "nodes": [{"id": "start", "type": "manual_trigger", "position": {"x": 0, "y": 0},
                       "data": {"componentId": "manual_trigger"}}]}), 201)
        out.ids.add(wf["id"])
        for _ in range(2):
            run = _ok(client.post(f"/workflows/{wf['id']}/execute", json={"tenant": tenant}), 200, 201, 202)
            out.ids.add(run.get("run_id") or run.get("id"))
    vault = _ok(client.post("/workflows/vault", json={"name": f"{tenant}-secret", "secret": f"s-{tenant}"}), 201)
    out.ids.add(vault["id"])
    out.names.append(f"{tenant}-secret")
