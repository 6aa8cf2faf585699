"""``/docs/{dialect}``: the spec the gateway enforces for a dialect (``/openapi/{dialect}.yaml``),
rendered by Swagger UI from its vendored built files (``vendor/swagger-ui``) -- no CDN."""

from __future__ import annotations

import html
from pathlib import Path

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

ASSETS = Path(__file__).parent / "vendor" / "swagger-ui"

_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{title} API -- wfgateway</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/docs/assets/swagger-ui.css">
<style>body{{margin:0}} .wfg-bar{{font:14px system-ui,sans-serif;padding:8px 16px;background:#1f2933;color:#fff}}
.wfg-bar a{{color:#9fd3ff;margin-right:14px}}</style></head>
<body><div class="wfg-bar">{links}<a href="/console/">console</a></div><div id="swagger-ui"></div>
<script src="/docs/assets/swagger-ui-bundle.js"></script>
<script src="/docs/assets/init.js" data-spec="/openapi/{name}.yaml"></script>
</body></html>"""

_INIT = b"""(function () {
  var spec = document.currentScript.getAttribute('data-spec');
  window.ui = SwaggerUIBundle({url: spec, dom_id: '#swagger-ui', deepLinking: true,
    presets: [SwaggerUIBundle.presets.apis], layout: 'BaseLayout'});
})();
"""


_LIST = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title><link rel="icon" href="data:,">
<style>body{{font:15px/1.5 system-ui,sans-serif;margin:24px;color:#1f2933}} li{{margin:6px 0}}</style></head>
<body><h1>{title}</h1>{message}<ul>{items}</ul><p><a href="/console/">the web console</a></p></body></html>"""


def docs_routes(dialects: list[str]) -> list[BaseRoute]:
    links = "".join(f'<a href="/docs/{html.escape(d)}">{html.escape(d)}</a>' for d in dialects)
    items = "".join(f'<li><a href="/docs/{html.escape(d)}">{html.escape(d.capitalize())} API</a>: the spec '
                    f'enforced (<a href="/openapi/{html.escape(d)}.yaml">/openapi/{html.escape(d)}.yaml</a>)</li>'
                    for d in dialects)

    async def index(request: Request) -> Response:
        return HTMLResponse(_LIST.format(title="wfgateway API specs", message="", items=items))

    async def page(request: Request) -> Response:
        name = request.path_params["dialect"]
        if name not in dialects:
            message = f"<p>No dialect <code>{html.escape(name)}</code> is enabled here; these are:</p>"
            return HTMLResponse(_LIST.format(title="Not found", message=message, items=items), status_code=404)
        return HTMLResponse(_PAGE.format(title=html.escape(name.capitalize()), name=name, links=links))

    async def init(request: Request) -> Response:
        return Response(_INIT, media_type="text/javascript")

    return [
        Route("/docs", index),
        Route("/docs/", index),
        Route("/docs/assets/init.js", init),
        Mount("/docs/assets", StaticFiles(directory=ASSETS), name="docs-assets"),
        Route("/docs/{dialect}", page),
    ]
