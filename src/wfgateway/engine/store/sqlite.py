"""The embedded store: one SQLite file in WAL mode (synchronous=NORMAL).

Calls are synchronous on the event loop thread on purpose: a WAL commit without fsync takes tens of
microseconds, far less than a hop to a worker thread, and one connection used from one thread keeps
every transaction atomic with respect to the engine's other coroutines.  ``BEGIN IMMEDIATE`` plus the
``row_version`` checks make several processes sharing one file safe as well.

That connection has no busy handler, so a lock held by another process (an operator's ``sqlite3``
shell, a backup, ``VACUUM``) never stalls the loop: a call that meets it is rolled back and tried
again after an asynchronous sleep, with backoff, for at most ``wait_ms``.  A call the store still
cannot take (locked past the wait, disk full, I/O error, read-only file) raises ``StoreUnavailable``
with nothing written; ``health`` logs the episode once and counts it.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import os
import shutil
import sqlite3
import time
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from pathlib import Path
from typing import Any, TypeVar

from wfgateway.engine.store import counts, gates, search, task_search
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
    StoreOpenError,
    StoreUnavailable,
    TaskFilter,
    VersionConflict,
)
from wfgateway.engine.store.health import StoreHealth
from wfgateway.engine.store.schema import CURRENT, ENGINE, LEDGER, LEDGER_ADD_NAMESPACE, MIGRATIONS, pending
from wfgateway.engine.store.sqlite_file import (
    Checkpointer,
    cause_of,
    open_failure,
    optimize,
    transaction,
)
from wfgateway.engine.store.tables import SideFile

log = logging.getLogger("wfgateway.store")

_EXEC_SELECT = f"SELECT {', '.join(EXEC_COLS)} FROM executions"
_EXEC_STAMP = "SELECT tenant, created_ms, row_version FROM executions WHERE id = ?"
_ATT_SELECT = f"SELECT {', '.join(ATT_COLS)} FROM attempts"
_EXEC_INSERT = f"INSERT INTO executions ({', '.join(EXEC_COLS)}) VALUES ({', '.join('?' * len(EXEC_COLS))})"
_ATT_INSERT = f"INSERT INTO attempts ({', '.join(ATT_COLS)}) VALUES ({', '.join('?' * len(ATT_COLS))})"
_TIMER_INSERT = f"INSERT INTO timers ({', '.join(TIMER_COLS)}) VALUES ({', '.join('?' * len(TIMER_COLS))})"
_GATE_READ = "SELECT starts FROM task_gates WHERE tenant = ? AND name = ?"
_GATE_WRITE = ("INSERT INTO task_gates (tenant, name, starts) VALUES (?, ?, ?)"
               " ON CONFLICT (tenant, name) DO UPDATE SET starts = excluded.starts")
_IN_PROGRESS = ("SELECT COUNT(*) FROM attempts WHERE tenant = ? AND name = ? AND status = 'IN_PROGRESS'"
                " AND kind = 'worker' AND visible = 1")
_PROBE = "INSERT INTO store_probe (id, at_ms) VALUES (1, ?) ON CONFLICT (id) DO UPDATE SET at_ms = excluded.at_ms"
MIN_FREE_BYTES = 1 << 20  # /readyz: below this the disk counts as full (a write of any size may fail)
PROBE_WAIT_S = 0.5


T = TypeVar("T")


def _waits(write: bool) -> Callable[[Callable[..., Awaitable[T]]], Callable[..., Coroutine[Any, Any, T]]]:
    """Run the call at once; if SQLite refuses it, wait asynchronously (see ``SQLiteStore._wait_out``)."""

    def wrap(fn: Callable[..., Awaitable[T]]) -> Callable[..., Coroutine[Any, Any, T]]:
        @functools.wraps(fn)
        async def call(self: SQLiteStore, *args: Any, **kwargs: Any) -> T:
            try:
                result = await fn(self, *args, **kwargs)
            except sqlite3.OperationalError as exc:
                return await self._wait_out(functools.partial(fn, self, *args, **kwargs), exc, write, self.wait_s)
            if write and self.health.cause is not None:
                self.health.recovered()
            return result

        return call

    return wrap


class SQLiteStore:
    single_process = True
    supports_hide_all = True
    dialect = "sqlite"

    def __init__(self, path: str | Path, *, wait_ms: int = 5000, page_cache_mib: int = 8) -> None:
        self.path = str(path)
        self.page_cache_mib = page_cache_mib
        self.wait_s = max(int(wait_ms), 0) / 1000
        self.health = StoreHealth(self.path)
        self._db: sqlite3.Connection | None = None
        self._checkpointer: Checkpointer | None = None
        self._update_sql: dict[tuple[str, tuple[str, ...]], str] = {}

    # -- lifecycle ---------------------------------------------------------------------------
    async def open(self) -> None:
        if self._db is not None:
            return
        try:
            self._db = self._connect()
        except (OSError, sqlite3.Error) as exc:
            raise StoreOpenError(open_failure(self.path, exc)) from None
        if self.path != ":memory:":
            self._checkpointer = Checkpointer(self.path)
            self._checkpointer.start()

    def _connect(self) -> sqlite3.Connection:
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False, cached_statements=512)
        try:
            # Not serving yet: a lock held at start is waited for here, then the loop's connection
            # gets no busy handler at all (``_wait_out`` waits without blocking).
            db.execute(f"PRAGMA busy_timeout = {int(self.wait_s * 1000)}")
            db.execute("PRAGMA journal_mode = WAL")
            db.execute("PRAGMA synchronous = NORMAL")
            db.execute("PRAGMA temp_store = MEMORY")
            # hot pages stay in memory up to this bound (config.yaml caches.sqlite_page_cache_mib)
            db.execute(f"PRAGMA cache_size = -{int(self.page_cache_mib) * 1024}")
            self._migrate(db, ENGINE, MIGRATIONS)
            self._migrate(db, counts.NAMESPACE, counts.SQLITE_MIGRATIONS)  # SQLite's own trigger SQL
            optimize(db, at_open=True)
            if self.path != ":memory:":
                db.execute("PRAGMA wal_autocheckpoint = 10000")
            db.execute("PRAGMA busy_timeout = 0")
        except BaseException:
            db.close()
            raise
        return db

    @staticmethod
    def _migrate(db: sqlite3.Connection, namespace: str, migrations: Sequence[Sequence[str]]) -> int:
        with transaction(db):
            db.execute(LEDGER)
            if "namespace" not in {row[1] for row in db.execute("PRAGMA table_info(schema_version)")}:
                db.execute(LEDGER_ADD_NAMESPACE)
            current = db.execute(CURRENT, (namespace,)).fetchone()[0] or 0
            for sql, args in pending(namespace, current, migrations):
                db.execute(sql, args)
            return max(current, len(migrations))

    async def close(self) -> None:
        if self._checkpointer is not None:
            self._checkpointer.halt.set()
            self._checkpointer.join(timeout=5)
            self._checkpointer = None
        if self._db is not None:
            self._db.close()
            self._db = None

    @property
    def _conn(self) -> sqlite3.Connection:
        if self._db is None:
            raise RuntimeError("store is not open")
        return self._db

    async def _wait_out(self, call: Callable[[], Awaitable[T]], exc: sqlite3.OperationalError, write: bool,
                        wait_s: float) -> T:
        """``call`` met a lock or a failing disk (and rolled back): try again after asynchronous sleeps
        while it is only locked, until ``wait_s`` has passed; then StoreUnavailable."""
        deadline = time.monotonic() + wait_s
        delay = 0.002
        while True:
            cause = cause_of(exc)
            if cause is None:
                raise exc
            if cause != "locked" or time.monotonic() >= deadline:
                self.health.fault(cause, str(exc))
                raise StoreUnavailable(
                    f"The workflow store cannot take this call now ({cause}); retry later", cause=cause
                ) from None
            await asyncio.sleep(delay)
            delay = min(delay * 2, 0.05)
            try:
                result = await call()
            except sqlite3.OperationalError as again:
                exc = again
                continue
            if write:
                self.health.recovered()
            return result

    # -- the persistence home (tables.py) -----------------------------------------------------
    @_waits(write=True)
    async def run_sql(self, statements: Sequence[tuple[str, Sequence[Any]]]) -> int:
        db = self._conn
        count = 0
        try:
            with transaction(db):
                for sql, args in statements:
                    count = db.execute(sql, tuple(args)).rowcount
        except sqlite3.IntegrityError as exc:
            raise DuplicateKey(str(exc)) from None
        return count

    @_waits(write=False)
    async def fetch_sql(self, sql: str, args: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        return self._conn.execute(sql, tuple(args)).fetchall()

    @_waits(write=True)
    async def migrate(self, namespace: str, migrations: Sequence[Sequence[str]], side_files: Sequence[SideFile] = ()
                      ) -> int:
        db = self._conn
        new = not db.execute(CURRENT, (namespace,)).fetchone()[0]  # the ledger exists since open()
        version = self._migrate(db, namespace, migrations)
        if new and self.path != ":memory:":
            for side in side_files:
                self._import(side)
        return version

    def _import(self, side: SideFile) -> None:
        """Copy an older version's side file into the namespace's table (rows already there win)."""
        store = Path(self.path)
        old = store.with_name(store.stem + side.suffix.replace("{ext}", store.suffix or ".db"))
        if not old.is_file():
            return
        db = self._conn
        db.execute("ATTACH DATABASE ? AS side", (str(old),))
        try:
            have = {row[1] for row in db.execute(f"PRAGMA side.table_info({side.table})")}
            columns = [c for c in side.columns if c in have]
            if columns:
                with transaction(db):
                    db.execute(f"INSERT OR IGNORE INTO main.{side.into} ({', '.join(columns)})"
                               f" SELECT {', '.join(columns)} FROM side.{side.table}")
        finally:
            db.execute("DETACH DATABASE side")
        old.rename(old.with_name(old.name + ".imported"))
        log.info("imported %s into %s (the file is kept as %s.imported)", old, side.into, old.name)

    async def check(self) -> str:
        """``ok`` when a write goes through now and the disk has room; else what stops writes."""
        if self.path != ":memory:":
            folder = os.path.dirname(os.path.abspath(self.path))
            try:
                free = shutil.disk_usage(folder).free
            except OSError as exc:
                return f"cannot stat {folder}: {exc.strerror}"
            if free < MIN_FREE_BYTES:
                return f"disk full ({free} bytes free in {folder})"
        try:
            await self._probe()
        except sqlite3.OperationalError as exc:
            try:
                await self._wait_out(self._probe, exc, True, min(self.wait_s, PROBE_WAIT_S))
            except StoreUnavailable as unavailable:
                return unavailable.cause
        else:
            self.health.recovered()
        return "ok"

    async def _probe(self) -> None:
        with transaction(self._conn) as db:
            db.execute(_PROBE, (int(time.time() * 1000),))

    # -- definitions -------------------------------------------------------------------------
    @_waits(write=True)
    async def def_put(
        self, tenant: str, name: str, version: str, vnum: int | None, body: str, now: int, overwrite: bool
    ) -> int:
        with transaction(self._conn) as db:
            row = db.execute(
                "SELECT created_ms FROM definitions WHERE tenant = ? AND name = ? AND version = ?",
                (tenant, name, version),
            ).fetchone()
            if row is not None:
                if not overwrite:
                    raise DuplicateKey(f"{name}/{version}")
                db.execute(
                    "UPDATE definitions SET body = ?, updated_ms = ? WHERE tenant = ? AND name = ? AND version = ?",
                    (body, now, tenant, name, version),
                )
                created = row[0]
            else:
                db.execute(
                    "INSERT INTO definitions (tenant, name, version, vnum, body, created_ms, updated_ms)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (tenant, name, version, vnum, body, now, now),
                )
                created = now
            return created

    @_waits(write=False)
    async def def_get(self, tenant: str, name: str, version: str | None) -> str | None:
        if version is not None:
            row = self._conn.execute(
                "SELECT body FROM definitions WHERE tenant = ? AND name = ? AND version = ?", (tenant, name, version)
            ).fetchone()
        else:
            row = self._conn.execute(
                "SELECT body FROM definitions WHERE tenant = ? AND name = ?"
                " ORDER BY CASE WHEN vnum IS NULL THEN 0 ELSE 1 END DESC, vnum DESC, updated_ms DESC LIMIT 1",
                (tenant, name),
            ).fetchone()
        return row[0] if row else None

    @_waits(write=False)
    async def def_list(self, tenant: str, name: str | None, offset: int, limit: int) -> tuple[list[str], int]:
        where, args = "tenant = ?", [tenant]
        if name is not None:
            where += " AND name = ?"
            args.append(name)
        rows = self._conn.execute(
            f"SELECT body FROM definitions WHERE {where} ORDER BY created_ms, name, version LIMIT ? OFFSET ?",
            (*args, limit, offset),
        ).fetchall()
        total = self._conn.execute(f"SELECT COUNT(*) FROM definitions WHERE {where}", args).fetchone()[0]
        return [r[0] for r in rows], total

    @_waits(write=True)
    async def def_delete(self, tenant: str, name: str, version: str | None) -> int:
        db = self._conn
        if version is None:
            cur = db.execute("DELETE FROM definitions WHERE tenant = ? AND name = ?", (tenant, name))
        else:
            cur = db.execute(
                "DELETE FROM definitions WHERE tenant = ? AND name = ? AND version = ?", (tenant, name, version)
            )
        return cur.rowcount

    @_waits(write=False)
    async def snapshot_get(self, digest: str) -> str | None:
        row = self._conn.execute("SELECT body FROM snapshots WHERE hash = ?", (digest,)).fetchone()
        return row[0] if row else None

    # -- executions and attempts -------------------------------------------------------------
    @_waits(write=False)
    async def exec_get(self, execution_id: str) -> tuple[Any, ...] | None:
        return self._conn.execute(_EXEC_SELECT + " WHERE id = ?", (execution_id,)).fetchone()

    @_waits(write=False)
    async def exec_stamp(self, execution_id: str) -> tuple[str, int, int] | None:
        return self._conn.execute(_EXEC_STAMP, (execution_id,)).fetchone()

    @_waits(write=False)
    async def exec_by_idempotency(self, tenant: str, key: str) -> tuple[Any, ...] | None:
        return self._conn.execute(
            _EXEC_SELECT + " WHERE tenant = ? AND idempotency_key = ?", (tenant, key)
        ).fetchone()

    @_waits(write=False)
    async def attempts_of(self, execution_id: str, include_hidden: bool) -> list[tuple[Any, ...]]:
        if include_hidden:
            return self._conn.execute(
                _ATT_SELECT + " WHERE execution_id = ? ORDER BY seq, key", (execution_id,)
            ).fetchall()
        return self._conn.execute(
            _ATT_SELECT + " WHERE execution_id = ? AND visible = 1 ORDER BY seq", (execution_id,)
        ).fetchall()

    @_waits(write=False)
    async def attempt_by_id(self, public_id: str) -> tuple[Any, ...] | None:
        return self._conn.execute(_ATT_SELECT + " WHERE id = ? AND visible = 1", (public_id,)).fetchone()

    @_waits(write=False)
    async def attempt_by_key(self, key: str) -> tuple[Any, ...] | None:
        return self._conn.execute(_ATT_SELECT + " WHERE key = ?", (key,)).fetchone()

    @_waits(write=False)
    async def exec_ids(self, flt: SearchFilter) -> list[str]:
        sql, args = search.ids(flt)
        return [row[1] for row in self._conn.execute(sql, args)]

    @_waits(write=False)
    async def exec_count(self, flt: SearchFilter) -> int:
        return int(self._conn.execute(*search.total(flt, False, cap=search.ALL)).fetchone()[0])

    @_waits(write=False)
    async def exec_search(
        self, flt: SearchFilter, cursor: tuple[int, str] | None, limit: int, newest_first: bool, count: bool = True,
        skip: int = 0,
    ) -> tuple[list[tuple[Any, ...]], int | None]:
        db = self._conn
        sql = search.build(flt, cursor, limit, newest_first)
        rows: list[tuple[Any, ...]] = []
        key = db.execute(*search.seek(flt, cursor, skip, newest_first)).fetchone() if skip > 0 else None
        if skip == 0 or key is not None:
            page = sql if key is None else search.build(flt, (key[0], key[1]), limit, newest_first)
            rows = db.execute(page.page, page.page_args).fetchall()
        if not count:
            return rows, None
        total = search.total_of_page(cursor, skip, limit, len(rows)) if key is not None or skip == 0 else None
        if total is None:  # a full page (or one past a cursor): count the matches, up to COUNT_CAP
            total = min(int(db.execute(sql.count, sql.count_args).fetchone()[0]), search.COUNT_CAP)
        return rows, total

    @_waits(write=False)
    async def task_search(
        self, flt: TaskFilter, cursor: tuple[int, str] | None, limit: int, newest_first: bool, count: bool = True
    ) -> tuple[list[tuple[Any, ...]], int | None]:
        sql = task_search.build(flt, cursor, limit, newest_first)
        db = self._conn
        rows = db.execute(sql.page, sql.page_args).fetchall()
        total = search.total_of_page(cursor, 0, limit, len(rows)) if count else None
        if count and total is None:  # a full page (or one past a cursor): count the matches, up to COUNT_CAP
            total = db.execute(sql.count, sql.count_args).fetchone()[0]
        return rows, total

    @_waits(write=False)
    async def poll_candidates(self, tenant: str, name: str, now: int, limit: int,
                              domain: str | None = None) -> list[tuple[Any, ...]]:
        return self._conn.execute(
            _ATT_SELECT + " WHERE tenant = ? AND name = ? AND status = 'SCHEDULED' AND kind = 'worker'"
            " AND visible = 1 AND callback_after_ms <= ? AND json_extract(extra, '$.domain') IS ?"
            " ORDER BY scheduled_ms, seq LIMIT ?",
            (tenant, name, now, domain, limit),
        ).fetchall()

    @_waits(write=False)
    async def queue_sizes(self, tenant: str) -> list[tuple[Any, ...]]:
        return self._conn.execute(
            "SELECT name, json_extract(extra, '$.domain') AS domain, COUNT(*) FROM attempts WHERE tenant = ?"
            " AND status = 'SCHEDULED' AND kind = 'worker' AND visible = 1 GROUP BY name, domain"
            " ORDER BY name, domain", (tenant,)).fetchall()

    @_waits(write=False)
    async def queue_leased(self, tenant: str) -> list[tuple[Any, ...]]:
        return self._conn.execute(
            "SELECT name, json_extract(extra, '$.domain') AS domain, COUNT(*) FROM attempts WHERE tenant = ?"
            " AND status = 'IN_PROGRESS' AND kind = 'worker' AND visible = 1 GROUP BY name, domain"
            " ORDER BY name, domain", (tenant,)).fetchall()

    @_waits(write=True)
    async def claim(self, claims: list[Claim]) -> list[str]:
        with transaction(self._conn) as db:
            return [c.key for c in claims if _claim_one(db, c)]

    @_waits(write=True)
    async def claim_gated(self, gate: Gate, claims: list[Claim]) -> tuple[list[str], bool]:
        # BEGIN IMMEDIATE makes this the only writer of the file: the count cannot move under us
        with transaction(self._conn) as db:
            row = db.execute(_GATE_READ, (gate.tenant, gate.name)).fetchone()
            tally = gates.Tally(db.execute(_IN_PROGRESS, (gate.tenant, gate.name)).fetchone()[0],
                                gates.starts_of(row[0] if row else None), gate.now)
            got: list[str] = []
            for batch in tally.batches(claims):
                for c in batch:
                    if _claim_one(db, c):
                        got.append(c.key)
                        tally.took(c)
            text = tally.kept(claims)
            if text is not None:
                db.execute(_GATE_WRITE, (gate.tenant, gate.name, text))
        return got, tally.held

    def _update(self, table: str, cols: tuple[str, ...], where: str) -> str:
        k = (table + where, cols)
        sql = self._update_sql.get(k)
        if sql is None:
            sql = f"UPDATE {table} SET {', '.join(f'{c} = ?' for c in cols)} WHERE {where}"
            self._update_sql[k] = sql
        return sql

    @_waits(write=True)
    async def commit(self, cs: Changeset) -> None:
        with transaction(self._conn) as db:
            for timer_id in cs.timer_claims:
                if db.execute("DELETE FROM timers WHERE id = ?", (timer_id,)).rowcount != 1:
                    raise ClaimLost(timer_id)
            for cols, values, execution_id, expected in cs.exec_updates:
                sql = self._update("executions", (*cols, "row_version"), "id = ? AND row_version = ?")
                if db.execute(sql, (*values, expected + 1, execution_id, expected)).rowcount != 1:
                    raise VersionConflict(execution_id)
            for execution_id in cs.version_bumps:
                db.execute("UPDATE executions SET row_version = row_version + 1 WHERE id = ?", (execution_id,))
            if cs.hide_all:
                db.executemany(
                    "UPDATE attempts SET visible = 0, retry_pending = 0 WHERE execution_id = ? AND visible = 1",
                    [(eid,) for eid in cs.hide_all],
                )
            if cs.snapshots:
                db.executemany("INSERT OR IGNORE INTO snapshots (hash, body) VALUES (?, ?)", cs.snapshots)
            if cs.exec_inserts:
                try:
                    db.executemany(_EXEC_INSERT, cs.exec_inserts)
                except sqlite3.IntegrityError as e:
                    raise DuplicateKey(str(e)) from None
            if cs.attempt_inserts:
                db.executemany(_ATT_INSERT, cs.attempt_inserts)
            if cs.attempt_updates:
                groups: dict[tuple[str, ...], list[tuple[Any, ...]]] = {}
                for cols, values, key in cs.attempt_updates:
                    groups.setdefault(cols, []).append((*values, key))
                for cols, rows in groups.items():
                    db.executemany(self._update("attempts", cols, "key = ?"), rows)
            if cs.timer_inserts:
                db.executemany(_TIMER_INSERT, cs.timer_inserts)
            for execution_id, expected in cs.exec_deletes:
                if db.execute("DELETE FROM executions WHERE id = ? AND row_version = ?",
                              (execution_id, expected)).rowcount != 1:
                    raise VersionConflict(execution_id)
                db.execute("DELETE FROM attempts WHERE execution_id = ?", (execution_id,))
                db.execute("DELETE FROM timers WHERE execution_id = ?", (execution_id,))

    # -- timers and recovery -----------------------------------------------------------------
    @_waits(write=False)
    async def next_timer_due(self) -> int | None:
        row = self._conn.execute("SELECT MIN(due_ms) FROM timers").fetchone()
        return row[0] if row else None

    @_waits(write=False)
    async def timers_due(self, now: int, limit: int) -> list[tuple[Any, ...]]:
        return self._conn.execute(
            f"SELECT {', '.join(TIMER_COLS)} FROM timers WHERE due_ms <= ? ORDER BY due_ms LIMIT ?", (now, limit)
        ).fetchall()

    @_waits(write=False)
    async def attempts_in(self, kind: str, statuses: list[str]) -> list[tuple[Any, ...]]:
        return self._conn.execute(
            _ATT_SELECT + f" WHERE kind = ? AND visible = 1 AND status IN ({', '.join('?' * len(statuses))})",
            (kind, *statuses),
        ).fetchall()


def _claim_one(db: sqlite3.Connection, c: Claim) -> bool:
    cols = tuple(c.sets)
    sql = f"UPDATE attempts SET {', '.join(f'{k} = ?' for k in cols)} WHERE key = ? AND status = ?"
    args = (*c.sets.values(), c.key, c.expect_status)
    if c.expect_worker is not None:
        sql += " AND worker_id = ?"
        args = (*args, c.expect_worker)
    if db.execute(sql, args).rowcount != 1:
        return False
    db.execute("UPDATE executions SET row_version = row_version + 1 WHERE id = ?", (c.execution_id,))
    if c.timers:
        db.executemany(_TIMER_INSERT, c.timers)
    return True


