"""List cursors of the Cognite dialect: the paging state (a last key, an offset, the engine's own
cursor) sealed by the gateway's ``CursorSigner`` for the caller's project, the operation and its
filter.  A cursor this gateway did not issue for exactly that -- made up, edited, another project's,
another list's or another filter's -- is refused with 400 ``Invalid cursor``, as Cognite refuses a
cursor it does not know; it never resumes a scan."""

from __future__ import annotations

from typing import Any

from wfgateway.adapters.cognite.errors import bad_request

from wfgateway.cursors import BadCursor
from wfgateway.dialect import Call


def encode(call: Call, state: dict[str, Any], filter: Any = None) -> str:
    return call.gateway.cursors.seal(state, tenant=call.principal.tenant, operation=call.operation_id, filter=filter)


def decode(call: Call, cursor: str | None, filter: Any = None) -> dict[str, Any]:
    """The state inside a cursor this gateway issued for this call; 400 for anything else."""
    if not cursor:
        return {}
    try:
        return call.gateway.cursors.open(cursor, tenant=call.principal.tenant, operation=call.operation_id,
                                         filter=filter)
    except BadCursor:
        raise bad_request(f"Invalid cursor: {cursor[:40]}") from None


def field(call: Call, cursor: str | None, name: str, kind: type, filter: Any = None) -> Any:
    """The ``name`` entry of a cursor this gateway issued for this call (None without a cursor); 400
    when it is missing or of another type."""
    if not cursor:
        return None
    value = decode(call, cursor, filter).get(name)
    if not isinstance(value, kind) or isinstance(value, bool) or (isinstance(value, int) and value < 0):
        raise bad_request(f"Invalid cursor: {cursor[:40]}")
    return value


def page_of(call: Call, items: list[Any], cursor: str | None, limit: int,
            filter: Any = None) -> tuple[list[Any], str | None]:
    """``limit`` items from the offset in ``cursor``, and the cursor of the rest (None at the end)."""
    start = field(call, cursor, "o", int, filter) or 0
    chunk = items[start:start + limit]
    end = start + len(chunk)
    return chunk, encode(call, {"o": end}, filter) if end < len(items) else None
