"""A real worker process: its own Engine on the shared database, polling and completing tasks.

    python -m tests.engine.worker_proc '<store settings JSON>' <tenant> <task name> <mode> <max tasks> <seconds>

mode ``double``: complete each task with {"doubled": input.n * 2, "pid": ...};
mode ``grab``: lease one task for 300 ms, print its id and hang (the test kills the process).
Prints one JSON line per task it handled.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
import time

from wfgateway.core.statuses import TaskStatus
from wfgateway.engine import Engine, create_store


async def main(settings: dict, tenant: str, name: str, mode: str, max_tasks: int, seconds: float) -> None:
    engine = Engine(create_store(settings), recover_inflight=False)
    await engine.startup()
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    try:
        done = 0
        deadline = time.monotonic() + seconds
        while done < max_tasks and time.monotonic() < deadline and not stop.is_set():
            if mode == "grab":
                got = await engine.poll(tenant, name, worker_id=f"pid-{os.getpid()}", timeout_ms=2000, lease_ms=300)
                for t in got:
                    print(json.dumps({"id": t.id}), flush=True)
                    await asyncio.sleep(3600)
                continue
            got = await engine.poll(tenant, name, worker_id=f"pid-{os.getpid()}", count=2, timeout_ms=300)
            for t in got:
                await engine.complete_task(t.id, TaskStatus.COMPLETED,
                                           output={"doubled": t.input.get("n", 0) * 2, "pid": os.getpid()})
                print(json.dumps({"id": t.id, "pid": os.getpid()}), flush=True)
                done += 1
    finally:
        await engine.stop()


if __name__ == "__main__":
    s, tenant, name, mode, max_tasks, seconds = sys.argv[1:7]
    asyncio.run(main(json.loads(s), tenant, name, mode, int(max_tasks), float(seconds)))
