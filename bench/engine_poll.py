"""Worker tasks polled and completed per second through the engine's API, on SQLite: the poll hot path.

Each round queues ``--count`` runs of a one-worker-task workflow (not timed), then measures the process's
CPU time (not wall time: the machine is shared) to poll(count=1) and complete every task, with ``--concurrency`` workers in flight.  ``unlimited`` has no poll limits;
``limited`` (when this checkout has TaskLimits) gives the task a limit it never reaches, so the rate is
what the gate itself costs.  Rounds alternate between the variants, so a change of the machine's load
hits both; each figure is the median of its rounds.

    .venv/bin/python -m bench.engine_poll [--count 1000] [--concurrency 4] [--rounds 3]

To compare with another checkout's engine, run the same file with that checkout's ``src`` first on
PYTHONPATH (``PYTHONPATH=/path/to/other/src .venv/bin/python -m bench.engine_poll``).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.engine_common import TENANT, command_line, table
from wfgateway.core import model
from wfgateway.core.model import WORKER, TaskSpec, WorkflowDefinition
from wfgateway.core.statuses import TaskStatus
from wfgateway.engine import Engine
from wfgateway.engine.store.sqlite import SQLiteStore

LIMITS: Any = getattr(model, "TaskLimits", None)  # absent in checkouts older than poll limits


async def _round(engine: Engine, name: str, count: int, concurrency: int) -> float:
    for i in range(count):
        await engine.start(TENANT, name, None, {"i": i})
    left = [count]

    async def worker() -> None:
        while left[0] > 0:
            got = await engine.poll(TENANT, f"{name}-task", worker_id="bench", count=1)
            if not got:
                continue
            left[0] -= 1
            await engine.complete_task(got[0].id, TaskStatus.COMPLETED, output={})

    t0 = time.process_time()  # CPU seconds of this process: steadier than wall time on a shared machine
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return count / (time.process_time() - t0)


async def run(count: int, concurrency: int, rounds: int) -> dict[str, list[float]]:
    variants: dict[str, Any] = {"unlimited": None}
    if LIMITS is not None:
        variants["limited (never reached)"] = LIMITS(max_in_progress=1_000_000)
    rates: dict[str, list[float]] = {v: [] for v in variants}
    with tempfile.TemporaryDirectory(prefix="wfgw-bench-") as d:
        engine = Engine(SQLiteStore(Path(d) / "poll.db"))
        await engine.startup()
        try:
            for limits in variants.values():
                name = "unlimited" if limits is None else "limited"
                kw = {} if limits is None else {"limits": limits}
                await engine.put_definition(WorkflowDefinition(
                    tenant=TENANT, name=name, version=1,
                    tasks=[TaskSpec(ref="w", kind=WORKER, name=f"{name}-task", **kw)]))
                await _round(engine, name, min(count, 200), concurrency)  # warm-up
            for _ in range(rounds):
                for label, limits in variants.items():
                    name = "unlimited" if limits is None else "limited"
                    rates[label].append(await _round(engine, name, count, concurrency))
        finally:
            await engine.stop()
    return rates


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    rates = asyncio.run(run(args.count, args.concurrency, args.rounds))
    print(f"`{command_line()}`\n")
    print(table(["SQLite, one worker task per run", "polled + completed per CPU-second (median)", "rounds"],
                [[label, f"{statistics.median(r):,.0f}", ", ".join(f"{x:,.0f}" for x in r)]
                 for label, r in rates.items()]))


if __name__ == "__main__":
    main()
