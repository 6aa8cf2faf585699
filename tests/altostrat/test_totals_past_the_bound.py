"""Laravel's paginator counts every run: a workflow with more runs than a search's bound (10,000, where
Conductor's totalHits stops) still shows its exact ``meta.total`` and ``last_page``, and its log stats
count every run.  The runs past the first three are stored through the store's own bulk path, into the
file the running gateway uses."""

from __future__ import annotations

import asyncio
import math
import time
import uuid
from typing import Any

from tests.altostrat.conftest import checked, new_authorization, wait_run
from tests.altostrat.graphs import node
from wfgateway.engine.store.base import EXEC_IDX, Changeset, SearchFilter
from wfgateway.engine.store.search import COUNT_CAP
from wfgateway.engine.store.sqlite import SQLiteStore

CLONES = COUNT_CAP + 200


def _clone_runs(path: str, template_id: str) -> None:
    """CLONES copies of one stored run, a third of them failed, created over the last ten days."""

    async def clone() -> None:
        store = SQLiteStore(path)
        await store.open()
        try:
            row = (await store.fetch_sql("SELECT * FROM executions WHERE id = ?", (template_id,)))[0]
            assert len(row) == len(EXEC_IDX)
            now = int(time.time() * 1000)
            rows = []
            for i in range(CLONES):
                copy: list[Any] = list(row)
                copy[EXEC_IDX["id"]] = str(uuid.uuid4())
                copy[EXEC_IDX["status"]] = "FAILED" if i % 3 == 0 else "COMPLETED"
                copy[EXEC_IDX["created_ms"]] = copy[EXEC_IDX["started_ms"]] = now - 10 * 86_400_000 + i * 60_000
                copy[EXEC_IDX["idempotency_key"]] = None
                rows.append(tuple(copy))
            await store.commit(Changeset(exec_inserts=rows))
            name = row[EXEC_IDX["name"]]
            _, bounded = await store.exec_search(SearchFilter(row[EXEC_IDX["tenant"]], name=name), None, 1, True)
            assert bounded == COUNT_CAP  # what a search would have answered
        finally:
            await store.close()

    asyncio.run(clone())


def test_a_workflow_past_ten_thousand_runs_counts_every_run(gateway, org1) -> None:
    wf = checked(org1.post("/workflows", json={"name": "Busy", "authorization_id": new_authorization(org1),
                                              "nodes": [node("t", "manual_trigger")], "edges": []}),
                 "createWorkflow", 201)
    runs = [checked(org1.post(f"/workflows/{wf['id']}/execute", json={"context": {"i": i}}), "executeWorkflow",
                    202)["id"] for i in range(3)]
    for run in runs:
        assert wait_run(org1, run)["status"] == "completed"
    _clone_runs(str(gateway.engine.store.path), runs[0])
    total = CLONES + 3

    first = checked(org1.get(f"/workflows/{wf['id']}/executions"), "listWorkflowRuns", 200)
    last_page = math.ceil(total / 15)
    assert (first["meta"]["total"], first["meta"]["last_page"]) == (total, last_page)
    assert first["links"]["last"].endswith(f"?page={last_page}")
    last = checked(org1.get(f"/workflows/{wf['id']}/executions", params={"page": last_page}), "listWorkflowRuns",
                   200)
    assert len(last["data"]) == total - (last_page - 1) * 15 and last["meta"]["to"] == total

    stats = checked(org1.get(f"/workflows/{wf['id']}/logs/stats"), "getWorkflowLogStats", 200)
    failed = len(range(0, CLONES, 3))
    assert stats["total_runs"] == total
    assert stats["success_rate"] == round((total - failed) * 100 / total, 2)
    assert stats["recent_runs"] == {"completed": total - failed, "failed": failed}
