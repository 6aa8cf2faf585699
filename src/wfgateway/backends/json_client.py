"""One JSON call to an upstream vendor, shared by every adapter's client half (adapters/<vendor>/client.py).

A client half translates canonical operations into its vendor's REST calls; what stays the same for
every vendor lives here: the request (JSON body, query string, Accept), the answer (JSON, or text
where the vendor speaks text/plain too), and one mapping from the upstream's HTTP status to the core
errors, so a 404 upstream is a NotFound in whichever dialect the caller speaks.  The adapter supplies
only what differs: how to read the error message out of its vendor's error body.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlencode

import orjson

from wfgateway.backends.transport import UpstreamTransport, upstream_status_error
from wfgateway.core.errors import (
    Conflict,
    Forbidden,
    GatewayError,
    InvalidArgument,
    NotFound,
    NotImplementedByBackend,
    Unauthorized,
    UpstreamError,
)
from wfgateway.exact_json import dumps, loads_body

# An upstream 4xx is the caller's request failing upstream: it keeps its meaning (any other is a 502).
STATUS_ERRORS: Mapping[int, type[GatewayError]] = {
    400: InvalidArgument, 401: Unauthorized, 403: Forbidden, 404: NotFound, 409: Conflict, 422: InvalidArgument,
}

# Reads the vendor's message from its parsed error body (a JSON document, never None).
ErrorMessage = Callable[[Any], object]


def top_level_message(doc: Any) -> object:
    """The commonest error body: ``{"message": "..."}`` (Conductor, Altostrat)."""
    return doc.get("message") if isinstance(doc, dict) else None


def status_error(status: int, message: str) -> GatewayError:
    """The core error for an upstream 4xx answer."""
    return STATUS_ERRORS.get(status, UpstreamError)(message)


def refusal(vendor: str) -> Callable[[str, str], NotImplementedByBackend]:
    """The vendor's ``refuse(operation, what)``: a call its upstream cannot express, named for the caller."""

    def refuse(operation: str, what: str) -> NotImplementedByBackend:
        return NotImplementedByBackend(f"{operation} cannot be translated for the {vendor} upstream: {what}")

    return refuse


def _query(query: Mapping[str, Any] | None) -> str:
    """``?a=b`` without the unset values; booleans as JSON spells them (``true``)."""
    q = {k: (str(v).lower() if isinstance(v, bool) else v) for k, v in (query or {}).items() if v is not None}
    return "?" + urlencode(q) if q else ""


def _json_or_none(body: bytes) -> Any:
    try:
        return loads_body(body)
    except orjson.JSONDecodeError:
        return None


class JsonUpstream:
    """JSON calls to one upstream over its transport (pool, retries, credentials).

    ``plain_text``: the vendor answers some calls in text/plain (Conductor's new workflow id, its
    plain error strings): such a body is returned as text, or is the error message, instead of dropped.
    """

    def __init__(self, transport: UpstreamTransport, vendor: str, *,
                 error_message: ErrorMessage = top_level_message, plain_text: bool = False) -> None:
        self.transport = transport
        self.vendor = vendor
        self.error_message = error_message
        self.plain_text = plain_text
        self.accept = "application/json, text/plain" if plain_text else "application/json"

    async def call(self, method: str, path: str, *, query: Mapping[str, Any] | None = None, body: Any = None,
                   headers: Mapping[str, str] | None = None, idempotent: bool | None = None) -> Any:
        """The decoded answer (None for an empty one); an error answer raises its core error.

        ``idempotent`` defaults to GET only: anything else is retried only when it never reached the upstream.
        """
        h = {"Accept": self.accept, **(headers or {})}
        data = None
        if body is not None:
            data = dumps(body)
            h["Content-Type"] = "application/json"
        resp = await self.transport.request(method, path + _query(query), headers=h, body=data,
                                            idempotent=method == "GET" if idempotent is None else idempotent)
        if resp.status >= 500:
            raise upstream_status_error(self.transport.name, resp.status)
        if resp.status >= 400:
            raise self._error(resp.status, resp.body)
        if not resp.body:
            return None
        if "json" in resp.content_type:
            try:
                return loads_body(resp.body)
            except orjson.JSONDecodeError:
                raise UpstreamError(f"upstream {self.transport.name} answered invalid JSON") from None
        return resp.body.decode("utf-8", "replace") if self.plain_text else None

    def _error(self, status: int, body: bytes) -> GatewayError:
        doc = _json_or_none(body) if body else None
        message = self.error_message(doc) if doc is not None else None
        if doc is None and self.plain_text and body:
            message = body.decode("utf-8", "replace")[:500]
        return status_error(status, str(message or f"{self.vendor} answered {status}"))
