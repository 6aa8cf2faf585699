"""Wiring: config.yaml -> engine, dialects, compiled routes and validators -> one ASGI app."""

from __future__ import annotations

import contextlib
import importlib
import logging
from pathlib import Path
from typing import Any

import yaml
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from wfgateway import tracing
from wfgateway.backends.settings import validation_mode
from wfgateway.config import Config, load_config
from wfgateway.contract.open_mode import open_security
from wfgateway.contract.spec import Spec, load_spec
from wfgateway.contract.validators import RequestValidator, ResponseValidator
from wfgateway.core import loops
from wfgateway.core.backend import Backend
from wfgateway.core.errors import SettingError
from wfgateway.cursors import cursor_signer
from wfgateway.dialect import Dialect
from wfgateway.engine.store import create_store
from wfgateway.engine.store.base import Store, StoreOpenError
from wfgateway.gateway import GatewayContext
from wfgateway.loopback import is_loopback
from wfgateway.pipeline import Pipeline, Target
from wfgateway.shared_secrets import StoreSecrets

log = logging.getLogger("wfgateway")


class StartupError(Exception):
    """The gateway cannot start as configured (bad adapter, spec, or an open non-loopback bind)."""


class GatewayApp:
    """The ASGI application: lifespan starts the engine and the dialects; http goes to the pipeline."""

    def __init__(self, config: Config, engine: Backend, dialects: list[Dialect], specs: dict[str, Spec],
                 pipeline: Pipeline, context: GatewayContext) -> None:
        self.config = config
        self.engine = engine
        self.dialects = dialects
        self.specs = specs
        self.pipeline = pipeline
        self.context = context
        self.ready = False

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        kind = scope["type"]
        if kind == "http":
            await self.pipeline(scope, receive, send)
        elif kind == "lifespan":
            await self._lifespan(receive, send)

    async def startup(self) -> None:
        await self.context.store.open()  # the persistence home first: a store that cannot open stops here
        startup = getattr(self.engine, "startup", None)  # the embedded engine's own start-up
        if startup is not None:
            await startup()
        for d in self.dialects:
            await d.startup()
        for hook in self.context.state.get("on_startup", ()):  # routing: registry, upstreams, reload
            await hook()
        self.ready = True

    async def shutdown(self) -> None:
        self.ready = False
        for hook in self.context.state.get("on_shutdown", ()):
            with contextlib.suppress(Exception):
                await hook()
        for d in reversed(self.dialects):
            with contextlib.suppress(Exception):
                await d.shutdown()
        stop = getattr(self.engine, "stop", None)
        if stop is not None:
            await stop()
        await self.context.store.close()

    async def _lifespan(self, receive: Any, send: Any) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                try:
                    await self.startup()
                except StoreOpenError as exc:  # one line: the file, the cause, the fix
                    log.error("wfgateway: %s", exc)
                    await send({"type": "lifespan.startup.failed", "message": str(exc)})
                    return
                except Exception as exc:  # report, do not crash the server with a traceback
                    log.exception("startup failed")
                    await send({"type": "lifespan.startup.failed", "message": str(exc)})
                    return
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self.shutdown()
                await send({"type": "lifespan.shutdown.complete"})
                return


def create_app(config: Config | str | Path, *, engine: Backend | None = None) -> GatewayApp:
    """Build the gateway for ``config``; ``engine`` replaces the embedded engine (tests, benchmarks)."""
    if not isinstance(config, Config):
        config = load_config(config)
    tracing.configure(config.tracing)  # process-wide; off unless tracing.enabled
    store = create_store(config.store, base_dir=config.base_dir,
                         page_cache_mib=int(config.caches["sqlite_page_cache_mib"]))
    if engine is None:
        engine = build_engine(config, store)
    shared = StoreSecrets(store)
    context = GatewayContext(
        config=config,
        secrets=shared,
        engine=engine,
        store=store,
        dialect_settings=config.enabled_dialects(),
        task_settings=config.tasks,
        base_url=config.server.get("public_url") or f"http://{config.server['host']}:{config.server['port']}",
        cursors=cursor_signer(config.server.get("cursor_key_env"), lambda: shared.get("cursor_key")),
    )
    pipeline = Pipeline(
        context,
        max_body_bytes=config.server["max_body_bytes"],
        response_validation=validation_mode(config.server.get("response_validation")),
        access_log=bool(config.server.get("access_log", True)),
        redactor=context.redactor,
    )
    dialects: list[Dialect] = []
    specs: dict[str, Spec] = {}
    for name, settings in config.enabled_dialects().items():
        dialect, spec = _load_dialect(name, settings, config, context)
        pipeline.add_dialect(dialect, _targets(dialect, spec, check_answers=pipeline.response_validation != "off"),
                             unserved=spec.unserved_paths)
        dialects.append(dialect)
        specs[name] = spec
    app = GatewayApp(config, engine, dialects, specs, pipeline, context)
    context.state["app"] = app
    context.state.setdefault("on_startup", []).append(shared.load)  # keys shared by every worker
    if tracing.TRACER is not None:
        async def flush_spans() -> None:
            tracing.shutdown()

        context.state.setdefault("on_shutdown", []).append(flush_spans)
    _add_gateway_routes(app)
    from wfgateway.routing import install_routing

    install_routing(app)  # select_backend by config.yaml routes, /metrics, upstream health in /readyz
    from wfgateway.console import install_console

    install_console(app)  # /console and /docs/{dialect}, unless console.enabled is false
    return app


