"""The embedded store: one SQLite file in WAL mode (synchronous=NORMAL).

Calls are synchronous on the event loop thread on purpose: a WAL commit without fsync takes tens of
microseconds, far less than a hop to a worker thread, and one connection used from one thread keeps
every transaction atomic with respect to the engine's other coroutines.  ``BEGIN IMMEDIATE`` plus the
``row_version`` checks make several processes sharing one file safe as well.
"""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path
from typing import Any

from wfgateway.engine.store.base import (
    ATT_COLS,
    EXEC_COLS,
    TIMER_COLS,
    Changeset,
    Claim,
    ClaimLost,
    DuplicateKey,
    SearchFilter,
    VersionConflict,
)
from wfgateway.engine.store.schema import MIGRATIONS

_EXEC_SELECT = f"SELECT {', '.join(EXEC_COLS)} FROM executions"
_ATT_SELECT = f"SELECT {', '.join(ATT_COLS)} FROM attempts"
_EXEC_INSERT = f"INSERT INTO executions ({', '.join(EXEC_COLS)}) VALUES ({', '.join('?' * len(EXEC_COLS))})"
_ATT_INSERT = f"INSERT INTO attempts ({', '.join(ATT_COLS)}) VALUES ({', '.join('?' * len(ATT_COLS))})"
_TIMER_INSERT = f"INSERT INTO timers ({', '.join(TIMER_COLS)}) VALUES ({', '.join('?' * len(TIMER_COLS))})"


class _Checkpointer(threading.Thread):
    """Runs WAL checkpoints (copying pages into the database file, fsync) on its own connection and
    thread, so a commit on the event loop only appends to the WAL.  The in-line autocheckpoint stays
    as a safety net (at a larger size) should this thread fall behind."""

    def __init__(self, path: str, interval_s: float = 0.25) -> None:
        super().__init__(daemon=True, name="wfgateway-sqlite-checkpoint")
        self.path = path
        self.interval_s = interval_s
        self.halt = threading.Event()

    def run(self) -> None:
        try:
            db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        except sqlite3.Error:
            return
        try:
            db.execute("PRAGMA busy_timeout = 1000")
            while not self.halt.wait(self.interval_s):
                try:
                    db.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
                except sqlite3.Error:
                    pass
        finally:
            db.close()


