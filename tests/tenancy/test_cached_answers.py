"""A Conductor run's answer kept by the gateway (the stored GET's cache) is served to its own tenant
only: another tenant asking for the same id, before and after the owner's reads were kept, gets
Conductor's 404 and none of the run (SQLite and PostgreSQL)."""

from __future__ import annotations

from tests.tenancy.conftest import TwoTenants

FLOW = {"name": "kept_answer", "version": 1, "schemaVersion": 2, "timeoutSeconds": 0,
        "tasks": [{"name": "kept_work", "taskReferenceName": "work", "type": "SIMPLE"}]}


def test_a_kept_answer_never_reaches_another_tenant(tenants: TwoTenants) -> None:
    acme, rival = tenants.acme.conductor, tenants.rival.conductor
    assert acme.post("/api/metadata/workflow", json=FLOW).status_code == 200
    started = acme.post("/api/workflow/kept_answer", json={"marker": "acme-only-7c1d"})
    assert started.status_code == 200, started.text
    workflow_id = started.text.strip('"')

    answers = tenants.gateway.app.context.answers
    refused = rival.get(f"/api/workflow/{workflow_id}")  # before acme's answer is kept
    hits = answers.hits
    first, second = acme.get(f"/api/workflow/{workflow_id}"), acme.get(f"/api/workflow/{workflow_id}")
    assert answers.hits > hits, "acme's second read is answered from the kept bytes"
    assert first.status_code == second.status_code == 200 and first.content == second.content
    assert first.json()["input"] == {"marker": "acme-only-7c1d"}

    for answer in (refused, rival.get(f"/api/workflow/{workflow_id}"),  # after: kept for acme, not rival
                   rival.get(f"/api/workflow/{workflow_id}", params={"includeTasks": "false"})):
        assert answer.status_code == 404, answer.text
        assert answer.json()["message"] == f"No such workflow found by id: {workflow_id}"
        assert "acme-only" not in answer.text
