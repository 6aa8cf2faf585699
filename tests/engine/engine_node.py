"""An engine in its own OS process, reachable over a small JSON API on 127.0.0.1 (multi-process and
crash tests).  Every answer is sent after the engine committed, so an answer is an acknowledgement.

    python -m tests.engine.engine_node '<settings JSON>'

settings: {"store": <create_store settings>, "http_allow": [...], "http_timeout_ms": int,
"worker_lease_ms": int, "recover_inflight": bool | null}.  Prints ``READY <port>`` once it serves.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import socket
import sys
from collections.abc import AsyncIterator
from typing import Any

import orjson
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from wfgateway.core.errors import GatewayError
from wfgateway.core.statuses import TaskStatus
from wfgateway.engine import Engine, create_store
from wfgateway.engine.codec import definition_from_dict

TENANT = "acme"


def _json(data: Any, status: int = 200) -> Response:
    return Response(orjson.dumps(data), status_code=status, media_type="application/json")


def task_view(t: Any) -> dict[str, Any]:
    return {"id": t.id, "execution_id": t.execution_id, "ref": t.ref, "kind": t.kind, "status": str(t.status),
            "attempt": t.attempt, "seq": t.seq, "visible": t.visible, "worker_id": t.worker_id,
            "output": t.output, "poll_count": t.poll_count, "started_ms": t.started_ms, "ended_ms": t.ended_ms}


def build_app(settings: dict[str, Any]) -> Starlette:
    engine = Engine(
        create_store(settings["store"]), http_allow=settings.get("http_allow", ["127.0.0.0/8"]),
        http_timeout_ms=int(settings.get("http_timeout_ms", 5000)),
        worker_lease_ms=int(settings.get("worker_lease_ms", 60000)),
        recover_inflight=settings.get("recover_inflight"),
    )

    @contextlib.asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        await engine.startup()
        try:
            yield
        finally:
            await engine.stop()

    async def call(request: Request, fn: Any) -> Response:
        body = orjson.loads(await request.body() or b"{}")
        try:
            return _json(await fn(body))
        except GatewayError as e:
            return _json({"error": type(e).__name__, "message": e.message}, e.status)

    async def info(_: Request) -> Response:
        return _json({"owner": engine.http.owner, "pid": os.getpid()})

    async def put_definition(request: Request) -> Response:
        async def op(b: dict[str, Any]) -> Any:
            d = await engine.put_definition(definition_from_dict({"tenant": TENANT, **b}))
            return {"name": d.name, "version": d.version}
        return await call(request, op)

    async def start(request: Request) -> Response:
        async def op(b: dict[str, Any]) -> Any:
            e = await engine.start(TENANT, b["name"], None, b.get("input") or {}, execution_id=b.get("execution_id"))
            return {"id": e.id}
        return await call(request, op)

    async def poll(request: Request) -> Response:
        async def op(b: dict[str, Any]) -> Any:
            got = await engine.poll(TENANT, b["task"], worker_id=b.get("worker_id"), count=int(b.get("count", 1)),
                                    timeout_ms=int(b.get("timeout_ms", 0)))
            return [task_view(t) for t in got]
        return await call(request, op)

    async def complete(request: Request) -> Response:
        async def op(b: dict[str, Any]) -> Any:
            t = await engine.complete_task(b["task_id"], TaskStatus(b.get("status", "COMPLETED")),
                                           output=b.get("output"), worker_id=b.get("worker_id"))
            return task_view(t)
        return await call(request, op)

    async def rerun(request: Request) -> Response:
        async def op(b: dict[str, Any]) -> Any:
            e = await engine.rerun(b["execution_id"], from_task_id=b.get("from_task_id"),
                                   workflow_input=b.get("workflow_input"))
            return {"id": e.id, "status": str(e.status)}
        return await call(request, op)

    async def get_execution(request: Request) -> Response:
        async def op(_: dict[str, Any]) -> Any:
            e = await engine.get(request.path_params["id"], include_history=request.query_params.get("history") == "1")
            return {"id": e.id, "status": str(e.status), "input": e.input, "tasks": [task_view(t) for t in e.tasks]}
        return await call(request, op)

    return Starlette(lifespan=lifespan, routes=[
        Route("/info", info),
        Route("/definitions", put_definition, methods=["POST"]),
        Route("/start", start, methods=["POST"]),
        Route("/poll", poll, methods=["POST"]),
        Route("/complete", complete, methods=["POST"]),
        Route("/rerun", rerun, methods=["POST"]),
        Route("/executions/{id}", get_execution),
    ])


async def serve(settings: dict[str, Any]) -> None:
    # IPPROTO_TCP explicitly: asyncio sets TCP_NODELAY only on sockets whose proto says TCP, and accepted
    # sockets inherit it (proto 0 means Nagle + delayed ACKs: ~40 ms per keep-alive request).
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    config = uvicorn.Config(build_app(settings), log_level="warning", access_log=False, lifespan="on")
    server = uvicorn.Server(config)
    task = asyncio.ensure_future(server.serve(sockets=[sock]))
    while not server.started:
        if task.done():
            await task
            return
        await asyncio.sleep(0.01)
    print(f"READY {sock.getsockname()[1]}", flush=True)
    await task


if __name__ == "__main__":
    asyncio.run(serve(json.loads(sys.argv[1])))
