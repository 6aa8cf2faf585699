"""PostgreSQL for engine tests: one throw-away schema per test, so runs never see each other's rows.

The server is the one at 127.0.0.1:5432 (database ``test``, trust auth); set ``WFG_TEST_PG_DSN`` to use
another.  Tests that need it carry the ``postgres`` marker (deselect with ``-m "not postgres"`` on a
machine without PostgreSQL); when it is selected and the server is down the test fails, it never skips.
"""

from __future__ import annotations

import atexit
import os
import secrets
import time
from collections.abc import Iterator

import psycopg
import pytest
from psycopg import sql

from wfgateway.engine.store.postgres import PostgresStore

# synchronous_commit=off: a commit is acknowledged before its WAL reaches the disk.  Nothing a test does
# depends on surviving a crash of the PostgreSQL *server* (engine processes are what the crash test
# kills), and per-test schemas cost many commits each, so the suite does not wait for fsync.
PG_DSN = os.environ.get("WFG_TEST_PG_DSN",
                        "postgresql://postgres@127.0.0.1:5432/test?options=-c%20synchronous_commit%3Doff")
PREFIX = "test_eng_"
STALE_AFTER_S = 3 * 3600
_swept = False


def new_schema_name() -> str:
    return f"{PREFIX}{int(time.time())}_{secrets.token_hex(4)}"


def _connect() -> psycopg.Connection:
    try:
        return psycopg.connect(PG_DSN, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as e:
        raise RuntimeError(
            f"PostgreSQL is not reachable at {PG_DSN} ({e}); start it or deselect with -m 'not postgres'"
        ) from None


def _sweep_stale(conn: psycopg.Connection) -> None:
    """Drop schemas a killed run left behind (named with their creation time, so only old ones go)."""
    rows = conn.execute("SELECT nspname FROM pg_namespace WHERE nspname LIKE %s", (PREFIX + "%",)).fetchall()
    cutoff = time.time() - STALE_AFTER_S
    for (name,) in rows:
        stamp = name[len(PREFIX):].split("_", 1)[0]
        if stamp.isdigit() and int(stamp) < cutoff:
            conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(name)))


def create_schema() -> str:
    global _swept
    name = new_schema_name()
    with _connect() as conn:
        if not _swept:
            _swept = True
            _sweep_stale(conn)
        conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(name)))
    return name


def drop_schema(name: str) -> None:
    with _connect() as conn:
        conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(name)))


_BY_DIR: dict[str, str] = {}


def schema_for(tmp_path: object) -> str:
    """The schema of one test directory, created on first use (so ``make_store(kind, tmp_path)`` can be
    called again and again for the SAME database, as the SQLite file is)."""
    key = str(tmp_path)
    if key not in _BY_DIR:
        _BY_DIR[key] = create_schema()
    return _BY_DIR[key]


def release_schema(tmp_path: object) -> None:
    name = _BY_DIR.pop(str(tmp_path), None)
    if name is not None:
        drop_schema(name)


@atexit.register
def _drop_leftovers() -> None:
    for key in list(_BY_DIR):
        try:
            release_schema(key)
        except Exception:
            pass


def pg_store(schema: str, **kwargs: object) -> PostgresStore:
    kwargs.setdefault("pool_size", 4)
    return PostgresStore(PG_DSN, schema=schema, **kwargs)  # type: ignore[arg-type]


@pytest.fixture
def pg_schema() -> Iterator[str]:
    """A fresh, empty schema for one test; dropped afterwards with everything in it."""
    name = create_schema()
    try:
        yield name
    finally:
        drop_schema(name)
