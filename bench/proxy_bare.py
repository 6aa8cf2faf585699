"""The baseline: a bare aiohttp pass-through proxy that checks nothing (no routing table, no auth, no
validation, no response check): Starlette catch-all route + one shared aiohttp session."""

from __future__ import annotations

import contextlib
import os
from collections.abc import AsyncIterator

import aiohttp
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

UPSTREAM = os.environ.get("WFGW_BENCH_UPSTREAM", "http://127.0.0.1:9101")
session: aiohttp.ClientSession | None = None


@contextlib.asynccontextmanager
async def lifespan(app: Starlette) -> AsyncIterator[None]:
    global session
    session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=100))
    yield
    await session.close()


async def forward(request: Request) -> Response:
    body = await request.body()
    headers = {"Content-Type": request.headers["content-type"]} if "content-type" in request.headers else None
    url = UPSTREAM + request.url.path + (f"?{request.url.query}" if request.url.query else "")
    async with session.request(request.method, url, data=body or None, headers=headers) as r:
        return Response(await r.read(), status_code=r.status, media_type=r.headers.get("Content-Type"))


async def healthz(request: Request) -> Response:
    return Response(b"ok")


app = Starlette(routes=[Route("/healthz", healthz), Route("/{path:path}", forward, methods=["GET", "POST"])],
                lifespan=lifespan)
