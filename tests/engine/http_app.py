"""The HTTP service HTTP tasks call in tests: echo, chosen status codes, slow answers, call counting."""

from __future__ import annotations

import asyncio
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route


def make_app(calls: list[dict[str, Any]]) -> Starlette:
    flaky: dict[str, int] = {}

    async def record(request: Request) -> dict[str, Any]:
        body = await request.body()
        entry = {"method": request.method, "path": request.url.path, "query": dict(request.query_params),
                 "headers": dict(request.headers), "body": body.decode() if body else ""}
        calls.append(entry)
        return entry

    async def echo(request: Request) -> Response:
        entry = await record(request)
        return JSONResponse({"method": entry["method"], "query": entry["query"], "body": entry["body"],
                             "auth": request.headers.get("authorization")})

    async def status(request: Request) -> Response:
        await record(request)
        code = int(request.path_params["code"])
        return JSONResponse({"code": code}, status_code=code)

    async def slow(request: Request) -> Response:
        await record(request)
        await asyncio.sleep(int(request.query_params.get("ms", "1000")) / 1000)
        return JSONResponse({"slow": True})

    async def text(request: Request) -> Response:
        await record(request)
        return PlainTextResponse("plain words")

    async def flaky_route(request: Request) -> Response:
        """Fails ``n`` times per key, then succeeds."""
        await record(request)
        key = request.path_params["key"]
        n = int(request.query_params.get("fail", "1"))
        flaky[key] = flaky.get(key, 0) + 1
        if flaky[key] <= n:
            return JSONResponse({"try": flaky[key]}, status_code=503)
        return JSONResponse({"try": flaky[key]})

    return Starlette(routes=[
        Route("/echo", echo, methods=["GET", "POST", "PUT", "DELETE", "PATCH"]),
        Route("/status/{code:int}", status, methods=["GET", "POST"]),
        Route("/slow", slow),
        Route("/text", text),
        Route("/flaky/{key}", flaky_route, methods=["GET", "POST"]),
    ])
