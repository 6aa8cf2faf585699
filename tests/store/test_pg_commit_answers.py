"""A write's answer matches what the database kept, however the database goes away (data integrity).

Starts and task polls run on an engine over a PostgreSQL cluster of the test's own while the cluster is
stopped (fast shutdown: every connection is cut) and started again, round after round.  Afterwards:
- every start that was answered exists, and every start refused with StoreUnavailable does not (a
  client that retries a refused start must not get two runs);
- every task the store holds as claimed was handed to a poller (a refused poll claims nothing, so no
  task sits leased to a worker that never heard of it).

This once failed about one round in five: psycopg read the COMMIT's answer with the pipeline's closing
Sync, so a shutdown between the two failed a call whose transaction was committed.
"""

from __future__ import annotations

import asyncio
import uuid

import pytest

from tests.engine.helpers import TENANT, definition, spec
from tests.store.pg_cluster import Cluster
from wfgateway.core.errors import NotFound
from wfgateway.core.model import WORKER
from wfgateway.core.statuses import TaskStatus
from wfgateway.engine import Engine, create_store
from wfgateway.engine.store.base import StoreUnavailable

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

ROUNDS = 10
WRITERS = 6
POLLERS = 2


@pytest.mark.asyncio
async def test_no_refused_write_is_stored_and_no_acknowledged_write_is_lost(cluster: Cluster):
    engine = Engine(create_store({"kind": "postgres", "dsn": cluster.dsn, "wait_ms": 300}), http_timeout_ms=3000)
    await engine.startup()
    try:
        await engine.put_definition(definition("commit-answers", spec("job", WORKER, name="commit_job")))
        acknowledged: list[str] = []
        refused: list[str] = []
        handed_out: set[str] = set()
        stop = asyncio.Event()

        async def starter() -> None:
            while not stop.is_set():
                wanted = str(uuid.uuid4())
                try:
                    await engine.start(TENANT, "commit-answers", None, {}, execution_id=wanted)
                except StoreUnavailable:
                    refused.append(wanted)
                    await asyncio.sleep(0.02)
                    continue
                acknowledged.append(wanted)

        async def poller() -> None:
            while not stop.is_set():
                try:
                    got = await engine.poll(TENANT, "commit_job", worker_id="w", count=3, timeout_ms=50)
                except StoreUnavailable:
                    await asyncio.sleep(0.02)
                    continue
                handed_out.update(t.id for t in got)

        for _ in range(ROUNDS):
            stop.clear()
            load = [asyncio.create_task(starter()) for _ in range(WRITERS)]
            load += [asyncio.create_task(poller()) for _ in range(POLLERS)]
            await asyncio.sleep(0.4)
            await asyncio.to_thread(cluster.stop)
            await asyncio.sleep(0.2)
            stop.set()
            await asyncio.gather(*load)
            await asyncio.to_thread(cluster.start)

        assert refused, "no start met the outage: the test did not test anything"
        assert len(acknowledged) > 10 * ROUNDS
        for wanted in refused:
            with pytest.raises(NotFound):
                await engine.get(wanted, tenant=TENANT)
        for wanted in acknowledged:
            assert (await engine.get(wanted, tenant=TENANT)).id == wanted
        claimed: set[str] = set()
        cursor = None
        while True:
            page = await engine.search_tasks(TENANT, name="commit_job", statuses=[TaskStatus.IN_PROGRESS],
                                             cursor=cursor, limit=500, count=False)
            claimed.update(t.id for t in page.items)
            cursor = page.next_cursor
            if not cursor:
                break
        assert claimed, "no poll claimed a task"
        assert claimed <= handed_out, f"{len(claimed - handed_out)} tasks claimed by polls that were refused"
    finally:
        await engine.stop()
