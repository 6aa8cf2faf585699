"""Same-vendor upstream = validation proxy.

The pipeline has already routed, authenticated and validated the request against our spec; here it
goes out raw (method, path, query, body, the client's headers minus its credentials, the gateway's
upstream credentials instead), and the upstream's answer is checked against the same spec with
the compiled ResponseValidator.  Drift is reported (log line, metric, ``x-wfgateway-drift``
header) or, in enforce mode, answered 502 in the dialect's own error format.

Each hop is the gateway's own (RFC 9110 §7.6.1): hop-by-hop headers -- the fixed list and every
header a ``Connection`` header names -- are dropped in both directions.  The upstream's cookies are
the gateway's session with it: its ``Set-Cookie`` reaches clients only for names the backend's
``pass_cookies`` lists.  Header values the gateway writes from data (the drift summary) are
sanitised; the upstream's own header values were checked by the parser (no CR, LF, NUL or other
control characters).
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import orjson
from starlette.responses import Response

from wfgateway.backends.transport import UpstreamTransport, upstream_status_error
from wfgateway.core.errors import UpstreamError
from wfgateway.pipeline import Forwarding, Target
from wfgateway.sanitize import header_value, json_line

if TYPE_CHECKING:
    from wfgateway.dialect import Call
    from wfgateway.routing.keys import OperationKeys
    from wfgateway.routing.metrics import RouteStats
    from wfgateway.routing.registry import RunRegistry

log = logging.getLogger("wfgateway.drift")

# Hop-by-hop (RFC 9110 §7.6.1, plus the proxy-auth pair of the hop to a proxy): never forwarded.
_HOP_BY_HOP = frozenset(
    {b"connection", b"proxy-connection", b"keep-alive", b"te", b"trailer", b"transfer-encoding", b"upgrade",
     b"proxy-authenticate", b"proxy-authorization"}
)
# Also never forwarded: framing we recompute, the client's view of the host, what this hop negotiates.
_DROP_REQUEST = _HOP_BY_HOP | {b"host", b"content-length", b"accept-encoding", b"expect"}
# ... and the upstream's request id: the pipeline answers with its own (one X-Request-Id, the one it logged).
_DROP_RESPONSE = _HOP_BY_HOP | {b"content-length", b"content-encoding", b"date", b"server", b"x-request-id"}
_IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class RawResponse(Response):
    """A response whose headers are already encoded (no re-parsing of what the upstream sent)."""

    def __init__(self, status: int, raw_headers: list[tuple[bytes, bytes]], body: bytes) -> None:
        self.status_code = status
        self.body = body
        self.background = None
        raw_headers.append((b"content-length", str(len(body)).encode()))
        self.raw_headers = raw_headers


class Forwarder(Forwarding):
    """Forwards calls of one route to one same-vendor upstream (built once per route and backend)."""

    def __init__(self, transport: UpstreamTransport, route_timeout_ms: int, stats: RouteStats,
                 registry: RunRegistry, keys: Any, mode: str) -> None:
        self.transport = transport
        self.name = transport.name
        self.timeout_s = route_timeout_ms / 1000
        self.stats = stats
        self.registry = registry
        self.keys = keys  # KeyReader of the dialect: which operations create executions, which are idempotent
        self.mode = mode  # off | report | enforce
        self.strip = frozenset(h.encode() for h in transport.auth.strip)
        self.path_params = transport.settings.path_params
        self.pass_cookies = frozenset(c.encode() for c in transport.settings.pass_cookies)

    async def forward(self, target: Target, call: Call) -> Response:
        started = time.perf_counter()
        stats = self.stats
        stats.requests.inc()
        try:
            response = await self._forward(target, call)
        except Exception as exc:
            stats.error(getattr(exc, "code", type(exc).__name__))
            raise
        finally:
            stats.latency.observe(time.perf_counter() - started)
        return response

    async def _forward(self, target: Target, call: Call) -> Response:
        scope = call.request.scope
        # a HEAD goes upstream as the GET it stands for: this server drops the body (and the upstream
        # pool never has to read a HEAD answer whose Content-Length promises a body that never comes)
        method = "GET" if scope["method"] == "HEAD" else scope["method"]
        raw_path = scope.get("raw_path") or quote(scope["path"]).encode()
        path = raw_path.decode("latin-1").split("?", 1)[0]
        if self.path_params:
            path = _override_path(path, target.validator.operation.path, self.path_params)
        query = scope.get("query_string") or b""
        target_path = path + "?" + query.decode("latin-1") if query else path
        drop = self.strip | _connection_named(scope["headers"])
        takes_body = target.validator.takes_body
        headers = [
            (k.decode("latin-1"), v.decode("latin-1"))
            for k, v in scope["headers"]
            if k not in _DROP_REQUEST and k not in drop and not (takes_body and k == b"content-encoding")
        ]
        op: OperationKeys | None = self.keys.operation(target.operation_id) if self.keys else None
        idempotent = method in _IDEMPOTENT_METHODS or (op is not None and op.idempotent)
        deadline = asyncio.get_running_loop().time() + self.timeout_s  # nothing waits past the route's timeout
        upstream = await self.transport.request(method, target_path, headers=headers, body=call.raw_body or None,
                                                idempotent=idempotent, deadline=deadline)
        if upstream.status >= 500:
            raise upstream_status_error(self.transport.name, upstream.status)
        body = upstream.body
        media = upstream.content_type
        document: Any = None
        problems: list[str]
        if self.mode != "off" or (op is not None and (op.created is not None or op.related is not None)):
            problems = []
            if body and "json" in media:
                try:
                    document = orjson.loads(body)
                except orjson.JSONDecodeError:
                    problems = ["response body is not valid JSON"]
            if self.mode != "off" and not problems:
                problems = target.responses.check(upstream.status, media if body else "", document)
        else:
            problems = []
        out_headers = _end_to_end(upstream.raw_headers, self.pass_cookies)
        if problems:
            self.stats.drift(target.operation_id)
            summary = "; ".join(problems[:3])
            log.warning(json_line({"event": "response_drift", "backend": self.transport.name,
                                   "dialect": target.dialect.name, "operation": target.operation_id,
                                   "problems": problems[:3]}))
            if self.mode == "enforce":
                raise UpstreamError(f"upstream {self.transport.name} answered outside the API contract: {summary}")
            out_headers.append((b"x-wfgateway-drift", header_value(summary)))
        if op is not None and 200 <= upstream.status < 300:
            if op.created is not None:
                created = op.created(body, document if document is not None else _text(body, media))
                if created:
                    await self.registry.record(created, self.transport.name, target.dialect.name,
                                               call.principal.tenant)
            if op.related is not None and document is not None:
                await self._remember(op.related(document), target.dialect.name, call.principal.tenant)
        return RawResponse(upstream.status, out_headers, body)

    async def _remember(self, ids: list[str], dialect: str, tenant: str) -> None:
        """Executions an answer mentions belong to the backend that answered, and to the tenant it
        answered (first writer wins)."""
        for execution_id in dict.fromkeys(ids):
            if await self.registry.owner(execution_id, None) is None:  # recorded for any tenant?
                await self.registry.record(execution_id, self.transport.name, dialect, tenant)


def _connection_named(headers: Any) -> frozenset[bytes]:
    """The header names a ``Connection`` header lists (lower case): hop-by-hop for this hop only."""
    named: set[bytes] = set()
    for k, v in headers:
        if k.lower() == b"connection":
            named.update(t.strip().lower() for t in v.split(b","))
    return frozenset(named)


def _end_to_end(raw: tuple[tuple[bytes, bytes], ...], pass_cookies: frozenset[bytes]) -> list[tuple[bytes, bytes]]:
    """The upstream's headers a client may see: no hop-by-hop ones, no Set-Cookie unless passed on by name."""
    named = _connection_named(raw)
    out = []
    for k, v in raw:
        lk = k.lower()
        if lk in _DROP_RESPONSE or lk in named:
            continue
        if lk == b"set-cookie" and v.split(b"=", 1)[0].strip() not in pass_cookies:
            continue
        out.append((k, v))
    return out


def _text(body: bytes, media: str) -> Any:
    return body.decode("utf-8", "replace") if media.startswith("text/") else None


def _override_path(raw_path: str, template: str, overrides: dict[str, str]) -> str:
    """The raw path with the named path parameters replaced (a Cognite project, say)."""
    segments = raw_path.split("/")
    names = template.split("/")
    if len(segments) != len(names):
        return raw_path
    for i, name in enumerate(names):
        if name.startswith("{") and name.endswith("}") and name[1:-1] in overrides:
            segments[i] = quote(overrides[name[1:-1]], safe="")
    return "/".join(segments)
