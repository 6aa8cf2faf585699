"""The web console at ``/console`` and the spec pages at ``/docs/{dialect}``, served by the gateway.

``install_console(app)`` mounts both when config.yaml's ``console.enabled`` is true (the default).  The
page is plain HTML/CSS/JS shipped in ``static/`` (no build step); the docs pages use Swagger UI's
built files, vendored from npm's ``swagger-ui-dist`` with their licences (``vendor/``; no CDN).  Vendor words come from each adapter's
``Adapter.console`` (wfgateway.adapter, wfgateway.console.vocabulary).
"""

from __future__ import annotations

import html
import logging
from collections.abc import Iterable
from pathlib import Path
from typing import Any
from urllib.parse import quote

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from wfgateway.adapter import load_adapter
from wfgateway.console.api import ConsoleApi
from wfgateway.console.audit import AuditLog
from wfgateway.console.docs import docs_routes
from wfgateway.console.session import Sessions
from wfgateway.console.upstream import Routing, UpstreamRuns
from wfgateway.console.vocabulary import ConsoleVocabulary
from wfgateway.console.web import guarded, json
from wfgateway.loopback import is_loopback

log = logging.getLogger("wfgateway.console")
STATIC = Path(__file__).parent / "static"
DEFAULT_SESSION_TTL = 8 * 3600


def console_settings(config: Any) -> dict[str, Any]:
    return dict((config.raw or {}).get("console") or {})


def vocabularies(app: Any) -> dict[str, ConsoleVocabulary]:
    """Each enabled dialect's console words, from the ``console`` vocabulary its adapter declares."""
    found: dict[str, ConsoleVocabulary] = {}
    for dialect in app.dialects:
        factory = load_adapter(app.config.dialects[dialect.name]["adapter"]).console
        if factory is None:
            log.info("console: adapter of %s declares no console vocabulary; its runs show engine words", dialect.name)
            continue
        found[dialect.name] = factory(dialect)
    return found


def _loopback(request: Request) -> bool:
    """The caller is on this machine (open mode serves the console only to it)."""
    client = request.client
    return client is not None and is_loopback(client.host)


async def _unknown(request: Request, exc: Exception) -> Response:
    """A console path or method that does not exist, in the console's own error format: JSON for its API,
    a page with the way in for a browser that typed a page's address (``/console/runs``)."""
    status = exc.status_code if isinstance(exc, HTTPException) else 404
    message = f"The console does not serve {request.method} {request.url.path}"
    if not request.url.path.startswith("/console/api/") and "text/html" in request.headers.get("accept", ""):
        return HTMLResponse(_NOT_A_PAGE.format(message=html.escape(message)), status)
    return json({"error": message}, status)


_NOT_A_PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Not found -- wfgateway console</title>
<link rel="icon" href="data:,"></head><body style="font:15px/1.5 system-ui,sans-serif;margin:24px">
<h1>Not found</h1><p>{message}.</p><p>The console is at <a href="/console/">/console/</a>: its pages are
<a href="/console/#/runs">runs</a>, <a href="/console/#/upstream">upstream runs</a> and
<a href="/console/#/definitions">definitions</a>; the API specs are at <a href="/docs">/docs</a>.</p></body></html>"""


def _upstream(app: Any) -> UpstreamRuns:
    """Upstream runs come from the router's run registry."""
    routing: Routing = app.router
    return UpstreamRuns(routing)


def install_console(app: Any) -> ConsoleApi | None:
    settings = console_settings(app.config)
    if not settings.get("enabled", True):
        return None
    from wfgateway.engine import Engine

    if not isinstance(app.engine, Engine):  # a stand-in backend (tests, benchmarks) stores no runs to show
        log.info("console: off, the gateway runs without its embedded engine")
        return None
    api = ConsoleApi(
        engine=app.engine, pipeline=app.pipeline, gateway=app.context, dialects=app.dialects,
        vocabularies=vocabularies(app),
        sessions=Sessions(app.context.cursors, int(settings.get("session_ttl_seconds") or DEFAULT_SESSION_TTL)),
        cursors=app.context.cursors, audit=AuditLog(app.engine.store),
        loopback=_loopback, upstream=_upstream(app),
    )

    async def page(request: Request) -> Response:
        return FileResponse(STATIC / "index.html", headers={"cache-control": "no-cache"})

    async def to_page(request: Request) -> Response:
        return HTMLResponse("", status_code=308, headers={"location": "/console/"})

    base = "/console/api"
    routes = [
        Route("/console", to_page),
        Route("/console/", page),
        Mount("/console/static", StaticFiles(directory=STATIC), name="console-static"),
        Route(f"{base}/session", guarded(api.session)),
        Route(f"{base}/login", guarded(api.login), methods=["POST"]),
        Route(f"{base}/logout", guarded(api.logout), methods=["POST"]),
        Route(f"{base}/runs", guarded(api.runs)),
        Route(f"{base}/upstream", guarded(api.upstream_runs)),
        Route(f"{base}/runs/{{run_id}}", guarded(api.run)),
        Route(f"{base}/runs/{{run_id}}/actions/{{action}}", guarded(api.action), methods=["POST"]),
        Route(f"{base}/bulk/{{action}}", guarded(api.bulk), methods=["POST"]),
        Route(f"{base}/definitions", guarded(api.definitions)),
        Route(f"{base}/definitions/{{name}}/{{version}}", guarded(api.definition)),
        Route(f"{base}/start", guarded(api.start), methods=["POST"]),
    ]
    app.pipeline.add_mount("/console", Starlette(routes=routes, exception_handlers={404: _unknown, 405: _unknown}))
    app.pipeline.add_mount("/docs", Starlette(routes=docs_routes(sorted(app.specs))))
    _install_ui_links(app, api.vocabularies.values())
    return api


def _install_ui_links(app: Any, vocabularies: Iterable[ConsoleVocabulary]) -> None:
    """The vendor UI paths the vocabularies declare answer with a redirect to the console page that shows
    the same thing (the console's login and tenant scoping then apply as to any console page)."""
    by_prefix: dict[str, list[Route]] = {}
    for vocabulary in vocabularies:
        for template, target in vocabulary.ui_links.items():
            prefix = "/" + template.strip("/").split("/", 1)[0]
            if app.pipeline.mount_for(prefix) is not None or app.pipeline.dialect_for(prefix + "/") is not None:
                log.warning("console: UI link %s of %s is a path the gateway already serves; skipped",
                            template, vocabulary.dialect)
                continue
            by_prefix.setdefault(prefix, []).append(Route(template, _redirect_to(target)))
    for prefix, routes in by_prefix.items():
        app.pipeline.add_mount(prefix, Starlette(routes=routes))


def _redirect_to(target: str) -> Any:
    async def redirect(request: Request) -> Response:
        fragment = target.format_map({k: quote(str(v), safe="") for k, v in request.path_params.items()})
        return Response(status_code=302, headers={"location": "/console/" + fragment})
    return redirect