def build_engine(config: Config, store: Store) -> Backend:
    from wfgateway.engine import Engine

    http = config.tasks.get("http", {})
    # With several workers on one SQLite file an HTTP task in flight at start-up may be another
    # worker's: leave it to its lease timer instead of sending it twice.
    shared_file = int(config.server.get("workers", 1)) > 1
    return Engine(
        store,
        http_allow=list(http.get("allow", [])),
        http_timeout_ms=int(http.get("timeout_ms", 30000)),
        worker_lease_ms=int(config.tasks.get("worker", {}).get("lease_ms", 60000)),
        definition_cache=int(config.caches["definitions"]),
        recover_inflight=False if shared_file else None,
    )


def open_dialects(app: GatewayApp) -> list[str]:
    """Dialects that accept requests without credentials (no keys or tokens configured)."""
    return [d.name for d in app.dialects if getattr(d, "open_mode", False)]


def check_bind(app: GatewayApp, host: str) -> None:
    """Refuse to serve open dialects on anything but a loopback address."""
    open_ones = open_dialects(app)
    if open_ones and not is_loopback(host):
        raise StartupError(
            f"dialects {', '.join(open_ones)} have no credentials configured; "
            f"refusing to serve them open on {host} (bind to 127.0.0.1 or configure auth)"
        )


def _load_dialect(name: str, settings: dict[str, Any], config: Config, context: GatewayContext) -> tuple[Dialect, Spec]:
    try:
        module = importlib.import_module(settings["adapter"])
    except ImportError as exc:
        raise StartupError(f"dialects.{name}.adapter: cannot import {settings['adapter']!r}: {exc}") from exc
    factory = getattr(module, "create_dialect", None)
    if factory is None:
        raise StartupError(f"dialects.{name}.adapter: {settings['adapter']!r} has no create_dialect()")
    spec_path = config.resolve(settings.get("spec") or f"openapi/{name}.yaml")
    spec = load_spec(name, spec_path)
    try:
        dialect: Dialect = factory(settings, context)
    except SettingError as exc:
        raise config.error_at(f"dialects.{name}.{exc.key}", exc.message) from exc
    except Exception as exc:  # an adapter's own config errors: report them, no traceback
        raise StartupError(f"dialects.{name}: {exc}") from exc
    return dialect, spec


def _targets(dialect: Dialect, spec: Spec, *, check_answers: bool) -> list[Target]:
    """One target per operation; its response validators compile now when the gateway checks every
    answer, else on the first answer an upstream backend asks to check."""
    handlers = dialect.handlers()
    missing = [op.operation_id for op in spec.operations if op.operation_id not in handlers]
    if missing:
        raise StartupError(f"dialect {dialect.name}: no handler for operations {', '.join(sorted(missing))}")
    return [
        Target(dialect, op.operation_id, RequestValidator(op, spec), ResponseValidator(op, spec, eager=check_answers),
               handlers[op.operation_id])
        for op in spec.operations
    ]


def _add_gateway_routes(app: GatewayApp) -> None:
    pipeline = app.pipeline

    async def healthz(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def readyz(request: Request) -> Response:
        checks: dict[str, Any] = {"engine": "ok" if app.ready else "starting"}
        if app.ready:
            try:
                checks["store"] = await app.context.store.check()  # a real write; names the cause when it fails
            except Exception as exc:  # a probe that itself fails says so instead of answering 500
                checks["store"] = f"failing: {type(exc).__name__}"
            checks.update(loops.readiness())  # every background loop's heartbeat
        extra = app.context.state.get("readiness")
        if extra is not None:
            checks.update(await extra())
        ok = all(v == "ok" or v == "closed" for v in checks.values())
        body = {"status": "ok" if ok else "unavailable", "checks": checks, "heartbeats_s_ago": loops.heartbeats()}
        return JSONResponse(body, status_code=200 if ok else 503)

    pipeline.add_route("GET", "/healthz", healthz)
    pipeline.add_route("GET", "/readyz", readyz)
    open_ones = set(open_dialects(app))
    for name, spec in app.specs.items():
        text = spec.path.read_bytes()
        if name in open_ones:  # the spec this gateway enforces: no credentials needed
            text = yaml.safe_dump(open_security(yaml.safe_load(text)), sort_keys=False,
                                  allow_unicode=True).encode()

        async def serve_spec(request: Request, text: bytes = text) -> Response:
            return Response(text, media_type="application/yaml")

        pipeline.add_route("GET", f"/openapi/{name}.yaml", serve_spec)
