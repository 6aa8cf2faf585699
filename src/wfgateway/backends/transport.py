"""HTTP to one upstream vendor: keep-alive connection pools, timeouts, retries, circuit breaker.

The pools are wfgateway.backends.h1 (HTTP/1.1 on asyncio protocols with httptools): on the proxy
path the client side of a pass-through dominates the cost, and a general-purpose client spends
three times the CPU per request there (h1.py says more).

Rules that keep callers safe:
* nothing waits past the caller's deadline (the route's timeout): every attempt's timeouts and
  every backoff sleep are cut to what is left;
* a failed attempt is retried (with jittered backoff) only when the call is idempotent, or when the
  connection was never made (nothing reached the upstream, so nothing can have been applied);
  a rerun or retry that may have been applied is never sent twice;
* a 401 from the upstream drops a cached token and tries once more (nothing was applied).
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import orjson

from wfgateway import tracing
from wfgateway.backends.h1 import H1Error, H1Pool
from wfgateway.backends.resilience import CircuitBreaker, backoff_s
from wfgateway.backends.settings import DEFAULT_ROUTE_TIMEOUT_MS, BackendSettings
from wfgateway.backends.upstream_credentials import UpstreamAuth
from wfgateway.core.errors import Unavailable, UpstreamError, UpstreamTimeout
from wfgateway.exact_json import loads_body
from wfgateway.sanitize import json_line

log = logging.getLogger("wfgateway.upstream")

# The loop time by which the current call must be answered (set per call from the route's timeout).
DEADLINE: contextvars.ContextVar[float | None] = contextvars.ContextVar("wfgateway_deadline", default=None)

_RETRY_STATUSES = frozenset({502, 503, 504})


@dataclass
class UpstreamResponse:
    status: int
    raw_headers: tuple[tuple[bytes, bytes], ...]
    body: bytes

    @property
    def content_type(self) -> str:
        for name, value in self.raw_headers:
            if name.lower() == b"content-type":
                return value.decode("latin-1")
        return ""

    def json(self) -> Any:
        return loads_body(self.body) if self.body else None


class UpstreamTransport:
    """One upstream backend's connection pool and resilience rules."""

    def __init__(self, settings: BackendSettings, auth: UpstreamAuth, on_circuit_change: Any = None) -> None:
        self.settings = settings
        self.name = settings.name
        self.base_url = settings.url
        self.auth = auth
        self.circuit = CircuitBreaker(settings.circuit_failures, settings.circuit_reset_ms,
                                      (lambda state: on_circuit_change(self.name, state)) if on_circuit_change else None)
        self.read_s = settings.timeout_ms / 1000
        self.connect_s = settings.connect_timeout_ms / 1000
        self.inflight = 0
        self.attempt_s = self.connect_s + self.read_s  # one attempt: connect, then the whole answer
        parts = urlsplit(self.base_url)
        self.origin = f"{parts.scheme}://{parts.netloc}"
        self.prefix = parts.path.rstrip("/")  # a base URL may carry a path: every call goes below it
        self._pools: dict[str, H1Pool] = {}
        self.closed = False
        self._static_auth = auth.static_headers

    # -- lifecycle ---------------------------------------------------------------------------------
    def pool(self, origin: str) -> H1Pool:
        """The keep-alive pool of ``origin`` (the upstream's own, or a token endpoint's)."""
        p = self._pools.get(origin)
        if p is None:
            p = self._pools[origin] = H1Pool(origin, limit=self.settings.max_connections,
                                             max_body_bytes=self.settings.max_response_bytes)
        return p

    async def close(self) -> None:
        self.closed = True
        pools, self._pools = list(self._pools.values()), {}
        for p in pools:
            await p.close()

    async def drain_and_close(self, limit_s: float) -> None:
        """Close once the calls in flight have finished (they finish on this transport)."""
        loop = asyncio.get_running_loop()
        end = loop.time() + limit_s
        while self.inflight and loop.time() < end:
            await asyncio.sleep(0.05)
        await self.close()

    def url(self, path_and_query: str) -> str:
        """An already-encoded path (and query) on the upstream, kept byte for byte."""
        return self.base_url + path_and_query

    def deadline(self, timeout_ms: int | None = None) -> float:
        """The deadline of the current call: the one set for it, else ``timeout_ms`` from now."""
        d = DEADLINE.get()
        if d is not None:
            return d
        return asyncio.get_running_loop().time() + (timeout_ms or DEFAULT_ROUTE_TIMEOUT_MS) / 1000

    # -- requests ----------------------------------------------------------------------------------
    async def request(
        self, method: str, url: str, *, headers: Any = None, body: bytes | None = None,
        idempotent: bool, deadline: float | None = None, authenticate: bool = True,
    ) -> UpstreamResponse:
        """Send, with retries and the breaker; UpstreamResponse for any answer below 500 (and for a
        5xx once retries are spent).  Raises Unavailable (no connection, circuit open),
        UpstreamTimeout (deadline passed) or UpstreamError (connection reset)."""
        if deadline is None:
            deadline = self.deadline()
        if url.startswith("/"):
            pool, target = self.pool(self.origin), self.prefix + url
        else:
            parts = urlsplit(url)
            pool = self.pool(f"{parts.scheme}://{parts.netloc}")
            target = (parts.path or "/") + ("?" + parts.query if parts.query else "")
        if tracing.TRACER is not None:
            with tracing.span("upstream", {"wfgateway.backend": self.name, "http.request.method": method}):
                return await self._request(pool, method, target, _traced(headers), body, idempotent, deadline,
                                           authenticate)
        return await self._request(pool, method, target, headers, body, idempotent, deadline, authenticate)

    async def _request(self, pool: Any, method: str, target: str, headers: Any, body: bytes | None,
                       idempotent: bool, deadline: float, authenticate: bool) -> UpstreamResponse:
        loop = asyncio.get_running_loop()
        attempt = 0
        reauthenticated = False
        self.inflight += 1
        try:
            while True:
                attempt += 1
                if not self.circuit.allow():
                    raise Unavailable(f"upstream {self.name} is unavailable (circuit open after repeated failures)")
                remaining = deadline - loop.time()
                if remaining <= 0:
                    self.circuit.release()
                    raise UpstreamTimeout(f"upstream {self.name} did not answer in time")
                try:
                    send_headers = headers
                    if authenticate:
                        auth_headers: Mapping[str, str] | None = self._static_auth
                        if auth_headers is None:
                            auth_headers = await self.auth.headers(self)
                        if auth_headers:
                            send_headers = _with(headers, auth_headers)
                    answer = await pool.request(method, target, send_headers, body,
                                                timeout=min(self.attempt_s, remaining),
                                                connect_timeout=min(self.connect_s, remaining))
                    response = UpstreamResponse(answer.status, answer.raw_headers, answer.body)
                except H1Error as failure:
                    self.circuit.failure()
                    retry = (attempt <= self.settings.retries and (idempotent or not failure.sent)
                             and failure.kind != "too_large")  # the same answer would come again
                    if retry and await _sleep_within(loop, deadline, attempt):
                        log.info(json_line({"event": "upstream_retry", "backend": self.name,
                                            "failure": failure.detail, "attempt": attempt}))
                        continue
                    raise _as_error(self.name, failure) from None
                except BaseException:
                    self.circuit.release()
                    raise
                if response.status >= 500:
                    self.circuit.failure()
                    if (idempotent and response.status in _RETRY_STATUSES and attempt <= self.settings.retries
                            and await _sleep_within(loop, deadline, attempt)):
                        continue
                    return response
                self.circuit.success()
                if response.status == 401 and authenticate and not reauthenticated and self.auth.invalidate():
                    reauthenticated = True
                    attempt -= 1
                    continue
                return response
        finally:
            self.inflight -= 1

    async def fetch_json(self, method: str, url: str, *, form: Mapping[str, str] | None = None,
                         json: Any = None, headers: Mapping[str, str] | None = None) -> tuple[int, Any]:
        """A small unauthenticated JSON exchange (token endpoints); connection errors -> Unavailable."""
        body = None
        h = dict(headers or {})
        if form is not None:
            from urllib.parse import urlencode

            body = urlencode(form).encode()
            h["Content-Type"] = "application/x-www-form-urlencoded"
        elif json is not None:
            body = orjson.dumps(json)
            h["Content-Type"] = "application/json"
        resp = await self.request(method, url, headers=h, body=body, idempotent=False, authenticate=False)
        try:
            return resp.status, orjson.loads(resp.body) if resp.body else None
        except orjson.JSONDecodeError:
            return resp.status, resp.body.decode("utf-8", "replace")


