"""Wiring: config.yaml -> engine, dialects, compiled routes and validators -> one ASGI app."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Router as LifespanRouter
from starlette.types import Receive, Send

from wfgateway import tracing
from wfgateway.adapter import Adapter, AdapterError, Dialect, load_adapter
from wfgateway.answers import AnswerCache
from wfgateway.backends.settings import validation_mode
from wfgateway.config import Config, load_config
from wfgateway.contract.open_mode import ServedSpec
from wfgateway.contract.spec import Spec, load_spec
from wfgateway.contract.validators import RequestValidator, ResponseValidator
from wfgateway.core import loops
from wfgateway.core.backend import Backend
from wfgateway.core.errors import SettingError
from wfgateway.cursors import cursor_signer
from wfgateway.engine.store import create_store
from wfgateway.engine.store.base import Store, StoreOpenError
from wfgateway.engine.watch import ExecutionWatch
from wfgateway.gateway import EngineHooks, GatewayContext, NoHooks
from wfgateway.loopback import is_loopback
from wfgateway.pipeline import Pipeline, Target
from wfgateway.routing.router import Router
from wfgateway.shared_secrets import StoreSecrets

if TYPE_CHECKING:
    from wfgateway.engine import Engine

log = logging.getLogger("wfgateway")


class StartupError(Exception):
    """The gateway cannot start as configured (bad adapter, spec, or an open non-loopback bind)."""


class EngineLifecycle(Protocol):
    """The embedded engine's own start-up (store migrations, timer loop) and stop."""

    async def startup(self) -> None: ...

    async def stop(self) -> None: ...


