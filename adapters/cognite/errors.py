"""Cognite's error body ``{"error": {"code", "message", "missing"?, "duplicated"?}}`` and the errors
the handlers raise in Cognite's terms.

The SDK picks its exception from the status and these keys: 409 with ``duplicated`` ->
CogniteDuplicatedError; 400/404/422 with ``missing`` (or any 404) -> CogniteNotFoundError; anything
else -> CogniteAPIError.  ``message`` is mandatory (the v8 SDK raises KeyError without it).
"""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from wfgateway.core.errors import (
    Conflict,
    ErrorContext,
    GatewayError,
    InvalidArgument,
    NotFound,
    ValidationFailed,
    Violation,
)
from wfgateway.exact_json import dumps


def render_error(error: GatewayError, context: ErrorContext) -> Response:
    """The Cognite error body for ``error`` (never a stack trace)."""
    status = error.status
    message = validation_message(error.violations) if isinstance(error, ValidationFailed) else error.message
    if status == 500:
        message = "Internal server error"
    body: dict[str, Any] = {"code": status, "message": message}
    for key in ("missing", "duplicated"):
        items = error.details.get(key)
        if items:
            body[key] = list(items)
    return Response(dumps({"error": body}), status_code=status, media_type="application/json")


def validation_message(violations: list[Violation]) -> str:
    """``Invalid request: body.items[0].externalId: ...``, one clause per violation (at most five)."""
    parts = []
    for v in violations[:5]:
        where = v.location
        for piece in filter(None, v.pointer.split("/")):
            where += f"[{piece}]" if piece.isascii() and piece.isdigit() else f".{piece}"
        parts.append(f"{where}: {_shorten(v.message)}")
    more = f" (and {len(violations) - 5} more)" if len(violations) > 5 else ""
    return "Invalid request: " + "; ".join(parts) + more


MAX_CLAUSE = 200


def _shorten(message: str) -> str:
    """A violation quotes the offending value whole: keep its start and the rule it broke (the end),
    so a 300 KB externalId is not echoed back in the error and in the SDK's exception text."""
    if len(message) <= MAX_CLAUSE:
        return message
    return message[:60] + " ... " + message[-(MAX_CLAUSE - 65):]


def bad_request(message: str, *, missing: list[dict[str, Any]] | None = None) -> InvalidArgument:
    """400; with ``missing`` the SDK raises CogniteNotFoundError listing them."""
    return InvalidArgument(message, details={"missing": missing} if missing else None)


def not_found(message: str, missing: list[dict[str, Any]] | None = None) -> NotFound:
    """404 (CogniteNotFoundError in the SDK)."""
    return NotFound(message, details={"missing": missing} if missing else None)


def conflict(message: str, *, duplicated: list[dict[str, Any]] | None = None) -> Conflict:
    """409; with ``duplicated`` the SDK raises CogniteDuplicatedError."""
    return Conflict(message, details={"duplicated": duplicated} if duplicated else None)
