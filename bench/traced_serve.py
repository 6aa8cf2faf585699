"""``wfgateway serve`` with tracemalloc on: SIGUSR1 writes a snapshot of Python's heap to a file.

    python -m bench.traced_serve SNAPSHOT_PREFIX serve --config config.yaml

Each SIGUSR1 writes ``SNAPSHOT_PREFIX.N`` (N = 1, 2, ...; written under a temporary name, then
renamed, so a reader never sees half a file).  Used by the soak test and bench/memory.py
``--traced`` to name the allocations that grow; the server is the real one (uvicorn, the CLI).
"""

from __future__ import annotations

import itertools
import os
import signal
import sys
import tracemalloc
from types import FrameType

from wfgateway.cli import main


def install(prefix: str) -> None:
    counter = itertools.count(1)

    def dump(signum: int, frame: FrameType | None) -> None:
        path = f"{prefix}.{next(counter)}"
        tracemalloc.take_snapshot().dump(path + ".part")
        os.replace(path + ".part", path)

    tracemalloc.start(int(os.environ.get("WFGATEWAY_TRACE_FRAMES", "1")))
    signal.signal(signal.SIGUSR1, dump)


if __name__ == "__main__":
    install(sys.argv[1])
    sys.exit(main(sys.argv[2:]))
