"""Small helpers the Conductor handlers share."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.responses import Response

from adapters.conductor.errors import no_such_workflow
from wfgateway.core.errors import NotFound, ValidationFailed, Violation
from wfgateway.core.model import Execution
from wfgateway.dialect import Call


def tenant(call: Call) -> str:
    return call.principal.tenant


def new_workflow_id() -> str:
    """Conductor ids are UUIDv4 strings."""
    return str(uuid.uuid4())


async def load_execution(call: Call, workflow_id: str, *, include_history: bool = False) -> Execution:
    """The execution, or Conductor's 404 ``No such workflow found by id: <id>``."""
    try:
        return await call.backend.get(workflow_id, tenant=tenant(call), include_history=include_history)
    except NotFound:
        raise no_such_workflow(workflow_id) from None


_INT64 = range(-(2**63), 2**63)


def out_of_range_number(value: Any, pointer: str = "") -> tuple[str, int] | None:
    """The first integer past 64 bits in a JSON document (pointer, value); None if there is none.

    Conductor (Java) cannot hold such numbers and neither can the store, so they are refused up front."""
    if isinstance(value, int) and not isinstance(value, bool):
        return None if value in _INT64 else (pointer, value)
    if isinstance(value, dict):
        items = value.items()
    elif isinstance(value, list):
        items = enumerate(value)
    else:
        return None
    for key, item in items:
        if isinstance(item, (dict, list, int)):
            found = out_of_range_number(item, f"{pointer}/{key}")
            if found is not None:
                return found
    return None


def guard_numbers(handler: Callable[[Call], Awaitable[Response]]) -> Callable[[Call], Awaitable[Response]]:
    """Wrap a handler so a body holding an integer past 64 bits gets a 400 instead of reaching the store."""

    async def guarded(call: Call) -> Response:
        if isinstance(call.body, (dict, list)):
            found = out_of_range_number(call.body)
            if found is not None:
                pointer, value = found
                raise ValidationFailed("number out of range", violations=[
                    Violation("body", pointer.lstrip("/"), "integer is outside the 64-bit range", str(value))])
        return await handler(call)

    guarded.__name__ = getattr(handler, "__name__", "handler")
    return guarded