def _traced(headers: Any) -> Any:
    """``headers`` with the current span's ``traceparent`` in place of any the client sent."""
    trace_headers = tracing.outgoing()
    drop = {"traceparent", "tracestate"}
    if headers is None:
        return trace_headers
    if isinstance(headers, list):
        kept = [(k, v) for k, v in headers
                if (k.decode("latin-1") if isinstance(k, bytes) else str(k)).lower() not in drop]
        return [*kept, *((k.encode(), v.encode()) for k, v in trace_headers.items())]
    return {**{k: v for k, v in headers.items() if str(k).lower() not in drop}, **trace_headers}


def _with(headers: Any, extra: Mapping[str, str]) -> Any:
    if headers is None:
        return dict(extra)
    if isinstance(headers, list):
        return [*headers, *extra.items()]
    return {**headers, **extra}


async def _sleep_within(loop: asyncio.AbstractEventLoop, deadline: float, attempt: int) -> bool:
    """Back off before the next attempt; False when the deadline leaves no room for one."""
    pause = backoff_s(attempt)
    if loop.time() + pause >= deadline:
        return False
    await asyncio.sleep(pause)
    return True


def _as_error(name: str, failure: H1Error) -> Exception:
    if failure.kind == "connect":
        return Unavailable(f"upstream {name} is unreachable ({failure.detail})")
    if failure.kind == "timeout":
        return UpstreamTimeout(f"upstream {name} did not answer in time")
    if failure.kind == "too_large":
        return UpstreamError(f"upstream {name} answered too much: {failure.detail}")
    return UpstreamError(f"upstream {name}: {failure.detail}")


def upstream_status_error(name: str, status: int) -> Exception:
    """The dialect error for an upstream 5xx: 503 and 504 keep their meaning, the rest is 502."""
    if status == 503:
        return Unavailable(f"upstream {name} answered 503 (unavailable)")
    if status == 504:
        return UpstreamTimeout(f"upstream {name} answered 504 (gateway timeout)")
    return UpstreamError(f"upstream {name} answered {status}")