class SQLiteStore:
    single_process = True
    supports_hide_all = True

    def __init__(self, path: str | Path, *, busy_timeout_ms: int = 10000, page_cache_mib: int = 8) -> None:
        self.path = str(path)
        self.busy_timeout_ms = busy_timeout_ms
        self.page_cache_mib = page_cache_mib
        self._db: sqlite3.Connection | None = None
        self._checkpointer: _Checkpointer | None = None
        self._update_sql: dict[tuple[str, tuple[str, ...]], str] = {}

    # -- lifecycle ---------------------------------------------------------------------------
    async def open(self) -> None:
        if self._db is not None:
            return
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False, cached_statements=512)
        db.execute(f"PRAGMA busy_timeout = {int(self.busy_timeout_ms)}")
        db.execute("PRAGMA journal_mode = WAL")
        db.execute("PRAGMA synchronous = NORMAL")
        db.execute("PRAGMA temp_store = MEMORY")
        # hot pages stay in memory up to this bound (config.yaml caches.sqlite_page_cache_mib)
        db.execute(f"PRAGMA cache_size = -{int(self.page_cache_mib) * 1024}")
        self._db = db
        self._migrate()
        if self.path != ":memory:":
            db.execute("PRAGMA wal_autocheckpoint = 10000")
            self._checkpointer = _Checkpointer(self.path)
            self._checkpointer.start()

    def _migrate(self) -> None:
        db = self._conn
        db.execute("BEGIN IMMEDIATE")
        try:
            db.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
            row = db.execute("SELECT MAX(version) FROM schema_version").fetchone()
            current = row[0] or 0
            for number, statements in enumerate(MIGRATIONS, start=1):
                if number <= current:
                    continue
                for sql in statements:
                    db.execute(sql)
                db.execute("INSERT INTO schema_version (version) VALUES (?)", (number,))
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise

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

    # -- definitions -------------------------------------------------------------------------
    async def def_put(
        self, tenant: str, name: str, version: str, vnum: int | None, body: str, now: int, overwrite: bool
    ) -> int:
        db = self._conn
        db.execute("BEGIN IMMEDIATE")
        try:
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
            db.execute("COMMIT")
            return created
        except BaseException:
            db.execute("ROLLBACK")
            raise

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

    async def def_delete(self, tenant: str, name: str, version: str | None) -> int:
        db = self._conn
        if version is None:
            cur = db.execute("DELETE FROM definitions WHERE tenant = ? AND name = ?", (tenant, name))
        else:
            cur = db.execute(
                "DELETE FROM definitions WHERE tenant = ? AND name = ? AND version = ?", (tenant, name, version)
            )
        return cur.rowcount

    async def snapshot_get(self, digest: str) -> str | None:
        row = self._conn.execute("SELECT body FROM snapshots WHERE hash = ?", (digest,)).fetchone()
        return row[0] if row else None

    # -- executions and attempts -------------------------------------------------------------
    async def exec_get(self, execution_id: str) -> tuple[Any, ...] | None:
        return self._conn.execute(_EXEC_SELECT + " WHERE id = ?", (execution_id,)).fetchone()

    async def exec_by_idempotency(self, tenant: str, key: str) -> tuple[Any, ...] | None:
        return self._conn.execute(
            _EXEC_SELECT + " WHERE tenant = ? AND idempotency_key = ?", (tenant, key)
        ).fetchone()

    async def attempts_of(self, execution_id: str, include_hidden: bool) -> list[tuple[Any, ...]]:
        if include_hidden:
            return self._conn.execute(
                _ATT_SELECT + " WHERE execution_id = ? ORDER BY seq, key", (execution_id,)
            ).fetchall()
        return self._conn.execute(
            _ATT_SELECT + " WHERE execution_id = ? AND visible = 1 ORDER BY seq", (execution_id,)
        ).fetchall()

    async def attempt_by_id(self, public_id: str) -> tuple[Any, ...] | None:
        return self._conn.execute(_ATT_SELECT + " WHERE id = ? AND visible = 1", (public_id,)).fetchone()

    async def attempt_by_key(self, key: str) -> tuple[Any, ...] | None:
        return self._conn.execute(_ATT_SELECT + " WHERE key = ?", (key,)).fetchone()

    async def exec_search(
        self, flt: SearchFilter, cursor: tuple[int, str] | None, limit: int, newest_first: bool
    ) -> tuple[list[tuple[Any, ...]], int]:
        where = ["tenant = ?"]
        args: list[Any] = [flt.tenant]
        if flt.name is not None:
            where.append("name = ?")
            args.append(flt.name)
        if flt.def_version is not None:
            where.append("def_version = ?")
            args.append(flt.def_version)
        if flt.statuses:
            where.append(f"status IN ({', '.join('?' * len(flt.statuses))})")
            args.extend(flt.statuses)
        if flt.correlation_id is not None:
            where.append("correlation_id = ?")
            args.append(flt.correlation_id)
        if flt.created_from_ms is not None:
            where.append("created_ms >= ?")
            args.append(flt.created_from_ms)
        if flt.created_to_ms is not None:
            where.append("created_ms <= ?")
            args.append(flt.created_to_ms)
        if flt.parent_execution_id is not None:
            where.append("parent_execution_id = ?")
            args.append(flt.parent_execution_id)
        base = " AND ".join(where)
        total = self._conn.execute(f"SELECT COUNT(*) FROM executions WHERE {base}", args).fetchone()[0]
        page_where, page_args = base, list(args)
        op, order = ("<", "DESC") if newest_first else (">", "ASC")
        if cursor is not None:
            page_where += f" AND (created_ms {op} ? OR (created_ms = ? AND id {op} ?))"
            page_args.extend([cursor[0], cursor[0], cursor[1]])
        rows = self._conn.execute(
            f"{_EXEC_SELECT} WHERE {page_where} ORDER BY created_ms {order}, id {order} LIMIT ?",
            (*page_args, limit),
        ).fetchall()
        return rows, total

    async def poll_candidates(self, tenant: str, name: str, now: int, limit: int) -> list[tuple[Any, ...]]:
        return self._conn.execute(
            _ATT_SELECT + " WHERE tenant = ? AND name = ? AND status = 'SCHEDULED' AND kind = 'worker'"
            " AND visible = 1 AND callback_after_ms <= ? ORDER BY scheduled_ms, seq LIMIT ?",
            (tenant, name, now, limit),
        ).fetchall()

    async def claim(self, claims: list[Claim]) -> list[str]:
        db = self._conn
        got: list[str] = []
        db.execute("BEGIN IMMEDIATE")
        try:
            for c in claims:
                cols = tuple(c.sets)
                sql = f"UPDATE attempts SET {', '.join(f'{k} = ?' for k in cols)} WHERE key = ? AND status = ?"
                args = (*c.sets.values(), c.key, c.expect_status)
                if c.expect_worker is not None:
                    sql += " AND worker_id = ?"
                    args = (*args, c.expect_worker)
                if db.execute(sql, args).rowcount != 1:
                    continue
                db.execute("UPDATE executions SET row_version = row_version + 1 WHERE id = ?", (c.execution_id,))
                if c.timers:
                    db.executemany(_TIMER_INSERT, c.timers)
                got.append(c.key)
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        return got

    def _update(self, table: str, cols: tuple[str, ...], where: str) -> str:
        k = (table + where, cols)
        sql = self._update_sql.get(k)
        if sql is None:
            sql = f"UPDATE {table} SET {', '.join(f'{c} = ?' for c in cols)} WHERE {where}"
            self._update_sql[k] = sql
        return sql

    async def commit(self, cs: Changeset) -> None:
        db = self._conn
        db.execute("BEGIN IMMEDIATE")
        try:
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
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise

    # -- timers and recovery -----------------------------------------------------------------
    async def next_timer_due(self) -> int | None:
        row = self._conn.execute("SELECT MIN(due_ms) FROM timers").fetchone()
        return row[0] if row else None

    async def timers_due(self, now: int, limit: int) -> list[tuple[Any, ...]]:
        return self._conn.execute(
            f"SELECT {', '.join(TIMER_COLS)} FROM timers WHERE due_ms <= ? ORDER BY due_ms LIMIT ?", (now, limit)
        ).fetchall()

    async def attempts_in(self, kind: str, statuses: list[str]) -> list[tuple[Any, ...]]:
        return self._conn.execute(
            _ATT_SELECT + f" WHERE kind = ? AND visible = 1 AND status IN ({', '.join('?' * len(statuses))})",
            (kind, *statuses),
        ).fetchall()
