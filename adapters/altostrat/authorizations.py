"""Delegated authorizations (``auth_`` ids) that workflows name in ``authorization_id``."""

from __future__ import annotations

from typing import Any

from wfgateway.adapters.altostrat import ids
from wfgateway.adapters.altostrat.store import Tables
from wfgateway.adapters.altostrat.timefmt import iso

from wfgateway.core.errors import NotFound
from wfgateway.dialect import Principal

_COLUMNS = "id, user_id, email, provider, status, created_ms"


def _render(row: tuple[Any, ...]) -> dict[str, Any]:
    aid, user_id, email, provider, status, created_ms = row
    return {"id": aid, "user_id": user_id, "email": email, "provider": provider, "status": status,
            "created_at": iso(created_ms)}


class Authorizations:
    def __init__(self, tables: Tables) -> None:
        self.tables = tables

    async def create(self, principal: Principal, now_ms: int) -> dict[str, Any]:
        aid = ids.new_id(ids.AUTHORIZATION)
        claims = principal.claims or {}
        row = (aid, principal.subject, claims.get("email"), "altostrat", "active", now_ms)
        await self.tables.execute(
            f"INSERT INTO altostrat_authorizations ({_COLUMNS}, tenant) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (*row, principal.tenant),
        )
        return _render(row)

    async def list(self, tenant: str) -> list[dict[str, Any]]:
        rows = await self.tables.query(
            f"SELECT {_COLUMNS} FROM altostrat_authorizations WHERE tenant = ? ORDER BY created_ms, id", (tenant,)
        )
        return [_render(r) for r in rows]

    async def get(self, tenant: str, auth_id: str) -> dict[str, Any] | None:
        rows = await self.tables.query(
            f"SELECT {_COLUMNS} FROM altostrat_authorizations WHERE tenant = ? AND id = ?", (tenant, auth_id)
        )
        return _render(rows[0]) if rows else None

    async def delete(self, tenant: str, auth_id: str) -> None:
        if not await self.tables.execute(
            "DELETE FROM altostrat_authorizations WHERE tenant = ? AND id = ?", (tenant, auth_id)
        ):
            raise NotFound(f"Authorization '{auth_id}' not found.")
