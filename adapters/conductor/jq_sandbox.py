"""JSON_JQ_TRANSFORM queries run in a child process with a time and a memory limit.

The jq library evaluates a query in C, holding the GIL, with no way to interrupt it: in the gateway's own
process one endless or huge query (``last(range(0; infinite))``, ``[range(0; 1e9)]``) would stall every
request, SIGTERM included, and take memory without end.  Here a query is sent to a long-lived worker process
(``jq_worker.py``, its address space capped); an answer that does not
come within the time limit, or a worker that dies, fails the task and the worker is replaced.  Like a QuickJS
script, an evaluation blocks its caller for at most the time limit.

The protocol is one JSON line each way: ``{"query", "input"}`` in, ``{"results"}`` or ``{"error"}`` out.
"""

from __future__ import annotations

import select
import subprocess
import sys
import threading
from pathlib import Path
from typing import IO, Any

import orjson

from wfgateway.core.errors import EvaluationFailed
from wfgateway.exact_json import dumps_text

MEMORY_LIMIT = 512 * 1024 * 1024  # the worker's address space (the interpreter and jq included)
STARTUP_S = 30.0  # how long a new worker may take to say it is ready (not counted in a query's time)
WORKER = Path(__file__).with_name("jq_worker.py")
READY = b"ready\n"


class JqSandbox:
    """One worker process per gateway process, started on first use, replaced after a timeout or a crash."""

    def __init__(self, timeout_s: float, memory_bytes: int = MEMORY_LIMIT) -> None:
        self.timeout_s = timeout_s
        self.memory_bytes = memory_bytes
        self._lock = threading.Lock()  # one query at a time per worker
        self._proc: subprocess.Popen[bytes] | None = None

    def run(self, query: str, value: Any) -> list[Any]:
        """Every result of ``query`` over ``value``; EvaluationFailed with jq's message, or when the query
        runs past the time limit or out of memory."""
        request = dumps_text({"query": query, "input": value}).encode() + b"\n"
        with self._lock:
            proc = self._worker()
            stdin, stdout = _pipes(proc)
            try:
                stdin.write(request)
                stdin.flush()
            except BrokenPipeError:
                self._stop()
                raise EvaluationFailed("jq query failed: its worker process ended") from None
            ready, _, _ = select.select([stdout], [], [], self.timeout_s)
            if not ready:
                self._stop()
                raise EvaluationFailed(f"jq query timed out after {int(self.timeout_s * 1000)} ms")
            line = stdout.readline()
            if not line:  # the worker died: its memory limit, most likely
                self._stop()
                raise EvaluationFailed("jq query ran out of memory")
        answer = orjson.loads(line)
        if "error" in answer:
            raise EvaluationFailed(str(answer["error"]), output={"error": answer["error"]})
        return list(answer["results"])

    def _worker(self) -> subprocess.Popen[bytes]:
        if self._proc is not None and self._proc.poll() is None:
            return self._proc
        proc = subprocess.Popen([sys.executable, str(WORKER), str(self.memory_bytes)], stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, close_fds=True)
        self._proc = proc
        stdout = _pipes(proc)[1]
        ready, _, _ = select.select([stdout], [], [], STARTUP_S)
        if not ready or stdout.readline() != READY:
            self._stop()
            raise EvaluationFailed("jq query failed: its worker process did not start")
        return proc

    def _stop(self) -> None:
        proc, self._proc = self._proc, None
        if proc is not None:
            proc.kill()
            proc.wait()
            for pipe in (proc.stdin, proc.stdout):
                if pipe is not None:
                    pipe.close()


def _pipes(proc: subprocess.Popen[bytes]) -> tuple[IO[bytes], IO[bytes]]:
    assert proc.stdin is not None and proc.stdout is not None  # started with both pipes
    return proc.stdin, proc.stdout
