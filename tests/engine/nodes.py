"""Test-side helpers for engine processes: start/kill an ``engine_node`` process, and a counting HTTP
server (uvicorn on 127.0.0.1 in a thread) that HTTP tasks call, so a test can tell how often each
task attempt was really sent."""

from __future__ import annotations

import asyncio
import json
import os
import queue
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

ROOT = Path(__file__).resolve().parents[2]


class Node:
    """One engine process (``tests.engine.engine_node``) on the given store settings."""

    def __init__(self, settings: dict[str, Any], log_path: Path) -> None:
        env = {**os.environ, "PYTHONPATH": f"{ROOT}{os.pathsep}{ROOT / 'src'}"}
        self.log_path = log_path
        self._log = open(log_path, "ab")  # noqa: SIM115  (kept open for the process's lifetime)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tests.engine.engine_node", json.dumps(settings)],
            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=self._log, text=True,
        )
        lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=lambda: [lines.put(x) for x in self.proc.stdout], daemon=True).start()  # type: ignore[union-attr]
        try:
            line = lines.get(timeout=30)
        except queue.Empty:
            self.kill()
            raise RuntimeError(f"engine node did not start: {self.log()}") from None
        if not line.startswith("READY "):
            self.kill()
            raise RuntimeError(f"engine node said {line!r}: {self.log()}")
        self.url = f"http://127.0.0.1:{int(line.split()[1])}"

    def log(self) -> str:
        if not self._log.closed:
            self._log.flush()
        return self.log_path.read_text(errors="replace")[-4000:]

    def kill(self) -> None:
        """SIGKILL: no shutdown code runs, exactly like a crash."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)
        self._log.close()

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            code = self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            code = self.proc.wait(timeout=5)
        self._log.close()
        return code


async def call(client: httpx.AsyncClient, node: Node, path: str, body: dict[str, Any] | None = None,
               timeout: float = 10.0) -> Any:
    """POST (or GET without a body) to a node; raises on any non-2xx answer."""
    if body is None:
        resp = await client.get(node.url + path, timeout=timeout)
    else:
        resp = await client.post(node.url + path, json=body, timeout=timeout)
    if resp.status_code >= 300:
        raise RuntimeError(f"{path}: {resp.status_code} {resp.text}")
    return resp.json()


class CounterServer:
    """Counts calls per task attempt id (``/hit/{execution}/{ref}/{attempt}?delay_ms=&fail_first=1``).

    ``fail_first=1`` answers 503 to the first attempt seen for (execution, ref), every time it is sent,
    and 200 to any later attempt: a retried task fails once, then succeeds.
    """

    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()
        self.inflight: Counter[str] = Counter()
        self.first: dict[tuple[str, str], str] = {}
        self.since: dict[str, float] = {}  # when the latest request of an attempt arrived (monotonic)
        self.lock = threading.Lock()
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        app = Starlette(routes=[Route("/hit/{execution}/{ref}/{attempt}", self._hit, methods=["GET", "POST"])])
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning",
                                                    access_log=False, lifespan="off"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def hit_url(self, ref: str, **query: Any) -> str:
        q = "&".join(f"{k}={v}" for k, v in query.items())
        return f"{self.url}/hit/${{workflow.workflowId}}/{ref}/${{{ref}.taskId}}" + (f"?{q}" if q else "")

    async def _hit(self, request: Request) -> Response:
        p = request.path_params
        attempt = p["attempt"]
        with self.lock:
            self.calls[attempt] += 1
            self.inflight[attempt] += 1
            self.since[attempt] = time.monotonic()
            first = self.first.setdefault((p["execution"], p["ref"]), attempt)
        try:
            delay = int(request.query_params.get("delay_ms", "0"))
            if delay:
                await asyncio.sleep(delay / 1000)
            if request.query_params.get("fail_first") == "1" and first == attempt:
                return JSONResponse({"attempt": attempt, "ok": False}, status_code=503)
            return JSONResponse({"attempt": attempt, "ok": True})
        finally:
            with self.lock:
                self.inflight[attempt] -= 1

    def in_flight(self, younger_than_s: float | None = None) -> set[str]:
        """Attempts with a request being answered now (that arrived less than ``younger_than_s`` ago)."""
        now = time.monotonic()
        with self.lock:
            return {k for k, v in self.inflight.items()
                    if v > 0 and (younger_than_s is None or now - self.since.get(k, 0) < younger_than_s)}

    def __enter__(self) -> CounterServer:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("counter server did not start")
            time.sleep(0.01)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=5)
