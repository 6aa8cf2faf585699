"""HTTP tasks: the engine itself calls a URL (allow-listed hosts only) and records the answer.

The attempt is claimed with a conditional update before the request is sent (so two processes never
both send it) and carries a lease: if this process dies mid-request, the lease timer (or, for a store
no other process shares, start-up recovery) sends it again.  ``${secrets.x}`` templates are resolved
only here, right before sending; secret values are redacted from what is stored.
"""

from __future__ import annotations

import ipaddress
import logging
from typing import Any
from urllib.parse import SplitResult, urlsplit

import httpx
import orjson

from wfgateway import tracing
from wfgateway.core.statuses import TaskStatus
from wfgateway.engine.context import EngineContext
from wfgateway.engine.ending import finish
from wfgateway.engine.state import AttRec
from wfgateway.engine.store.base import Claim
from wfgateway.engine.templates import redact, resolve_secrets, secret_names
from wfgateway.engine.unit import Unit
from wfgateway.engine.util import new_id, now_ms, reason_of
from wfgateway.exact_json import dumps, loads_body

log = logging.getLogger("wfgateway.engine")
# A request's time-out at most Java's int milliseconds (~24.8 days; Conductor's HttpTask.Input), so a
# lease instant stays a 64-bit integer however large a time-out a definition names.
MAX_TIMEOUT_MS = 2**31 - 1
REQUEST_KEYS = ("method", "url", "headers", "body", "timeout_ms")
LEASE_GRACE_MS = 5000


class HostPolicy:
    """Allow-list of host names (``localhost``, ``*.example.com``, ``*``) and CIDR networks."""

    def __init__(self, entries: list[str]) -> None:
        self.nets: list[ipaddress.IPv4Network | ipaddress.IPv6Network] = []
        self.names: set[str] = set()
        self.suffixes: list[str] = []
        self.any = False
        for entry in entries:
            entry = entry.strip().lower()
            if entry == "*":
                self.any = True
            elif entry.startswith("*."):
                self.suffixes.append(entry[1:])
            else:
                try:
                    self.nets.append(ipaddress.ip_network(entry, strict=False))
                except ValueError:
                    self.names.add(entry)

    def allows(self, host: str) -> bool:
        host = host.strip("[]").lower()
        if self.any:
            return True
        try:
            ip = ipaddress.ip_address(host)
        except ValueError:
            return host in self.names or any(host.endswith(s) for s in self.suffixes)
        return any(ip in net for net in self.nets)


def request_of(rec: AttRec) -> dict[str, Any]:
    """The request: resolved params, falling back to the attempt's input for keys params leave out
    (so an adapter may carry the request in the task input, and a rerun's task_input can replace it)."""
    params = dict(rec.params or {})
    for k in REQUEST_KEYS:
        if k not in params and k in rec.a.input:
            params[k] = rec.a.input[k]
    return params


