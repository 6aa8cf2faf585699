"""Routing by config.yaml: routes -> backends (the engine or upstream vendors), run registry,
hot reload, metrics.  ``install_routing(app)`` wires it into a GatewayApp."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response


def install_routing(app: Any) -> Any:
    """Make the app's pipeline choose backends by the config's routes; add /metrics and upstream
    health to /readyz.  Returns the Router."""
    from wfgateway.routing.router import Router

    router = Router(app.config, app.engine, app.dialects, app.context.store)
    router.metrics.watch_store(app.context.store.health)
    app.pipeline.select_backend = router.select
    context = app.context
    context.state["routing"] = router
    context.state["readiness"] = router.readiness
    context.state.setdefault("on_startup", []).append(router.start)
    context.state.setdefault("on_shutdown", []).append(router.stop)

    router.metrics.registry.register(app.pipeline.request_counts)

    async def metrics(request: Request) -> Response:
        body, content_type = router.metrics.render()
        return Response(body, media_type=content_type)

    app.pipeline.add_route("GET", "/metrics", metrics)
    return router
