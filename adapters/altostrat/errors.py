"""Altostrat's error body, ``{type, code, message, doc_url}``, for every GatewayError.

Altostrat is a Laravel application: validation failures answer 422, unknown records 404, a missing
or bad token 401 with ``Unauthenticated.``.  A handler may pick a specific ``code`` by putting it in
``error.details["code"]``.
"""

from __future__ import annotations

import json
import re
from typing import Any

from starlette.responses import Response

from wfgateway.core import errors as E
from wfgateway.exact_json import dumps

DOC_BASE = "https://docs.altostrat.io/errors/"

_REQUIRED = re.compile(r'^"([^"]+)" is a required property')
SECRET_FIELDS = frozenset({"secret"})  # values an answer never repeats (the vault's secret)
ECHO_MAX = 80  # longer values are not repeated in a message (a 100,000-character name would come back whole)
_TAIL = re.compile(r"[\]}] (has (?:less|more) than \d+ (?:items?|propert(?:y|ies))|is not of type \S+)$")
MESSAGE_MAX = 500  # no message is longer (an id in a path can be as long as the URL)

# error class -> (status, type, code)
_TABLE: list[tuple[type[E.GatewayError], int, str, str]] = [
    (E.ValidationFailed, 422, "invalid_request_error", "parameter_invalid"),
    (E.MalformedBody, 400, "invalid_request_error", "invalid_json"),
    (E.Unauthorized, 401, "authentication_error", "unauthenticated"),
    (E.Forbidden, 403, "permission_error", "forbidden"),
    (E.RouteNotFound, 404, "invalid_request_error", "route_not_found"),
    (E.NotFound, 404, "invalid_request_error", "resource_missing"),
    (E.MethodNotAllowed, 405, "invalid_request_error", "method_not_allowed"),
    (E.Conflict, 409, "invalid_request_error", "conflict"),
    (E.PayloadTooLarge, 413, "invalid_request_error", "payload_too_large"),
    (E.UnsupportedMediaType, 415, "invalid_request_error", "unsupported_media_type"),
    (E.InvalidArgument, 422, "invalid_request_error", "parameter_invalid"),
    (E.TooManyRequests, 429, "rate_limit_error", "rate_limited"),
    (E.NotImplementedByBackend, 501, "api_error", "not_implemented"),
    (E.UpstreamError, 502, "api_error", "bad_gateway"),
    (E.Unavailable, 503, "api_error", "service_unavailable"),
    (E.UpstreamTimeout, 504, "api_error", "gateway_timeout"),
]


def classify(error: E.GatewayError) -> tuple[int, str, str]:
    for cls, status, kind, code in _TABLE:
        if isinstance(error, cls):
            return status, kind, error.details.get("code") or code
    if error.status >= 500:
        return error.status, "api_error", error.details.get("code") or "internal_error"
    return error.status, "invalid_request_error", error.details.get("code") or error.code


def _parameter(v: E.Violation) -> str:
    """A violation's parameter name as Laravel writes it: ``nodes.0.id``."""
    parts = [p for p in v.pointer.split("/") if p != ""]
    missing = _REQUIRED.match(v.message)
    if missing:
        parts.append(missing.group(1))
    return ".".join(parts) or v.location


def _problem(v: E.Violation, name: str) -> str | None:
    """What is wrong with the value, without repeating the value when it is a secret or long:
    ``the value is longer than 2000 characters`` rather than the 2,000 characters themselves."""
    value = v.value
    sensitive = name.rsplit(".", 1)[-1] in SECRET_FIELDS
    if not isinstance(value, str):
        if len(v.message) <= ECHO_MAX:
            return v.message
        tail = _TAIL.search(v.message)  # an object or array: what follows its JSON, if anything
        return "the value " + tail.group(1) if tail else None
    if not sensitive and len(value) <= ECHO_MAX:
        return v.message
    shown = json.dumps(value, ensure_ascii=False)
    if v.message.startswith(shown):
        return "the value" + v.message[len(shown):]
    return None if sensitive or value in v.message else v.message


def _bounded(message: str) -> str:
    return message if len(message) <= MESSAGE_MAX else message[:MESSAGE_MAX - 1] + "…"


def validation_message(error: E.ValidationFailed) -> tuple[str, str]:
    """(code, message) for the first violation: ``parameter_missing`` or ``parameter_invalid``."""
    if not error.violations:
        return "parameter_invalid", error.message
    first = error.violations[0]
    name = _parameter(first)
    if _REQUIRED.match(first.message) or first.message == "request body is required":
        if first.message == "request body is required":
            return "parameter_missing", "A request body is required for this request."
        return "parameter_missing", f"The '{name}' parameter is required for this request."
    more = len(error.violations) - 1
    suffix = f" (and {more} more error{'s' if more > 1 else ''})" if more else ""
    problem = _problem(first, name)
    detail = f": {problem}" if problem else "."
    return "parameter_invalid", f"The '{name}' parameter is invalid{detail}{suffix}"


def error_body(error: E.GatewayError) -> tuple[int, dict[str, Any]]:
    status, kind, code = classify(error)
    message = error.message
    if isinstance(error, E.ValidationFailed) and "code" not in error.details:
        code, message = validation_message(error)
    if isinstance(error, E.Unauthorized) and not message:
        message = "Unauthenticated."
    return status, {"type": kind, "code": code, "message": _bounded(message), "doc_url": DOC_BASE + code}


def render_error(error: E.GatewayError) -> Response:
    status, body = error_body(error)
    return Response(dumps(body), status_code=status, media_type="application/json")
