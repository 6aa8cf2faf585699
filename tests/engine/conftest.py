"""Engine test fixtures: a real store (parametrized by kind), a started engine, a real HTTP server.

To run the whole engine suite on another store, add its kind to STORE_KINDS and teach ``make_store``
to build a fresh, empty one (the PostgreSQL engineer adds "postgres" here).
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn

from wfgateway.engine import Engine, create_store
from wfgateway.engine.store.base import Store

from .http_app import make_app

try:
    from .pg import pg_schema, pg_store, release_schema, schema_for  # noqa: F401  (pg_schema: a fixture)

    STORE_KINDS = ["sqlite", "postgres"]
except ImportError:  # the PostgreSQL store's test support is not in this checkout
    STORE_KINDS = ["sqlite"]


def make_store(kind: str, tmp_path: Path) -> Store:
    if kind == "sqlite":
        return create_store({"kind": "sqlite", "path": "engine.db"}, base_dir=tmp_path)
    if kind == "postgres":
        return pg_store(schema_for(tmp_path))  # one schema per test, dropped by store_factory
    raise ValueError(kind)


def store_settings(kind: str, tmp_path: Path) -> dict[str, Any]:
    """Settings for ``create_store`` that reach the same database from another process."""
    if kind == "sqlite":
        return {"kind": "sqlite", "path": str(tmp_path / "engine.db")}
    if kind == "postgres":
        from .pg import PG_DSN

        return {"kind": "postgres", "dsn": PG_DSN, "schema": schema_for(tmp_path)}
    raise ValueError(kind)


@pytest.fixture(params=[pytest.param(k, marks=[pytest.mark.postgres] if k == "postgres" else []) for k in STORE_KINDS])
def store_kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def store_factory(store_kind: str, tmp_path: Path, request: pytest.FixtureRequest) -> Callable[[], Store]:
    """A new Store object on the SAME database each call (to stop and start engines on one database)."""
    if store_kind == "postgres":
        request.addfinalizer(lambda: release_schema(tmp_path))
    return lambda: make_store(store_kind, tmp_path)


@pytest.fixture
def make_engine(store_factory: Callable[[], Store]) -> Iterator[Callable[..., Engine]]:
    made: list[Engine] = []

    def build(**kwargs: Any) -> Engine:
        kwargs.setdefault("http_timeout_ms", 3000)
        eng = Engine(store_factory(), **kwargs)
        made.append(eng)
        return eng

    yield build


@pytest.fixture
async def engine(make_engine: Callable[..., Engine]) -> AsyncIterator[Engine]:
    eng = make_engine()
    await eng.startup()
    try:
        yield eng
    finally:
        await eng.stop()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class HttpServer:
    def __init__(self, base_url: str, calls: list[dict[str, Any]]) -> None:
        self.base_url = base_url
        self.calls = calls


@pytest.fixture(scope="session")
def http_server() -> Iterator[HttpServer]:
    """A real uvicorn server on 127.0.0.1 that HTTP tasks call (see http_app.py for its routes)."""
    calls: list[dict[str, Any]] = []
    port = _free_port()
    config = uvicorn.Config(make_app(calls), host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.time() + 10
    while not server.started:
        if time.time() > deadline:
            raise RuntimeError("test HTTP server did not start")
        time.sleep(0.02)
    try:
        yield HttpServer(f"http://127.0.0.1:{port}", calls)
    finally:
        server.should_exit = True
        thread.join(timeout=5)


async def drain(engine: Engine, seconds: float = 0.05) -> None:
    """Let background work (dispatches, timers) run for a moment."""
    await asyncio.sleep(seconds)
