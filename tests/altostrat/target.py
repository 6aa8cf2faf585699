"""A real HTTP server (uvicorn on 127.0.0.1) that webhook nodes call: it records every request,
answers ``{"name": ..., "healthy": ..., "echo": {...}}`` and can be told to fail a path N times."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route


@dataclass
class Hit:
    path: str
    method: str
    headers: dict[str, str]
    body: Any


@dataclass
class Target:
    hits: list[Hit] = field(default_factory=list)
    failures: dict[str, int] = field(default_factory=dict)  # path -> remaining 503 answers
    healthy: bool = True
    lock: threading.Lock = field(default_factory=threading.Lock)

    def fail(self, path: str, times: int = 1) -> None:
        with self.lock:
            self.failures[path] = times

    def calls(self, path: str) -> list[Hit]:
        with self.lock:
            return [h for h in self.hits if h.path == path]

    def app(self) -> Starlette:
        async def endpoint(request: Request) -> Response:
            raw = await request.body()
            try:
                body = orjson.loads(raw) if raw else None
            except orjson.JSONDecodeError:
                body = raw.decode(errors="replace")
            path = request.url.path
            with self.lock:
                self.hits.append(Hit(path, request.method, dict(request.headers), body))
                remaining = self.failures.get(path, 0)
                if remaining:
                    self.failures[path] = remaining - 1
            if remaining:
                return Response(b'{"error":"down"}', status_code=503, media_type="application/json")
            answer = {"name": path.rsplit("/", 1)[-1], "healthy": self.healthy,
                      "echo": {"headers": dict(request.headers), "body": body}}
            return Response(orjson.dumps(answer), media_type="application/json")

        return Starlette(routes=[Route("/{path:path}", endpoint, methods=["GET", "POST", "PUT", "PATCH", "DELETE"])])
