"""The jq sandbox's worker process (see jq_sandbox.py), run by file path so that starting it imports jq and
orjson only: it says ``ready``, then answers one JSON line per query until its input closes."""

from __future__ import annotations

import os
import resource
import sys
from functools import lru_cache
from typing import Any

import jq
import orjson

READY = b"ready\n"


@lru_cache(maxsize=1000)
def _compiled(query: str) -> Any:
    return jq.compile(query)


def answer(line: bytes) -> bytes:
    try:
        request = orjson.loads(line)
        results = _compiled(request["query"]).input_value(request["input"]).all()
        return orjson.dumps({"results": results})
    except ValueError as exc:  # jq's compile and runtime errors (orjson's decode errors are ValueErrors too)
        lines = [ln.strip() for ln in str(exc).splitlines() if ln.strip()]
        return orjson.dumps({"error": lines[0] if lines else "jq query failed"})
    except MemoryError:
        return orjson.dumps({"error": "jq query ran out of memory"})


def main(memory_bytes: int) -> None:
    resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))
    out = sys.stdout.buffer
    out.write(READY)
    out.flush()
    for line in sys.stdin.buffer:
        out.write(answer(line) + b"\n")
        out.flush()
    os._exit(0)


if __name__ == "__main__":
    main(int(sys.argv[1]))
