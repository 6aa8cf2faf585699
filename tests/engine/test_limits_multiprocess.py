"""Two engine processes on one database (a PostgreSQL schema, or one SQLite file as ``serve --workers 2``
shares) never hand out more tasks of a limited name together than its limit: every round, pollers on
both processes race for a queue of twelve (at most two IN_PROGRESS) and exactly two tasks come out;
once those complete, the next round gets two more."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx
import pytest

from wfgateway.core.model import WORKER, TaskLimits
from wfgateway.engine.codec import definition_to_dict

from .helpers import definition, spec
from .nodes import Node, call
from .pg import PG_DSN

RUNS = 12
LIMIT = 2


@pytest.mark.parametrize("kind", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def test_two_processes_share_one_in_progress_limit(kind: str, tmp_path: Path,
                                                         request: pytest.FixtureRequest) -> None:
    store: dict[str, Any] = {"kind": "sqlite", "path": str(tmp_path / "shared.db")}
    if kind == "postgres":
        store = {"kind": "postgres", "dsn": PG_DSN, "schema": request.getfixturevalue("pg_schema"), "pool_size": 6}
    settings = {"store": store}
    body = definition_to_dict(definition("mp-limited", spec("w", WORKER, name="mp-lim",
                                                            limits=TaskLimits(max_in_progress=LIMIT))))
    body.pop("tenant", None)
    nodes = [Node(settings, tmp_path / f"node{i}.log") for i in range(2)]
    try:
        async with httpx.AsyncClient() as client:
            await call(client, nodes[0], "/definitions", body)
            for i in range(RUNS):
                await call(client, nodes[i % 2], "/start", {"name": "mp-limited", "input": {"i": i}})
            handed: list[str] = []
            for _ in range(RUNS // LIMIT):
                batches = await asyncio.gather(*(
                    call(client, nodes[k % 2], "/poll", {"task": "mp-lim", "worker_id": f"w{k}", "count": 5,
                                                        "timeout_ms": 300})
                    for k in range(8)
                ))
                won = [t for batch in batches for t in batch]
                assert len(won) == LIMIT, [t["id"] for t in won]
                handed += [t["id"] for t in won]
                await asyncio.gather(*(call(client, nodes[j % 2], "/complete", {"task_id": t["id"]})
                                       for j, t in enumerate(won)))
            # the queue is empty now: every task was handed out once
            assert len(set(handed)) == RUNS
            assert await call(client, nodes[1], "/poll", {"task": "mp-lim", "count": 5}) == []
    finally:
        for n in nodes:
            n.stop()
    for n in nodes:
        assert "Traceback" not in n.log(), n.log()


@pytest.mark.postgres
async def test_two_processes_share_one_rate_window(pg_schema: str, tmp_path: Path) -> None:
    """Three per two seconds: the first race hands out three in all; the rest start a window later."""
    settings = {"store": {"kind": "postgres", "dsn": PG_DSN, "schema": pg_schema, "pool_size": 6}}
    body = definition_to_dict(definition("mp-rated", spec("w", WORKER, name="mp-rate",
                                                          limits=TaskLimits(per_window=3, window_ms=2000))))
    body.pop("tenant", None)
    nodes = [Node(settings, tmp_path / f"node{i}.log") for i in range(2)]
    try:
        async with httpx.AsyncClient() as client:
            await call(client, nodes[0], "/definitions", body)
            for i in range(6):
                await call(client, nodes[i % 2], "/start", {"name": "mp-rated", "input": {"i": i}})
            batches = await asyncio.gather(*(
                call(client, nodes[k % 2], "/poll", {"task": "mp-rate", "worker_id": f"w{k}", "count": 5})
                for k in range(8)
            ))
            first = [t for batch in batches for t in batch]
            assert len(first) == 3
            rest: list[dict[str, Any]] = []
            loop = asyncio.get_running_loop()
            deadline = loop.time() + 30
            while len(rest) < 3 and loop.time() < deadline:
                got = await asyncio.gather(*(call(client, n, "/poll", {"task": "mp-rate", "count": 5,
                                                                      "timeout_ms": 500}) for n in nodes))
                rest += [t for batch in got for t in batch]
            assert len(rest) == 3
            window_start = min(int(t["started_ms"]) for t in first)
            assert all(int(t["started_ms"]) >= window_start + 2000 for t in rest)
    finally:
        for n in nodes:
            n.stop()
