"""The shared store: PostgreSQL through psycopg 3 (async) and a connection pool.

Several gateway processes may use one database at once, so ``single_process`` is False: the engine
treats work another process has in flight as that process's (its lease timer takes it back if the
process dies).  Every write keeps the contract of ``base.Store``:

- a changeset is one transaction, sent in pipeline mode (one round trip for all its statements) and
  checked afterwards: an execution update that matched no row (``row_version`` moved) raises
  ``VersionConflict``, a timer another process already fired raises ``ClaimLost``; either rolls back;
- execution rows are always locked in id order (updates sorted, claims lock their executions
  ``FOR UPDATE`` before touching attempts), so concurrent transactions queue instead of deadlocking;
  a deadlock or serialization failure that still happens is reported as ``VersionConflict`` (retried);
- poll candidates are read ``FOR UPDATE SKIP LOCKED``, so pollers in different processes spread over
  the queue instead of all racing for the same rows.

Connections come from a pool that reconnects in the background with backoff; the first call that
finds a connection dead has the pool check its idle ones (so the dead are replaced at once, without
a round trip before every call) and a read is tried once more on a fresh connection.  While the database cannot be
reached a call waits at most ``wait_ms`` for a connection, then raises ``StoreUnavailable`` (each
dialect's retryable 503); ``health`` logs the episode once and counts it.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

import psycopg
from psycopg import AsyncConnection, AsyncPipeline, errors
from psycopg_pool import AsyncConnectionPool, PoolTimeout

from wfgateway.core.errors import InvalidArgument
from wfgateway.engine.store import gates, search, task_search
from wfgateway.engine.store.base import (
    ATT_COLS,
    EXEC_COLS,
    TIMER_COLS,
    Changeset,
    Claim,
    ClaimLost,
    DuplicateKey,
    Gate,
    SearchFilter,
    StoreError,
    StoreOpenError,
    StoreUnavailable,
    TaskFilter,
    VersionConflict,
)
from wfgateway.engine.store.health import StoreHealth
from wfgateway.engine.store.pg_claims import BUMP, TIMER_INSERT, apply_claims, claimed
from wfgateway.engine.store.pg_counts import CountFolder
from wfgateway.engine.store.pg_setup import (
    apply_migrations,
    check_schema,
    conninfo_for,
    migrate,
    placeholders,
    where,
)
from wfgateway.engine.store.tables import SideFile


def _ph(n: int) -> str:
    return ", ".join(["%s"] * n)


_EXEC_SELECT = f"SELECT {', '.join(EXEC_COLS)} FROM executions"
_ATT_SELECT = f"SELECT {', '.join(ATT_COLS)} FROM attempts"
_EXEC_INSERT = f"INSERT INTO executions ({', '.join(EXEC_COLS)}) VALUES ({_ph(len(EXEC_COLS))})"
_ATT_INSERT = f"INSERT INTO attempts ({', '.join(ATT_COLS)}) VALUES ({_ph(len(ATT_COLS))})"
_SNAPSHOT_INSERT = "INSERT INTO snapshots (hash, body) VALUES (%s, %s) ON CONFLICT (hash) DO NOTHING"
_TIMER_DELETE = "DELETE FROM timers WHERE id = %s"
_LOCK_EXECS = "SELECT id FROM executions WHERE id = ANY(%s) ORDER BY id FOR UPDATE"
_HIDE_ALL = "UPDATE attempts SET visible = 0, retry_pending = 0 WHERE execution_id = ANY(%s) AND visible = 1"
_DELETE_EXEC = "DELETE FROM executions WHERE id = %s AND row_version = %s"
_DELETE_ATTEMPTS = "DELETE FROM attempts WHERE execution_id = ANY(%s)"
_DELETE_TIMERS = "DELETE FROM timers WHERE execution_id = ANY(%s)"
# the name's gate row (created on first use, never rewritten just to lock it), then its lock and recent claims
_GATE_CREATE = ("INSERT INTO task_gates (tenant, name, starts) VALUES (%s, %s, '[]')"
                " ON CONFLICT (tenant, name) DO NOTHING")
_GATE_LOCK = "SELECT starts FROM task_gates WHERE tenant = %s AND name = %s FOR UPDATE"
_GATE_WRITE = "UPDATE task_gates SET starts = %s WHERE tenant = %s AND name = %s"
_IN_PROGRESS = ("SELECT COUNT(*) FROM attempts WHERE tenant = %s AND name = %s AND status = 'IN_PROGRESS'"
                " AND kind = 'worker' AND visible = 1")
_RETRYABLE = (errors.DeadlockDetected, errors.SerializationFailure)
_PROBE = "INSERT INTO store_probe (id, at_ms) VALUES (1, %s) ON CONFLICT (id) DO UPDATE SET at_ms = excluded.at_ms"
PROBE_WAIT_S = 1.0


class PostgresStore:
    single_process = False
    supports_hide_all = True
    dialect = "postgres"

    def __init__(
        self, dsn: str, *, schema: str | None = None, pool_size: int = 8, min_pool_size: int = 1,
        connect_timeout_s: float = 10.0, wait_ms: int = 5000,
    ) -> None:
        self.dsn = dsn
        self.wait_s = max(int(wait_ms), 1) / 1000
        self.health = StoreHealth(where(dsn) + (f" (schema {schema})" if schema else ""))
        self._sql: dict[str, str] = {}
        self._checking: asyncio.Task[None] | None = None
        self.schema = check_schema(schema)
        self._counts = CountFolder(self._conn, self.schema)
        self.pool_size = max(int(pool_size), 1)
        self.min_pool_size = min(max(int(min_pool_size), 0), self.pool_size)
        self.connect_timeout_s = connect_timeout_s
        self._pool: AsyncConnectionPool[AsyncConnection[Any]] | None = None
        self._update_sql: dict[tuple[str, tuple[str, ...]], str] = {}

    # -- lifecycle ---------------------------------------------------------------------------
    async def open(self) -> None:
        if self._pool is not None:
            return
        try:
            await migrate(self.dsn, self.schema, self.connect_timeout_s)
        except psycopg.OperationalError as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise StoreOpenError(f"store {where(self.dsn)}: cannot connect ({first}); fix: start PostgreSQL there "
                                 "or correct store.dsn / store.dsn_env in config.yaml") from None
        pool: AsyncConnectionPool[AsyncConnection[Any]] = AsyncConnectionPool(
            conninfo_for(self.dsn, self.schema), min_size=self.min_pool_size, max_size=self.pool_size,
            kwargs={"autocommit": True}, open=False, timeout=self.wait_s, name="wfgateway-store",
        )
        await pool.open(wait=True, timeout=self.connect_timeout_s)
        self._pool = pool
        self._counts.start()

    async def close(self) -> None:
        if self._pool is None:
            return
        await self._counts.stop(fold_once_more=self.health.cause is None)
        pool, self._pool = self._pool, None
        if self._checking is not None:
            self._checking.cancel()
        await pool.close()

    async def fold_counts(self) -> None:
        """Add the pending run-count changes to the counts now (the store does it every second)."""
        await self._counts.fold()

    @property
    def pool(self) -> AsyncConnectionPool[AsyncConnection[Any]]:
        if self._pool is None:
            raise RuntimeError("store is not open")
        return self._pool

    @asynccontextmanager
    async def _conn(self) -> AsyncIterator[AsyncConnection[Any]]:
        """A pooled connection, with cancellation kept intact.

        On Python 3.11 ``asyncio.wait_for`` drops a cancellation that arrives just as the awaited
        thing completes, and the pool waits for a free connection with ``wait_for``: the task then
        gets a connection and runs on as if never cancelled (an engine's ``stop()`` would wait for
        its timer loop forever).  A cancellation requested while we waited is re-raised here.
        """
        task = asyncio.current_task()
        before = task.cancelling() if task is not None else 0
        try:
            async with self.pool.connection() as conn:
                if task is not None and task.cancelling() > before:
                    raise asyncio.CancelledError()
                yield conn
        except PoolTimeout:
            raise self._unavailable("database unreachable", f"no connection within {self.wait_s:.1f} s") from None
        except _RETRYABLE:
            raise  # a deadlock or serialization failure: the caller retries (VersionConflict)
        except psycopg.DataError as exc:
            if "NUL" not in str(exc):
                raise
            # PostgreSQL text cannot hold NUL: the name or value the client sent is refused (a 400 in its
            # vendor's format), never a 500 -- lookups by such a key match nothing before they get here
            raise InvalidArgument("a name or text with a NUL (0x00) character cannot be stored") from None
        except (psycopg.OperationalError, psycopg.InterfaceError) as exc:
            self._check_idle()
            raise self._unavailable("database unreachable", str(exc).strip() or type(exc).__name__) from None
        if self.health.cause is not None:
            self.health.recovered()

    @asynccontextmanager
    async def _transaction(
        self, checks: Sequence[tuple[Any, StoreError]] = (),
    ) -> AsyncIterator[tuple[AsyncConnection[Any], AsyncPipeline]]:
        """One transaction: BEGIN and the statements travel in one pipeline; once its answers are in and
        ``checks`` hold (each cursor changed exactly one row, else its error is raised and nothing is
        kept), COMMIT is sent on its own and its answer waited for.

        Why not ``conn.transaction()`` inside the pipeline: psycopg then sends COMMIT in the pipeline and
        reads its answer with the pipeline's closing Sync, and a server that shuts down between the two
        fails the call after the commit was made (measured: 3 writes in 15 fast shutdowns under load were
        answered 503 yet stored; a client that retries them doubles them; none in 40 after).  With COMMIT
        alone its answer is the next thing read, so an error means the server did not acknowledge it; only
        a connection lost while COMMIT itself is in flight stays in doubt, as with any database.
        """
        async with self._conn() as conn:
            try:
                async with conn.pipeline() as pipe:
                    await conn.execute("BEGIN")
                    yield conn, pipe
                for cur, failure in checks:
                    if cur.rowcount != 1:
                        raise failure
            except BaseException:
                if not conn.broken:
                    with contextlib.suppress(psycopg.Error):
                        await conn.execute("ROLLBACK")
                raise
            await conn.execute("COMMIT")

    def _check_idle(self) -> None:
        """Have the pool test its idle connections (dropping dead ones) once, in the background."""
        if self._checking is None or self._checking.done():
            self._checking = asyncio.get_running_loop().create_task(self.pool.check())

    async def _read(self, query: str, args: Any, many: bool) -> Any:
        """A read, tried once more on a fresh connection if the first one was dead."""
        for attempt in (1, 2):
            try:
                async with self._conn() as conn:
                    cur = await conn.execute(query, args)  # type: ignore[arg-type]
                    return await (cur.fetchall() if many else cur.fetchone())
            except StoreUnavailable:
                if attempt == 2 or self._pool is None:
                    raise
                await asyncio.sleep(0.05)
        raise AssertionError("unreachable")

    def _unavailable(self, cause: str, detail: str) -> StoreUnavailable:
        self.health.fault(cause, detail)
        return StoreUnavailable(f"The workflow store cannot take this call now ({cause}); retry later", cause=cause)

    def _pg(self, statement: str) -> str:
        found = self._sql.get(statement)
        if found is None:
            found = self._sql[statement] = placeholders(statement)
        return found

    # -- the persistence home (tables.py) -----------------------------------------------------
    async def run_sql(self, statements: Sequence[tuple[str, Sequence[Any]]]) -> int:
        count = 0
        try:
            async with self._conn() as conn, conn.transaction():
                for statement, args in statements:
                    cur = await conn.execute(self._pg(statement), tuple(args))  # type: ignore[arg-type]
                    count = cur.rowcount
        except errors.UniqueViolation as exc:
            raise DuplicateKey(str(exc)) from None
        return count

    async def fetch_sql(self, sql: str, args: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        return await self._all(self._pg(sql), tuple(args))  # a text holding NUL matches nothing (_all)

    async def migrate(self, namespace: str, migrations: Sequence[Sequence[str]], side_files: Sequence[SideFile] = ()
                      ) -> int:
        async with self._conn() as conn:
            return await apply_migrations(conn, self.schema, namespace, migrations)

    async def check(self) -> str:
        """``ok`` when the database takes a write now (within a second), else why not."""
        try:
            async with self.pool.connection(timeout=min(self.wait_s, PROBE_WAIT_S)) as conn:
                await conn.execute(_PROBE, (int(time.time() * 1000),))
        except PoolTimeout:
            return "database unreachable"
        except (psycopg.OperationalError, psycopg.InterfaceError) as exc:
            return f"database unreachable ({type(exc).__name__})"
        except psycopg.Error as exc:  # read-only, permissions, ...
            return f"cannot write ({type(exc).__name__})"
        self.health.recovered()
        return "ok"

    async def _one(self, query: str, args: Any = None) -> tuple[Any, ...] | None:
        if _holds_nul(args):
            return None
        return await self._read(query, args, many=False)  # type: ignore[no-any-return]

    async def _all(self, query: str, args: Any = None) -> list[tuple[Any, ...]]:
        if _holds_nul(args):
            return []
        return await self._read(query, args, many=True)  # type: ignore[no-any-return]

    # -- definitions -------------------------------------------------------------------------
    async def def_put(
        self, tenant: str, name: str, version: str, vnum: int | None, body: str, now: int, overwrite: bool
    ) -> int:
        head = ("INSERT INTO definitions (tenant, name, version, vnum, body, created_ms, updated_ms)"
                " VALUES (%s, %s, %s, %s, %s, %s, %s) ON CONFLICT (tenant, name, version) DO ")
        tail = ("UPDATE SET body = EXCLUDED.body, updated_ms = EXCLUDED.updated_ms RETURNING created_ms"
                if overwrite else "NOTHING RETURNING created_ms")
        async with self._conn() as conn:  # a write: never tried twice
            cur = await conn.execute(head + tail, (tenant, name, version, vnum, body, now, now))  # type: ignore[arg-type]
            row = await cur.fetchone()
        if row is None:
            raise DuplicateKey(f"{name}/{version}")
        return int(row[0])

    async def def_get(self, tenant: str, name: str, version: str | None) -> str | None:
        if version is not None:
            row = await self._one(
                "SELECT body FROM definitions WHERE tenant = %s AND name = %s AND version = %s",
                (tenant, name, version),
            )
        else:
            row = await self._one(
                "SELECT body FROM definitions WHERE tenant = %s AND name = %s"
                " ORDER BY (vnum IS NOT NULL) DESC, vnum DESC NULLS LAST, updated_ms DESC LIMIT 1",
                (tenant, name),
            )
        return row[0] if row else None

    async def def_list(self, tenant: str, name: str | None, offset: int, limit: int) -> tuple[list[str], int]:
        if _holds_nul((tenant, name)):
            return [], 0
        where, args = "tenant = %s", [tenant]
        if name is not None:
            where += " AND name = %s"
            args.append(name)
        async with self._conn() as conn:
            cur = await conn.execute(
                f"SELECT body FROM definitions WHERE {where} ORDER BY created_ms, name, version"  # type: ignore[arg-type]
                " LIMIT %s OFFSET %s",
                (*args, limit, offset),
            )
            rows = await cur.fetchall()
            cur = await conn.execute(f"SELECT COUNT(*) FROM definitions WHERE {where}", args)  # type: ignore[arg-type]
            total = (await cur.fetchone() or (0,))[0]
        return [r[0] for r in rows], int(total)

    async def def_delete(self, tenant: str, name: str, version: str | None) -> int:
        async with self._conn() as conn:
            if version is None:
                cur = await conn.execute("DELETE FROM definitions WHERE tenant = %s AND name = %s", (tenant, name))
            else:
                cur = await conn.execute(
                    "DELETE FROM definitions WHERE tenant = %s AND name = %s AND version = %s",
                    (tenant, name, version),
                )
            return cur.rowcount

    async def snapshot_get(self, digest: str) -> str | None:
        row = await self._one("SELECT body FROM snapshots WHERE hash = %s", (digest,))
        return row[0] if row else None

    # -- executions and attempts -------------------------------------------------------------
    async def exec_get(self, execution_id: str) -> tuple[Any, ...] | None:
        return await self._one(_EXEC_SELECT + " WHERE id = %s", (execution_id,))

    async def exec_stamp(self, execution_id: str) -> tuple[str, int, int] | None:
        row = await self._one("SELECT tenant, created_ms, row_version FROM executions WHERE id = %s", (execution_id,))
        return (row[0], row[1], row[2]) if row else None

    async def exec_by_idempotency(self, tenant: str, key: str) -> tuple[Any, ...] | None:
        return await self._one(_EXEC_SELECT + " WHERE tenant = %s AND idempotency_key = %s", (tenant, key))

    async def attempts_of(self, execution_id: str, include_hidden: bool) -> list[tuple[Any, ...]]:
        if include_hidden:
            return await self._all(_ATT_SELECT + " WHERE execution_id = %s ORDER BY seq, key", (execution_id,))
        return await self._all(
            _ATT_SELECT + " WHERE execution_id = %s AND visible = 1 ORDER BY seq", (execution_id,)
        )

    async def attempt_by_id(self, public_id: str) -> tuple[Any, ...] | None:
        return await self._one(_ATT_SELECT + " WHERE id = %s AND visible = 1", (public_id,))

    async def attempt_by_key(self, key: str) -> tuple[Any, ...] | None:
        return await self._one(_ATT_SELECT + " WHERE key = %s", (key,))

    async def exec_ids(self, flt: SearchFilter) -> list[str]:
        sql, args = search.ids(flt, lateral=True)
        return [row[1] for row in await self._all(self._pg(sql), args)]

    async def exec_count(self, flt: SearchFilter) -> int:
        sql, args = search.total(flt, True, cap=search.ALL)
        row = await self._one(self._pg(sql), args)
        return int(row[0]) if row else 0

    async def exec_search(
        self, flt: SearchFilter, cursor: tuple[int, str] | None, limit: int, newest_first: bool, count: bool = True,
        skip: int = 0,
    ) -> tuple[list[tuple[Any, ...]], int | None]:
        if _holds_nul(flt.texts()):
            return [], 0  # no stored text holds NUL (PostgreSQL refuses it): nothing matches, as in SQLite
        sql = search.build(flt, cursor, limit, newest_first, lateral=True, pending_counts=True)
        async with self._conn() as conn:
            rows: list[tuple[Any, ...]] = []
            key = None
            if skip > 0:
                seek_sql, seek_args = search.seek(flt, cursor, skip, newest_first, lateral=True)
                cur = await conn.execute(self._pg(seek_sql), seek_args)  # type: ignore[arg-type]
                key = await cur.fetchone()
            if skip == 0 or key is not None:
                page = sql if key is None else search.build(flt, (key[0], key[1]), limit, newest_first, lateral=True)
                cur = await conn.execute(self._pg(page.page), page.page_args)  # type: ignore[arg-type]
                rows = await cur.fetchall()
            if not count:
                return rows, None
            total = search.total_of_page(cursor, skip, limit, len(rows)) if key is not None or skip == 0 else None
            if total is None:  # a full page (or one past a cursor): count the matches, up to COUNT_CAP
                cur = await conn.execute(self._pg(sql.count), sql.count_args)  # type: ignore[arg-type]
                total = min(int((await cur.fetchone() or (0,))[0]), search.COUNT_CAP)
        return rows, total

    async def task_search(
        self, flt: TaskFilter, cursor: tuple[int, str] | None, limit: int, newest_first: bool, count: bool = True
    ) -> tuple[list[tuple[Any, ...]], int | None]:
        if _holds_nul((flt.tenant, flt.name, *(flt.statuses or ()), *flt.execution_ids, *flt.task_ids)):
            return [], 0  # no stored text holds NUL (PostgreSQL refuses it): nothing matches, as in SQLite
        sql = task_search.build(flt, cursor, limit, newest_first)
        async with self._conn() as conn:
            cur = await conn.execute(self._pg(sql.page), sql.page_args)  # type: ignore[arg-type]
            rows = await cur.fetchall()
            total = search.total_of_page(cursor, 0, limit, len(rows)) if count else None
            if count and total is None:
                cur = await conn.execute(self._pg(sql.count), sql.count_args)  # type: ignore[arg-type]
                total = int((await cur.fetchone() or (0,))[0])
        return rows, total

    async def poll_candidates(self, tenant: str, name: str, now: int, limit: int,
                              domain: str | None = None) -> list[tuple[Any, ...]]:
        return await self._all(
            _ATT_SELECT + " WHERE tenant = %s AND name = %s AND status = 'SCHEDULED' AND kind = 'worker'"
            " AND visible = 1 AND callback_after_ms <= %s"
            " AND (extra::jsonb ->> 'domain') IS NOT DISTINCT FROM %s::text"
            " ORDER BY scheduled_ms, seq LIMIT %s FOR UPDATE SKIP LOCKED",
            (tenant, name, now, domain, limit),
        )

    async def queue_sizes(self, tenant: str) -> list[tuple[Any, ...]]:
        return await self._all(
            "SELECT name, extra::jsonb ->> 'domain' AS domain, COUNT(*) FROM attempts WHERE tenant = %s"
            " AND status = 'SCHEDULED' AND kind = 'worker' AND visible = 1 GROUP BY name, domain"
            " ORDER BY name, domain NULLS FIRST", (tenant,))

    async def queue_leased(self, tenant: str) -> list[tuple[Any, ...]]:
        return await self._all(
            "SELECT name, extra::jsonb ->> 'domain' AS domain, COUNT(*) FROM attempts WHERE tenant = %s"
            " AND status = 'IN_PROGRESS' AND kind = 'worker' AND visible = 1 GROUP BY name, domain"
            " ORDER BY name, domain NULLS FIRST", (tenant,))

    async def claim(self, claims: list[Claim]) -> list[str]:
        if not claims:
            return []
        for n in range(8):
            try:
                return await self._claim_once(claims)
            except _RETRYABLE:
                await asyncio.sleep(0.002 * (n + 1))
        return []

    async def _claim_once(self, claims: list[Claim]) -> list[str]:
        execution_ids = sorted({c.execution_id for c in claims})
        async with self._transaction() as (conn, pipe):
            await conn.execute(_LOCK_EXECS, (execution_ids,))
            won = await apply_claims(conn, pipe, claims)
            await claimed(conn, won)
        return [c.key for c in won]

    async def claim_gated(self, gate: Gate, claims: list[Claim]) -> tuple[list[str], bool]:
        if not claims:
            return [], False
        for n in range(8):
            try:
                return await self._claim_gated_once(gate, claims)
            except _RETRYABLE:
                await asyncio.sleep(0.002 * (n + 1))
        return [], False

    async def _claim_gated_once(self, gate: Gate, claims: list[Claim]) -> tuple[list[str], bool]:
        """The gate row is locked first (every gated claim of the name waits here, in any process), then
        the executions in id order as ``claim`` does; the count is read after the lock is held, so under
        READ COMMITTED it sees every claim committed before."""
        async with self._transaction() as (conn, pipe):
            gate_cur, count_cur = conn.cursor(), conn.cursor()
            await conn.execute(_GATE_CREATE, (gate.tenant, gate.name))
            await gate_cur.execute(_GATE_LOCK, (gate.tenant, gate.name))
            await count_cur.execute(_IN_PROGRESS, (gate.tenant, gate.name))
            await conn.execute(_LOCK_EXECS, (sorted({c.execution_id for c in claims}),))
            await pipe.sync()
            tally = gates.Tally(int(((await count_cur.fetchone()) or (0,))[0]),
                                gates.starts_of(((await gate_cur.fetchone()) or ("[]",))[0]), gate.now)
            won: list[Claim] = []
            for batch in tally.batches(claims):
                for c in await apply_claims(conn, pipe, batch):
                    won.append(c)
                    tally.took(c)
            await claimed(conn, won)
            text = tally.kept(claims)
            if text is not None:
                await conn.execute(_GATE_WRITE, (text, gate.tenant, gate.name))
        return [c.key for c in won], tally.held

    def _update(self, table: str, cols: tuple[str, ...], where: str) -> str:
        k = (table + where, cols)
        query = self._update_sql.get(k)
        if query is None:
            query = f"UPDATE {table} SET {', '.join(f'{c} = %s' for c in cols)} WHERE {where}"
            self._update_sql[k] = query
        return query

    async def commit(self, cs: Changeset) -> None:
        try:
            await self._commit(cs)
        except errors.UniqueViolation as e:
            raise DuplicateKey(str(e)) from None
        except _RETRYABLE as e:
            raise VersionConflict(str(e)) from None

    async def _commit(self, cs: Changeset) -> None:
        checks: list[tuple[Any, StoreError]] = []
        async with self._transaction(checks) as (conn, _):
            for timer_id in sorted(cs.timer_claims):
                cur = conn.cursor()
                await cur.execute(_TIMER_DELETE, (timer_id,))
                checks.append((cur, ClaimLost(timer_id)))
            removed = sorted({eid for eid, _ in cs.exec_deletes})
            if removed:  # timers before executions, the order a firing timer locks them in
                await conn.execute(_DELETE_TIMERS, (removed,))
            # executions in id order: conditional updates, removals and blind bumps interleaved
            work: list[tuple[str, Any]] = [(u[2], u) for u in cs.exec_updates]
            work += [(eid, expected) for eid, expected in cs.exec_deletes]
            work += [(eid, None) for eid in set(cs.version_bumps)]
            work.sort(key=lambda w: (w[0], w[1] is None))
            for execution_id, upd in work:
                cur = conn.cursor()
                if upd is None:
                    await cur.execute(BUMP, (execution_id,))
                    continue
                if isinstance(upd, int):
                    await cur.execute(_DELETE_EXEC, (execution_id, upd))
                    checks.append((cur, VersionConflict(execution_id)))
                    continue
                cols, values, _, expected = upd
                query = self._update("executions", (*cols, "row_version"), "id = %s AND row_version = %s")
                await cur.execute(query, (*values, expected + 1, execution_id, expected))  # type: ignore[arg-type]
                checks.append((cur, VersionConflict(execution_id)))
            if cs.hide_all:
                await conn.execute(_HIDE_ALL, (sorted(set(cs.hide_all)),))
            if cs.snapshots:
                await conn.cursor().executemany(_SNAPSHOT_INSERT, cs.snapshots)
            if cs.exec_inserts:
                await conn.cursor().executemany(_EXEC_INSERT, cs.exec_inserts)
            if cs.attempt_inserts:
                await conn.cursor().executemany(_ATT_INSERT, cs.attempt_inserts)
            if cs.attempt_updates:
                groups: dict[tuple[str, ...], list[tuple[Any, ...]]] = {}
                for cols, values, key in sorted(cs.attempt_updates, key=lambda u: u[2]):
                    groups.setdefault(cols, []).append((*values, key))
                for cols, rows in groups.items():
                    await conn.cursor().executemany(self._update("attempts", cols, "key = %s"), rows)  # type: ignore[arg-type]
            if cs.timer_inserts:
                await conn.cursor().executemany(TIMER_INSERT, cs.timer_inserts)
            if removed:
                await conn.execute(_DELETE_ATTEMPTS, (removed,))

    # -- timers and recovery -----------------------------------------------------------------
    async def next_timer_due(self) -> int | None:
        row = await self._one("SELECT MIN(due_ms) FROM timers")
        return int(row[0]) if row and row[0] is not None else None

    async def timers_due(self, now: int, limit: int) -> list[tuple[Any, ...]]:
        return await self._all(
            f"SELECT {', '.join(TIMER_COLS)} FROM timers WHERE due_ms <= %s ORDER BY due_ms LIMIT %s", (now, limit)
        )

    async def attempts_in(self, kind: str, statuses: list[str]) -> list[tuple[Any, ...]]:
        return await self._all(
            _ATT_SELECT + " WHERE kind = %s AND visible = 1 AND status = ANY(%s)", (kind, list(statuses))
        )


def _holds_nul(args: Any) -> bool:
    """A lookup argument with NUL matches no row: PostgreSQL text cannot hold it (and refuses the
    query with an error), so reads by such a name or id find nothing, as on SQLite."""
    return isinstance(args, (tuple, list)) and any(isinstance(a, str) and "\x00" in a for a in args)
