"""The console API's plain HTTP pieces: its error answers, JSON and ETag responses, and reading
query values and JSON bodies without ever answering a 500 for a bad one."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response

from wfgateway.exact_json import dumps

log = logging.getLogger("wfgateway.console")


class ConsoleError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status, self.message = status, message


def json(document: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(dumps(document), status_code=status, media_type="application/json",
                    headers={"cache-control": "no-store", **(headers or {})})


def with_etag(request: Request, document: Any) -> Response:
    """The document with a strong ETag; 304 when the client already has it (the page polls with it)."""
    body = dumps(document)
    tag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
    headers = {"etag": tag, "cache-control": "no-cache"}
    if request.headers.get("if-none-match") == tag:
        return Response(status_code=304, headers=headers)
    return Response(body, media_type="application/json", headers=headers)


def guarded(fn: Callable[[Request], Awaitable[Response]]) -> Callable[[Request], Awaitable[Response]]:
    """Console errors as ``{"error": message}`` with their status; anything unexpected logged, 500."""

    async def endpoint(request: Request) -> Response:
        try:
            return await fn(request)
        except ConsoleError as exc:
            return json({"error": exc.message}, exc.status)
        except Exception:
            log.exception("console: %s %s failed", request.method, request.url.path)
            return json({"error": "The console failed to answer; the gateway's log says why"}, 500)

    return endpoint


def int_param(value: Any, default: int | None, low: int, high: int | None) -> Any:
    if value in (None, ""):
        return default
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise ConsoleError(400, f"Not a number: {value!r}") from None
    if number < low or (high is not None and number > high):
        raise ConsoleError(400, f"{number} is out of range")
    return number


def text_value(value: Any) -> str | None:
    if value is None or value == "":
        return None
    if isinstance(value, (str, int)) and not isinstance(value, bool):
        return str(value)
    raise ConsoleError(400, f"Expected text, got {type(value).__name__}")


def object_value(body: dict[str, Any], key: str) -> dict[str, Any] | None:
    value = body.get(key)
    if value is None:
        return None
    if not isinstance(value, dict):
        raise ConsoleError(400, f"{key}: a JSON object")
    return value


async def json_body(request: Request) -> dict[str, Any]:
    raw = await request.body()
    if len(raw) > 1_048_576:
        raise ConsoleError(413, "The request body is larger than 1 MB")
    try:
        body = orjson.loads(raw) if raw else {}
    except orjson.JSONDecodeError:
        raise ConsoleError(400, "The request body is not JSON") from None
    if not isinstance(body, dict):
        raise ConsoleError(400, "The request body must be a JSON object")
    return body