class GatewayApp:
    """The ASGI application: http goes to the pipeline; the lifespan (run by Starlette's lifespan
    protocol handler) starts the engine, the dialects and routing, and stops them in reverse."""

    def __init__(self, config: Config, engine: Backend, lifecycle: EngineLifecycle | None, dialects: list[Dialect],
                 specs: dict[str, Spec], pipeline: Pipeline, context: GatewayContext, router: Router,
                 shared: StoreSecrets) -> None:
        self.config = config
        self.engine = engine
        self.lifecycle = lifecycle  # None: a stand-in backend that starts nothing
        self.dialects = dialects
        self.specs = specs
        self.pipeline = pipeline
        self.context = context
        self.router = router  # backends, routes, run registry, hot reload
        self.shared = shared  # keys shared by every worker, loaded from the store at start
        self.ready = False
        self._lifespan = LifespanRouter(lifespan=self._running)
        self._failure = ""  # why the start failed, in one line

    async def __call__(self, scope: dict[str, Any], receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "http":
            await self.pipeline(scope, receive, send)
        elif kind == "lifespan":
            try:
                await self._lifespan.lifespan(scope, receive, self._one_line(send))
            except Exception:  # reported to the server as lifespan.startup.failed; no traceback
                if not self._failure:
                    raise

    def _one_line(self, send: Send) -> Send:
        """Starlette reports a failed start with its traceback; the server logs our one line instead."""

        async def sending(message: Any) -> None:
            if message["type"] == "lifespan.startup.failed" and self._failure:
                message = {**message, "message": self._failure}
            await send(message)

        return sending

    @contextlib.asynccontextmanager
    async def _running(self, _: Any) -> AsyncIterator[None]:
        try:
            await self.startup()
        except StoreOpenError as exc:  # one line: the file, the cause, the fix
            log.error("wfgateway: %s", exc)
            self._failure = str(exc)
            raise
        except Exception as exc:
            log.exception("startup failed")
            self._failure = str(exc) or type(exc).__name__
            raise
        try:
            yield
        finally:
            await self.shutdown()

    async def startup(self) -> None:
        await self.context.store.open()  # the persistence home first: a store that cannot open stops here
        if self.lifecycle is not None:
            await self.lifecycle.startup()
        if self.context.watch is not None:
            await self.context.watch.start()
        for d in self.dialects:
            await d.startup()
        await self.shared.load()
        await self.router.start()
        self.ready = True

    async def shutdown(self) -> None:
        self.ready = False
        with contextlib.suppress(Exception):
            await self.router.stop()
        for d in reversed(self.dialects):
            with contextlib.suppress(Exception):
                await d.shutdown()
        if self.context.watch is not None:
            with contextlib.suppress(Exception):
                await self.context.watch.stop()
        if self.lifecycle is not None:
            await self.lifecycle.stop()
        await self.context.store.close()
        if tracing.TRACER is not None:
            tracing.shutdown()  # flush the spans still buffered


def create_app(config: Config | str | Path, *, engine: Backend | None = None) -> GatewayApp:
    """Build the gateway for ``config``.  ``engine`` replaces the embedded engine (tests,
    benchmarks): it is only called as a Backend -- nothing starts it or plugs hooks into it."""
    if not isinstance(config, Config):
        config = load_config(config)
    tracing.configure(config.tracing)  # process-wide; off unless tracing.enabled
    store = create_store(config.store, base_dir=config.base_dir,
                         page_cache_mib=int(config.caches["sqlite_page_cache_mib"]))
    lifecycle: EngineLifecycle | None = None
    hooks: EngineHooks = NoHooks()
    watch: ExecutionWatch | None = None
    if engine is None:
        embedded = build_engine(config, store)
        # worker processes on one SQLite file hear nothing of each other's commits: a wait re-reads
        watch = ExecutionWatch(embedded, recheck_s=SHARED_FILE_RECHECK_S if _shared_file(config, store) else None)
        engine, hooks, lifecycle = embedded, embedded, embedded
    dialects = config.enabled_dialects()
    adapters = {name: _adapter(name, settings) for name, settings in dialects.items()}
    router = Router(config, engine, {name: adapter.route_keys for name, adapter in adapters.items()}, store)
    router.metrics.watch_store(store.health)
    shared = StoreSecrets(store)
    context = GatewayContext(
        config=config,
        secrets=shared,
        engine=engine,
        store=store,
        hooks=hooks,
        dialect_settings=config.enabled_dialects(),
        task_settings=config.tasks,
        base_url=config.server.get("public_url") or f"http://{config.server['host']}:{config.server['port']}",
        cursors=cursor_signer(config.server.get("cursor_key_env"), lambda: shared.get("cursor_key")),
        splitter=router,
        watch=watch,
        answers=AnswerCache(int(config.caches.get("answers_kib", 4096)) * 1024),
    )
    loaded = [_create_dialect(name, settings, adapters[name], config, context) for name, settings in dialects.items()]
    pipeline = Pipeline(
        context,
        router.select,
        max_body_bytes=config.server["max_body_bytes"],
        response_validation=validation_mode(config.server.get("response_validation")),
        access_log=bool(config.server.get("access_log", True)),
        redactor=context.redactor,
    )
    for dialect, spec in loaded:
        pipeline.add_dialect(dialect, _targets(dialect, spec, check_answers=pipeline.response_validation != "off"),
                             unserved=spec.unserved_paths)
    app = GatewayApp(config, engine, lifecycle, [d for d, _ in loaded], {d.name: s for d, s in loaded},
                     pipeline, context, router, shared)
    _add_gateway_routes(app)
    from wfgateway.console import install_console

    install_console(app)  # /console and /docs/{dialect}, unless console.enabled is false
    return app


SHARED_FILE_RECHECK_S = 0.2


def _shared_file(config: Config, store: Store) -> bool:
    """Several worker processes on one store that is a single process's (SQLite): nothing tells one of
    another's commits."""
    return int(config.server.get("workers", 1)) > 1 and store.single_process


def build_engine(config: Config, store: Store) -> Engine:
    from wfgateway.engine import Engine

    http = config.tasks.get("http", {})
    # With several workers on one SQLite file an HTTP task in flight at start-up may be another
    # worker's: leave it to its lease timer instead of sending it twice.
    shared_file = _shared_file(config, store)
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
    return [d.name for d in app.dialects if d.open_mode]


def check_bind(app: GatewayApp, host: str) -> None:
    """Refuse to serve open dialects on anything but a loopback address."""
    open_ones = open_dialects(app)
    if open_ones and not is_loopback(host):
        raise StartupError(
            f"dialects {', '.join(open_ones)} have no credentials configured; "
            f"refusing to serve them open on {host} (bind to 127.0.0.1 or configure auth)"
        )


def _adapter(name: str, settings: dict[str, Any]) -> Adapter:
    try:
        return load_adapter(settings["adapter"])
    except AdapterError as exc:
        raise StartupError(f"dialects.{name}.adapter: {exc}") from exc


def _create_dialect(name: str, settings: dict[str, Any], adapter: Adapter, config: Config,
                    context: GatewayContext) -> tuple[Dialect, Spec]:
    spec = load_spec(name, config.spec_path(name))
    try:
        dialect = adapter.create_dialect(settings, context)
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
        checks.update(await app.router.readiness())
        ok = all(v == "ok" or v == "closed" for v in checks.values())
        body = {"status": "ok" if ok else "unavailable", "checks": checks, "heartbeats_s_ago": loops.heartbeats()}
        return JSONResponse(body, status_code=200 if ok else 503)

    pipeline.add_route("GET", "/healthz", healthz)
    pipeline.add_route("GET", "/readyz", readyz)
    open_ones = set(open_dialects(app))
    for name, spec in app.specs.items():
        # the spec this gateway enforces (an open dialect's: no credentials needed), as read at start
        served = ServedSpec(spec.path.read_bytes(), open_mode=name in open_ones)

        async def serve_spec(request: Request, served: ServedSpec = served) -> Response:
            return Response(await served.text(), media_type="application/yaml")

        pipeline.add_route("GET", f"/openapi/{name}.yaml", serve_spec)

    app.router.metrics.registry.register(pipeline.request_counts)

    async def metrics(request: Request) -> Response:
        body, content_type = app.router.metrics.render()
        return Response(body, media_type=content_type)

    pipeline.add_route("GET", "/metrics", metrics)
