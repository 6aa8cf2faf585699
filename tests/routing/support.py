"""Helpers for routing tests: an in-memory backend for the back gateway (the engine is another
engineer's and is exercised by the acceptance tests), and gateways served on 127.0.0.1."""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

from tests.support.server import REPO, ThreadServer
from wfgateway.app import GatewayApp, create_app
from wfgateway.config import config_from_dict, load_config
from wfgateway.core.errors import Conflict, NotFound
from wfgateway.core.model import Execution, Page
from wfgateway.core.statuses import ExecutionStatus

RELAY_SPEC = str(REPO / "tests/fixtures/routing/relay.yaml")
_ids = itertools.count(1)


class MemoryBackend:
    """Executions in a dict; a start completes at once; ids carry the backend's name."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.executions: dict[str, Execution] = {}
        self.calls: list[str] = []

    async def start(self, tenant: str, name: str = "", version: Any = None,
                    input: dict[str, Any] | None = None, *, correlation_id: str | None = None,
                    **kwargs: Any) -> Execution:
        self.calls.append("start")
        if name == "missing":
            raise NotFound(f"no workflow {name}")
        e = Execution(id=f"{self.name}-{next(_ids)}", tenant=tenant, definition_name=name, definition_version=1,
                      status=ExecutionStatus.COMPLETED, input=input or {}, correlation_id=correlation_id)
        self.executions[e.id] = e
        return e

    async def get(self, execution_id: str, *, tenant: str | None = None, **kwargs: Any) -> Execution:
        self.calls.append("get")
        e = self.executions.get(execution_id)
        if e is None:
            raise NotFound(f"no execution {execution_id}")
        return e

    async def rerun(self, execution_id: str, *, tenant: str | None = None, **kwargs: Any) -> Execution:
        self.calls.append("rerun")
        e = await self.get(execution_id)
        if e.status == ExecutionStatus.RUNNING:
            raise Conflict("running")
        e.extra["runs"] = e.extra.get("runs", 1) + 1
        return e

    async def search(self, tenant: str, *, name: str | None = None, **kwargs: Any) -> Page:
        self.calls.append("search")
        items = [e for e in self.executions.values() if name is None or e.definition_name == name]
        return Page(items=items, total=len(items))


def relay_config(tmp: Path, *, token: str = "sesame", backends: dict[str, Any] | None = None,
                 routes: list[dict[str, Any]] | None = None, server: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "server": {"access_log": False, **(server or {})},
        "store": {"kind": "sqlite", "path": str(tmp / "gateway.db")},
        "dialects": {"relay": {"adapter": "tests.routing.relay_dialect", "spec": RELAY_SPEC,
                               "auth": {"token": token}}},
        "backends": backends or {"engine": {"kind": "engine"}},
        "routes": routes or [{"match": {}, "backend": "engine"}],
    }


@contextlib.contextmanager
def serve(app: Any) -> Iterator[str]:
    server = ThreadServer(app)
    server.start()
    try:
        yield server.url
    finally:
        server.stop()


@contextlib.contextmanager
def relay_gateway(tmp: Path, engine: Any = None, **kwargs: Any) -> Iterator[tuple[str, GatewayApp]]:
    """A gateway serving the relay dialect; yields its URL and app."""
    tmp.mkdir(parents=True, exist_ok=True)
    app = create_app(config_from_dict(relay_config(tmp, **kwargs), base_dir=REPO),
                     engine=engine or MemoryBackend("engine"))
    with serve(app) as url:
        yield url, app


@contextlib.contextmanager
def relay_gateway_from_file(tmp: Path, engine: Any, **kwargs: Any) -> Iterator[tuple[str, GatewayApp, Path]]:
    """Like relay_gateway, but from a config file (so it can be edited and hot-reloaded)."""
    tmp.mkdir(parents=True, exist_ok=True)
    path = tmp / "config.yaml"
    path.write_text(yaml.safe_dump(relay_config(tmp, **kwargs), sort_keys=False))
    app = create_app(load_config(path), engine=engine)
    with serve(app) as url:
        yield url, app, path


def upstream(url: str, *, token_env: str = "RELAY_UPSTREAM_TOKEN", **extra: Any) -> dict[str, Any]:
    """A backends entry for a relay upstream at ``url``."""
    return {"kind": "upstream", "dialect": "relay", "url": url, "credentials": {"token_env": token_env}, **extra}
