"""The request path: route, read, authenticate, validate, dispatch, render errors.

A plain ASGI callable rather than Starlette middleware so that each request does only the work it
needs: one trie lookup, one compiled validator call per part, one handler call.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

import orjson
from starlette.requests import Request
from starlette.responses import Response

from wfgateway import tracing
from wfgateway.contract.routes import Match, PathTrie, WrongMethod
from wfgateway.contract.validators import RequestValidator, ResponseValidator
from wfgateway.core.backend import Backend
from wfgateway.core.errors import (
    ErrorContext,
    GatewayError,
    InternalError,
    MalformedBody,
    MethodNotAllowed,
    RouteNotFound,
    Unavailable,
    UnsupportedMediaType,
    ValidationFailed,
    Violation,
)
from wfgateway.dialect import Call, Handler
from wfgateway.exact_json import loads_body
from wfgateway.hygiene import as_utf8, decode_body, log_access, read_body, request_id
from wfgateway.redaction import Redactor
from wfgateway.request_metrics import RequestCounts
from wfgateway.sanitize import header_value, json_line

if TYPE_CHECKING:
    from wfgateway.adapter import Dialect
    from wfgateway.gateway import GatewayContext

log = logging.getLogger("wfgateway")


@dataclass
class Target:
    """Everything the request path needs for one operation, built at start."""

    dialect: Dialect
    operation_id: str
    validator: RequestValidator
    responses: ResponseValidator
    handler: Handler


RETRY_AFTER_S = "1"  # seconds, on every 503: SDKs that honour Retry-After come back after it

class Forwarding:
    """What ``select_backend`` returns instead of a Backend when a call bypasses its handler: a
    same-vendor upstream gets the validated request raw and answers it itself."""

    name: str = "upstream"  # the backend's name in config.yaml (traces)

    async def forward(self, target: Target, call: Call) -> Response:
        raise NotImplementedError


BackendSelector = Callable[[Target, Call], Awaitable["Backend | Forwarding"]]
"""Where a call goes (wfgateway.routing.router.Router.select): a Backend for the handler, or a
Forwarding that answers the call itself."""


class Pipeline:
    """Serves every dialect's operations plus a few gateway routes (health, specs, metrics)."""

    def __init__(self, gateway: GatewayContext, select_backend: BackendSelector, *, max_body_bytes: int,
                 response_validation: str, access_log: bool, redactor: Redactor | None = None) -> None:
        self.gateway = gateway
        self.select_backend = select_backend
        self.trie: PathTrie[Target] = PathTrie()
        self.prefixes: list[tuple[str, Dialect]] = []
        self.extra_routes: dict[tuple[str, str], Any] = {}
        self.mounts: list[tuple[str, Any]] = []  # (path prefix, ASGI app): the console, the docs pages
        self.targets: dict[tuple[str, str], Target] = {}  # (dialect, operationId) -> its target
        self.max_body = max_body_bytes
        self.response_validation = response_validation or "off"
        self.access_log = access_log
        # credentials the specs mark in paths and queries (the context's, so that the console and
        # anything else writing a path masks the same way)
        self.redactor = redactor or Redactor()
        self.request_counts = RequestCounts()  # every answer, for /metrics

    def add_dialect(self, dialect: Dialect, targets: list[Target], unserved: list[str] | tuple[str, ...] = ()) -> None:
        for t in targets:
            self.targets[(dialect.name, t.operation_id)] = t
            op = t.validator.operation
            self.trie.add(op.path, op.method, t)
            secret = [p for p in op.parameters if p.credential]
            if secret:
                self.redactor.declare(op.path, [p.name for p in secret if p.location == "path"],
                                      [p.name for p in secret if p.location == "query"])
        for template in unserved:
            self.trie.reserve(template)
        for prefix in dialect.path_prefixes:
            self.prefixes.append((prefix, dialect))
        self.prefixes.sort(key=lambda p: len(p[0]), reverse=True)

    def add_route(self, method: str, path: str, endpoint: Any) -> None:
        """A gateway-level route (``endpoint(request) -> Response``), outside every dialect."""
        self.extra_routes[(method, path)] = endpoint

    def add_mount(self, prefix: str, app: Any) -> None:
        """An ASGI app serving every path under ``prefix`` (outside every dialect)."""
        self.mounts.append((prefix.rstrip("/"), app))

    def _served_instead(self, dialect: Dialect | None) -> str:
        """Where an unserved path's caller can look: pages this gateway serves (someone who installed the
        wheel has no docs/compatibility.md), and what each dialect serves when the path is no dialect's."""
        docs = self.mount_for("/docs") is not None
        if dialect is not None:
            if not docs:
                return "docs/compatibility.md lists the operations it serves"
            return (f"/docs/{dialect.name} lists the {dialect.name} operations it serves "
                    "(docs/compatibility.md compares them with the vendor's)")
        served: dict[str, list[str]] = {}
        for prefix, d in sorted(self.prefixes, key=lambda p: p[0]):
            served.setdefault(d.name, []).append(prefix)
        where = [f"{name} under {', '.join(prefixes)}" for name, prefixes in served.items()]
        if docs:
            where.append("/docs lists their operations")
        if self.mount_for("/console") is not None:
            where.append("/console/ is the web console")
        where.append("docs/compatibility.md compares them with the vendors'")
        return ("it serves " if served else "") + "; ".join(where)

    def mount_for(self, path: str) -> Any:
        for prefix, app in self.mounts:
            if path == prefix or path.startswith(prefix + "/"):
                return app
        return None

    def dialect_for(self, path: str) -> Dialect | None:
        for prefix, dialect in self.prefixes:
            if path.startswith(prefix):
                return dialect
        return None

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        started = time.perf_counter()
        headers = _headers(scope)
        rid = request_id(headers.get("x-request-id"))
        method = scope["method"]
        path = scope["path"]
        status_holder = [0]

        async def send_with_id(message: MutableMapping[str, Any]) -> None:
            if message["type"] == "http.response.start":
                status_holder[0] = message["status"]
                message["headers"] = [*message.get("headers", []), (b"x-request-id", rid.encode())]
            await send(message)

        record: dict[str, Any] = {"request_id": rid, "method": method, "path": self.redactor.path(path)}
        if tracing.TRACER is None:
            await self._serve(scope, receive, send_with_id, headers, rid, record)
        else:
            with tracing.request_span(method, record["path"], headers) as span:
                await self._serve(scope, receive, send_with_id, headers, rid, record)
                trace_id = tracing.finish_request(span, record, status_holder[0])
            if trace_id:
                record["trace_id"] = trace_id
        self.request_counts.add(record.get("dialect", "-"), record.get("operation", "-"), status_holder[0])
        if self.access_log:
            record["status"] = status_holder[0]
            log_access(record, started)

    async def _serve(self, scope: dict[str, Any], receive: Any, send: Any, headers: dict[str, str], rid: str,
                     record: dict[str, Any]) -> None:
        method, path = scope["method"], scope["path"]
        extra = self.extra_routes.get((method, path))
        mounted = self.mount_for(path) if extra is None and self.mounts else None
        if extra is not None:
            response = await extra(Request(scope, receive))
            await response(scope, receive, send)
        elif mounted is not None:
            await mounted(scope, receive, send)
        else:
            response = await self._dispatch(scope, receive, headers, rid, record)
            await response(scope, receive, send)

    async def _dispatch(
        self, scope: dict[str, Any], receive: Any, headers: dict[str, str], rid: str, record: dict[str, Any]
    ) -> Response:
        path = scope["path"]
        raw_path = scope.get("raw_path")
        raw = raw_path.decode("latin-1").split("?", 1)[0] if raw_path else path
        found = self.trie.lookup(raw, scope["method"])
        if not isinstance(found, Match):
            dialect = self.dialect_for(path)
            if isinstance(found, WrongMethod):
                allow = found.allow
                error: GatewayError = MethodNotAllowed(
                    f"Request method '{scope['method']}' is not supported", allow=allow
                )
            else:
                error = RouteNotFound(f"wfgateway does not serve {scope['method']} {path}; "
                                      + self._served_instead(dialect))
            return self._render(dialect, error, path, rid)
        target = found.target
        dialect = target.dialect
        record["dialect"] = dialect.name
        record["operation"] = target.operation_id
        try:
            request = Request(scope, receive)
            principal = await dialect.authenticate(request, target.operation_id)
            record["tenant"] = principal.tenant
            validator = target.validator
            raw_body = await read_body(receive, self.max_body, headers.get("content-length"))
            with tracing.span("validate"):
                p_path, p_query, p_header = validator.params(
                    found.params, parse_qsl(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True),
                    headers,
                )
                body = None
                if validator.takes_body:
                    body, raw_body = self._parse_body(validator, headers, raw_body)
            request._body = raw_body  # handlers may read it again through Starlette
            call = Call(
                request=request, operation_id=target.operation_id, path=p_path, query=p_query, headers=p_header,
                body=body, raw_body=raw_body, principal=principal, backend=self.gateway.engine, gateway=self.gateway,
                target=target,
            )
            selected = await self.select_backend(target, call)
            forwarded = isinstance(selected, Forwarding)
            if tracing.TRACER is not None:
                record["backend"] = selected.name
            if isinstance(selected, Forwarding):  # same-vendor upstream: the request goes out raw, the handler is bypassed
                response = await selected.forward(target, call)
            else:
                call.backend = selected
                response = await target.handler(call)
        except GatewayError as exc:
            return self._render(dialect, exc, path, rid)
        except Exception:
            log.exception("unhandled error in %s (request %s)", target.operation_id, rid)
            return self._render(dialect, InternalError("Internal server error"), path, rid)
        if self.response_validation != "off" and not forwarded:  # a forwarder checks its own answers
            response = self._check_response(target, response, path, rid)
        return response

    def _parse_body(self, validator: RequestValidator, headers: dict[str, str], raw: bytes) -> tuple[Any, bytes]:
        raw = decode_body(raw, headers.get("content-encoding"), self.max_body)
        op = validator.operation
        if not raw:
            if op.body_required:
                raise ValidationFailed(
                    "request body is required", violations=[Violation("body", "", "request body is required")]
                )
            return None, raw
        ctype = headers.get("content-type", "").split(";")[0].strip().lower()
        media = ctype if ctype in op.body_media else None
        if media is None:
            if not ctype and validator.json_media:
                media = validator.json_media
            elif ctype.endswith("+json") and validator.json_media:
                media = validator.json_media
            else:
                accepted = ", ".join(op.body_media)
                raise UnsupportedMediaType(f"Content-Type '{ctype or '(none)'}' is not supported; use {accepted}")
        text = as_utf8(raw, headers.get("content-type", ""))  # raw itself is what an upstream is sent
        if "json" in media:
            try:
                document = loads_body(text)
            except orjson.JSONDecodeError as exc:
                if not op.plain_text_body:
                    raise MalformedBody(_json_error(exc)) from exc
                try:
                    document = text.decode("utf-8")
                except UnicodeDecodeError:
                    raise MalformedBody(NOT_UTF8) from exc
        else:
            try:
                document = text.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise MalformedBody(NOT_UTF8) from exc
        validator.body(media, document)
        return document, raw

    def _check_response(self, target: Target, response: Response, path: str, rid: str) -> Response:
        body = getattr(response, "body", b"")
        media = response.headers.get("content-type", "")
        try:
            document = loads_body(body) if body and "json" in media else None
        except orjson.JSONDecodeError:
            document = None
            problems = ["response body is not valid JSON"]
        else:
            # an empty body has no media type, except an empty text (a bare id's "nothing" answer)
            problems = target.responses.check(response.status_code, media if body or "text/" in media else "",
                                              document)
        if not problems:
            return response
        log.warning(json_line({"event": "response_drift", "dialect": target.dialect.name,
                               "operation": target.operation_id, "problems": problems[:5]}))
        if self.response_validation == "enforce":
            from wfgateway.core.errors import UpstreamError

            return self._render(target.dialect, UpstreamError("Response does not match the API contract: "
                                                             + "; ".join(problems[:3])), path, rid)
        response.raw_headers.append((b"x-wfgateway-drift", header_value("; ".join(problems[:3]))))
        return response

    def _render(self, dialect: Dialect | None, error: GatewayError, path: str, rid: str) -> Response:
        error.message = self.redactor.text(error.message, path)
        path = self.redactor.path(path)
        if dialect is None:
            response: Response = Response(
                orjson.dumps({"error": {"code": error.status, "message": error.message}}),
                status_code=error.status, media_type="application/json",
            )
        else:
            try:
                response = dialect.render_error(error, ErrorContext(path=path, request_id=rid))
            except Exception:  # a renderer bug must not turn a clean 4xx into a crash
                log.exception("render_error of %s failed (request %s)", dialect.name, rid)
                response = Response(orjson.dumps({"error": {"code": error.status, "message": error.message}}),
                                    status_code=error.status, media_type="application/json")
        if isinstance(error, MethodNotAllowed):
            response.headers["allow"] = ", ".join(error.allow)
        if isinstance(error, Unavailable) and "retry-after" not in response.headers:
            response.headers["retry-after"] = RETRY_AFTER_S  # a store or backend outage: come back soon
        return response


def _headers(scope: dict[str, Any]) -> dict[str, str]:
    return {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}


NOT_UTF8 = "request body is not valid UTF-8 (send UTF-8, or name the body's charset in Content-Type)"


def _json_error(exc: orjson.JSONDecodeError) -> str:
    """orjson's reason, except for bytes that are not UTF-8, which it words as a string problem."""
    reason = str(exc.args[0] if exc.args else exc)
    return NOT_UTF8 if "not valid UTF-8" in reason else f"malformed JSON body: {reason}"
