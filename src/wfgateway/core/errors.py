"""Typed errors that every layer raises and each dialect renders in its vendor's own format.

The engine and the contract layer raise these; a dialect adapter turns them into the vendor's
status code and error body.  ``status`` is only the default HTTP status: an adapter may choose
another where its vendor does (Conductor answers a retry of a running workflow with 404, say).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


class GatewayError(Exception):
    """Base of every error the gateway answers on purpose (never a 500)."""

    status: int = 400
    code: str = "bad_request"

    def __init__(self, message: str, *, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details: dict[str, Any] = details or {}

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.message!r})"


class InvalidArgument(GatewayError):
    """The request names something that cannot be done as asked (bad task id, cycle, bad template)."""

    status, code = 400, "invalid_argument"


class NotFound(GatewayError):
    """An id, name or version that does not exist (for this tenant)."""

    status, code = 404, "not_found"


class Conflict(GatewayError):
    """The operation is illegal in the current state (rerun of a running execution, duplicate key)."""

    status, code = 409, "conflict"


class Unauthorized(GatewayError):
    """Missing, malformed, expired or unknown credentials."""

    status, code = 401, "unauthorized"


class Forbidden(GatewayError):
    """Known credentials that may not do this."""

    status, code = 403, "forbidden"


class RouteNotFound(GatewayError):
    """No operation of the spec has this path."""

    status, code = 404, "route_not_found"


class MethodNotAllowed(GatewayError):
    """The path exists, the method does not; ``allow`` lists the methods that do."""

    status, code = 405, "method_not_allowed"

    def __init__(self, message: str, *, allow: list[str]) -> None:
        super().__init__(message, details={"allow": allow})
        self.allow = allow


class PayloadTooLarge(GatewayError):
    status, code = 413, "payload_too_large"


class UnsupportedMediaType(GatewayError):
    status, code = 415, "unsupported_media_type"


class MalformedBody(GatewayError):
    """The body is not parseable (bad JSON, bad gzip)."""

    status, code = 400, "malformed_body"


class EvaluationFailed(GatewayError):
    """An evaluator (a script, a query) could not compute its result: the task it ran for fails with
    ``message`` as its reason and ``output`` (if any) as its output; never a request error."""

    status, code = 400, "evaluation_failed"

    def __init__(self, message: str, *, output: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.output = output


@dataclass(frozen=True)
class Violation:
    """One schema violation: where (``body``, ``query``, ``path``, ``header`` + pointer) and what."""

    location: str
    pointer: str
    message: str
    value: Any = None


class ValidationFailed(GatewayError):
    """The request does not satisfy the operation's schema."""

    status, code = 400, "validation_failed"

    def __init__(self, message: str, *, violations: list[Violation]) -> None:
        super().__init__(message, details={"violations": violations})
        self.violations = violations


class TooManyRequests(GatewayError):
    status, code = 429, "too_many_requests"


class NotImplementedByBackend(GatewayError):
    """The chosen backend cannot express this call (a cross-vendor translation that would lose meaning)."""

    status, code = 501, "not_implemented"


class UpstreamError(GatewayError):
    """The upstream answered something we cannot pass on (5xx, off-spec body)."""

    status, code = 502, "bad_gateway"


class Unavailable(GatewayError):
    """The backend is down or its circuit is open."""

    status, code = 503, "unavailable"


class UpstreamTimeout(GatewayError):
    status, code = 504, "gateway_timeout"


@dataclass
class ErrorContext:
    """What a renderer may need besides the error: the request's path and id."""

    path: str = ""
    request_id: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


class InternalError(GatewayError):
    """A bug: logged with its traceback on the server, answered without one."""

    status, code = 500, "internal_error"


class SettingError(Exception):
    """An adapter cannot use a value of its config.yaml section.  ``key`` is the dotted path below that
    section (``auth.keys.0.key_secret_env``), so the gateway can name the file, the line and the full key
    once, as it does for every other config error."""

    def __init__(self, key: str, message: str) -> None:
        super().__init__(message)
        self.key, self.message = key, message