class HttpRunner:
    def __init__(self, ctx: EngineContext, allow: list[str], timeout_ms: int) -> None:
        self.ctx = ctx
        self.policy = HostPolicy(allow)
        self.timeout_ms = timeout_ms
        self.client: httpx.AsyncClient | None = None

    @property
    def owner(self) -> str:
        return f"engine:{self.ctx.instance_id}"

    async def open(self) -> None:
        self.client = httpx.AsyncClient(follow_redirects=False, trust_env=False)

    async def close(self) -> None:
        if self.client is not None:
            await self.client.aclose()
            self.client = None

    async def recover(self) -> None:
        """Send again what a previous process left queued or (for an unshared store) in flight."""
        store = self.ctx.store
        now = now_ms()
        for row in await store.attempts_in("http", ["SCHEDULED", "IN_PROGRESS"]):
            rec = AttRec.from_row(row)
            if rec.a.status is TaskStatus.SCHEDULED and rec.a.callback_after_ms <= now:
                self.ctx.spawn(self.run(rec.key))
            elif rec.a.status is TaskStatus.IN_PROGRESS and self.ctx.recover_inflight:
                self.ctx.spawn(self.run(rec.key, reclaim=True))

    def _timeout(self, req: dict[str, Any], rec: AttRec) -> int:
        t = req.get("timeout_ms") or self.timeout_ms
        try:
            return min(max(int(t), 1), MAX_TIMEOUT_MS)
        except (TypeError, ValueError, OverflowError):
            return self.timeout_ms

    async def run(self, key: str, *, reclaim: bool = False) -> None:
        try:
            await self._run(key, reclaim)
        except Exception:  # never let a task crash the loop; the lease re-sends it
            log.exception("http task %s failed unexpectedly", key)

    async def _run(self, key: str, reclaim: bool) -> None:
        store = self.ctx.store
        row = await store.attempt_by_key(key)
        if row is None:
            return
        rec = AttRec.from_row(row)
        a = rec.a
        now = now_ms()
        if not a.visible or a.callback_after_ms > now:
            return
        if a.status is not (TaskStatus.IN_PROGRESS if reclaim else TaskStatus.SCHEDULED):
            return
        req = request_of(rec)
        timeout = self._timeout(req, rec)
        lease_until = now + timeout + LEASE_GRACE_MS
        claim = Claim(
            key=key, execution_id=a.execution_id, expect_status=a.status.value,
            expect_worker=a.worker_id if reclaim else None,
            sets={"status": "IN_PROGRESS", "worker_id": self.owner, "started_ms": a.started_ms or now,
                  "updated_ms": now, "lease_until_ms": lease_until, "poll_count": a.poll_count + 1},
            timers=[(new_id(), lease_until, a.execution_id, key, "lease", None)],
        )
        if not await store.claim([claim]):
            return
        self.ctx.timers.arm(lease_until)
        self.ctx.changed(a.execution_id)
        status, output, reason = await self._call(req, rec.tenant, timeout)
        await self._record(key, a.execution_id, status, output, reason)

    async def _call(self, req: dict[str, Any], tenant: str, timeout_ms: int
                    ) -> tuple[TaskStatus, dict[str, Any], str | None]:
        secrets: list[str] = []
        asked = {k: req.get(k) for k in ("method", "url", "headers", "body")}
        try:
            known = {name: await self.ctx.hooks.resolve_secret(tenant, name) for name in secret_names(asked)}
            resolved = resolve_secrets(asked, known.get, secrets)
        except Exception as exc:
            return TaskStatus.FAILED, {}, f"Cannot resolve the request's secrets: {reason_of(exc)}"
        method = str(resolved.get("method") or "GET").upper()
        url = resolved.get("url")
        if not isinstance(url, str) or not url:
            return TaskStatus.FAILED, {}, "The HTTP task has no url"
        parts = _parsed(url)
        if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
            return TaskStatus.FAILED, {}, redact(f"Unsupported URL '{url}' (http or https only)", secrets)
        if not self.policy.allows(parts.hostname):
            return (TaskStatus.FAILED, {},
                    f"Host '{parts.hostname}' is not allowed for HTTP tasks (tasks.http.allow in config.yaml)")
        headers = {str(k): str(v) for k, v in (resolved.get("headers") or {}).items()} \
            if isinstance(resolved.get("headers"), dict) else {}
        body = resolved.get("body")
        kwargs: dict[str, Any] = {}
        if body is not None:
            if isinstance(body, (bytes, str)):
                kwargs["content"] = body
            else:
                kwargs["content"] = dumps(body)
                if not any(k.lower() == "content-type" for k in headers):
                    headers["Content-Type"] = "application/json"
        assert self.client is not None
        try:
            with tracing.span("http_task", {"http.request.method": method, "server.address": parts.hostname}):
                headers.update(tracing.outgoing())  # W3C traceparent: the task's call joins the trace
                resp = await self.client.request(method, url, headers=headers, timeout=timeout_ms / 1000, **kwargs)
        except httpx.TimeoutException:
            return TaskStatus.TIMED_OUT, {}, f"HTTP request timed out after {timeout_ms} ms"
        except (httpx.HTTPError, httpx.InvalidURL, UnicodeError) as exc:  # UnicodeError: a non-ASCII header
            return TaskStatus.FAILED, {}, redact(f"HTTP request failed: {type(exc).__name__}: {exc}", secrets)
        output = {"status": resp.status_code, "headers": dict(resp.headers), "body": _decode_body(resp)}
        output = redact(output, secrets)
        if 200 <= resp.status_code < 300:
            return TaskStatus.COMPLETED, output, None
        return TaskStatus.FAILED, output, redact(f"HTTP {resp.status_code} from {method} {url}", secrets)

    async def _record(self, key: str, execution_id: str, status: TaskStatus, output: dict[str, Any],
                      reason: str | None) -> None:
        owner = self.owner

        async def op(unit: Unit) -> None:
            st = await unit.load(execution_id)
            if st is None:
                return
            rec = next((r for r in st.all if r.key == key), None)
            if rec is None or not rec.a.visible or rec.a.status is not TaskStatus.IN_PROGRESS \
                    or rec.a.worker_id != owner:
                return  # superseded, terminated or taken over meanwhile: the answer is dropped
            finish(rec, status, unit.now, output=output, reason=reason)
            rec.a.lease_until_ms = 0
            st.needs_decide = True

        await self.ctx.run(op)


def _parsed(url: str) -> SplitResult | None:
    """The parts of ``url``; None when no request can be made of it (an unclosed IPv6 bracket, a port that
    is no number or past 65535 -- urllib checks the port only when it is read)."""
    try:
        parts = urlsplit(url)
        _ = parts.port
    except ValueError:
        return None
    return parts


def _decode_body(resp: httpx.Response) -> Any:
    ctype = resp.headers.get("content-type", "")
    text = resp.content
    if "json" in ctype or text[:1] in (b"{", b"["):
        try:
            return loads_body(text)
        except orjson.JSONDecodeError:
            pass
    try:
        return text.decode(resp.encoding or "utf-8")
    except (UnicodeDecodeError, LookupError):
        return text.decode("latin-1")
