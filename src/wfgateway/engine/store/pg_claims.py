"""PostgreSQL's task claims (``PostgresStore.claim`` and gated claims): each claim a conditional update
sent in the caller's pipeline, then the winners' executions bumped and their timers inserted.

Kept apart from the store's queries so a claim's statements are read in one place.
"""

from __future__ import annotations

from typing import Any

from psycopg import AsyncConnection, AsyncPipeline

from wfgateway.engine.store.base import TIMER_COLS, Claim

TIMER_INSERT = f"INSERT INTO timers ({', '.join(TIMER_COLS)}) VALUES ({', '.join(['%s'] * len(TIMER_COLS))})"
BUMP = "UPDATE executions SET row_version = row_version + 1 WHERE id = %s"


async def apply_claims(conn: AsyncConnection[Any], pipe: AsyncPipeline, claims: list[Claim]) -> list[Claim]:
    """Send each claim's conditional update; the ones that matched their row."""
    cursors = []
    for c in claims:
        cols = tuple(c.sets)
        query = f"UPDATE attempts SET {', '.join(f'{k} = %s' for k in cols)} WHERE key = %s AND status = %s"
        args: tuple[Any, ...] = (*c.sets.values(), c.key, c.expect_status)
        if c.expect_worker is not None:
            query += " AND worker_id = %s"
            args = (*args, c.expect_worker)
        cur = conn.cursor()
        await cur.execute(query, args)  # type: ignore[arg-type]
        cursors.append(cur)
    await pipe.sync()
    return [c for c, cur in zip(claims, cursors, strict=True) if cur.rowcount == 1]


async def claimed(conn: AsyncConnection[Any], won: list[Claim]) -> None:
    """Bump the claimed attempts' executions and insert their timers."""
    for eid in sorted({c.execution_id for c in won}):
        await conn.execute(BUMP, (eid,))
    timers = [t for c in won for t in c.timers]
    if timers:
        await conn.cursor().executemany(TIMER_INSERT, timers)
