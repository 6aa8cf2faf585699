"""The engine keeps at most ``definition_cache`` parsed definitions (config.yaml caches.definitions);
an execution whose definition fell out of the cache is read back from the store and still runs."""

from __future__ import annotations

from wfgateway.core.model import WORKER
from wfgateway.core.statuses import ExecutionStatus as ES

from .helpers import TENANT, definition, spec, work


async def test_executions_outlive_their_cached_definitions(make_engine) -> None:
    engine = make_engine(definition_cache=2)
    await engine.startup()
    try:
        started = []
        for i in range(6):  # six distinct definitions through a cache of two
            await engine.put_definition(definition(f"flow{i}", spec("a", WORKER, name=f"work{i}")))
            started.append(await engine.start(TENANT, f"flow{i}", None, {"i": i}))
        for i, execution in enumerate(started):
            await work(engine, f"work{i}", {"done": i})
            finished = await engine.get(execution.id)
            assert finished.status == ES.COMPLETED
            assert finished.definition.name == f"flow{i}"
        again = await engine.rerun(started[0].id)  # the oldest definition, long evicted
        assert again.definition.name == "flow0"
    finally:
        await engine.stop()
