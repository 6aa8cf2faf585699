"""Engine.sandbox: runs in a private in-memory engine are never seen by the engine they come from (its
store, its workers, its searches); HTTP tasks wait for complete_task; named sub-workflows run there."""

from __future__ import annotations

import pytest

from wfgateway.core.errors import NotFound
from wfgateway.core.model import HTTP, SUBWORKFLOW, WORKER
from wfgateway.core.statuses import ExecutionStatus as ES
from wfgateway.core.statuses import TaskStatus as TS

from .helpers import TENANT, by_ref, definition, spec


async def test_a_sandbox_run_stays_in_the_sandbox(engine):
    await engine.put_definition(definition("sb-child", spec("inner", WORKER, name="sb_inner")))
    parent = definition(
        "sb-parent", spec("w", WORKER, name="sb_job"),
        spec("call", HTTP, "w", params={"method": "GET", "url": "http://127.0.0.1:9/never"}),
        spec("child", SUBWORKFLOW, "call", params={"name": "sb-child", "version": None, "input": {}}))
    async with engine.sandbox(parent) as box:
        run = await box.start(TENANT, "sb-parent", None, {"x": 1}, definition=parent)
        await box.complete_task(by_ref(run)["w"].id, TS.COMPLETED, output={"ok": True})
        run = await box.get(run.id)
        assert by_ref(run)["call"].status is TS.SCHEDULED  # never sent
        await box.complete_task(by_ref(run)["call"].id, TS.COMPLETED, output={"status": 204})
        run = await box.get(run.id)
        child = await box.get(by_ref(run)["child"].subworkflow_id)
        await box.complete_task(by_ref(child)["inner"].id, TS.COMPLETED)
        run = await box.wait_until(run.id, ES.COMPLETED)
        assert await engine.poll(TENANT, "sb_job") == []
        with pytest.raises(NotFound):
            await engine.get(run.id)
        assert (await engine.search(TENANT)).items == []

