"""Conductor's response shapes: JSON without null fields, bare ids as text/plain, empty 200/204."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from wfgateway.exact_json import dumps

TEXT_PLAIN = "text/plain;charset=UTF-8"


def drop_nulls(value: Any) -> Any:
    """Conductor serialises with Jackson NON_NULL: null fields of its own objects are omitted.

    Only the top-level object's fields are pruned (user data such as ``input`` keeps its nulls).
    """
    if isinstance(value, dict):
        return {k: v for k, v in value.items() if v is not None}
    return value


def json_response(document: Any, status: int = 200) -> Response:
    return Response(dumps(document), status_code=status, media_type="application/json")


def text_response(text: str, status: int = 200) -> Response:
    return Response(text.encode(), status_code=status, media_type=TEXT_PLAIN)


def empty_response(status: int = 200) -> Response:
    """Conductor's ``void`` handlers: 200 with no body (204 where it says NO_CONTENT)."""
    return Response(b"", status_code=status)
