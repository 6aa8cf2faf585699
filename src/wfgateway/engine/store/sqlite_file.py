"""The SQLite file itself, apart from what the store keeps in it: why SQLite refused a call (the causes
a caller may retry), the transaction every write runs in, the checkpoint thread, the planner's
statistics and the one line an operator reads when the file cannot be opened."""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

OPTIMIZE_EVERY_S = 3600.0  # the planner's statistics are refreshed this often (and at open)
ANALYSIS_LIMIT = 1000  # rows sampled per index by ANALYZE: bounded time at any size
# SQLite's primary result codes (sqlite3.Error.sqlite_errorcode & 0xff) that make a call retryable later
CAUSES = {5: "locked", 6: "locked", 8: "read-only", 10: "I/O error", 13: "disk full"}


def cause_of(exc: sqlite3.Error) -> str | None:
    code = getattr(exc, "sqlite_errorcode", None)
    return CAUSES.get(code & 0xFF) if isinstance(code, int) else None


class Checkpointer(threading.Thread):
    """Runs WAL checkpoints (copying pages into the database file, fsync) on its own connection and
    thread, so a commit on the event loop only appends to the WAL.  The in-line autocheckpoint stays
    as a safety net (at a larger size) should this thread fall behind."""

    def __init__(self, path: str, interval_s: float = 0.25, optimize_s: float = OPTIMIZE_EVERY_S) -> None:
        super().__init__(daemon=True, name="wfgateway-sqlite-checkpoint")
        self.path = path
        self.interval_s = interval_s
        self.optimize_s = optimize_s
        self.halt = threading.Event()

    def run(self) -> None:
        try:
            db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        except sqlite3.Error:
            return
        try:
            db.execute("PRAGMA busy_timeout = 1000")
            next_optimize = time.monotonic() + self.optimize_s
            while not self.halt.wait(self.interval_s):
                try:
                    db.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
                    if time.monotonic() >= next_optimize:
                        next_optimize = time.monotonic() + self.optimize_s
                        optimize(db, at_open=False)
                except sqlite3.Error:
                    pass
        finally:
            db.close()


def optimize(db: sqlite3.Connection, at_open: bool) -> None:
    """Keep the planner's statistics fresh (``PRAGMA optimize`` re-analyzes only tables that changed
    much, each from a bounded sample): without them SQLite may pick an index that does not cover a
    search's filter.  At open every table is considered (0x10000), as SQLite's documentation advises."""
    db.execute(f"PRAGMA analysis_limit = {ANALYSIS_LIMIT}")
    db.execute("PRAGMA optimize = 0x10002" if at_open else "PRAGMA optimize")


@contextmanager
def transaction(db: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """``BEGIN IMMEDIATE`` .. ``COMMIT``; on any failure (a lock met at BEGIN, a full disk at COMMIT) the
    transaction is rolled back if SQLite has not done so itself, so nothing is half-written."""
    db.execute("BEGIN IMMEDIATE")
    try:
        yield db
        db.execute("COMMIT")
    except BaseException:
        if db.in_transaction:
            try:
                db.execute("ROLLBACK")
            except sqlite3.Error:
                pass  # the connection is failing; SQLite rolls back what it could not commit
        raise


def open_failure(path: str, exc: BaseException) -> str:
    """One line for an operator: the file, what is wrong, what to do."""
    folder = os.path.dirname(os.path.abspath(path))
    if isinstance(exc, (FileExistsError, NotADirectoryError)):
        return (f"store {path}: its folder {folder} is not a folder (or a part of its path is a file); "
                "fix: point store.path in config.yaml at a file inside a folder")
    if isinstance(exc, PermissionError):
        return f"store {path}: permission denied ({exc.strerror}); fix: let the gateway's user write {folder}"
    if isinstance(exc, OSError):
        return f"store {path}: cannot create its folder {folder} ({exc.strerror}); fix: create it or change store.path"
    message = str(exc)
    code = getattr(exc, "sqlite_errorcode", 0) & 0xFF
    if code == 26 or "not a database" in message:
        return (f"store {path}: the file is not an SQLite database ({message}); fix: point store.path at the "
                "gateway's database or at a new file (move this one away)")
    if code == 11:
        return f"store {path}: the database is corrupt ({message}); fix: restore it from a backup or move it away"
    if code == 13:
        return f"store {path}: no space left on the device ({message}); fix: free space in {folder}"
    if code in (5, 6):
        return (f"store {path}: the database stayed locked by another process ({message}); fix: end that "
                "process (an sqlite3 shell, a backup) or raise store.wait_ms")
    if code in (8, 14) or not os.access(folder, os.W_OK):
        return (f"store {path}: cannot open or write it ({message}); fix: let the gateway's user read and write "
                f"the file and its folder {folder}")
    return f"store {path}: cannot open it ({message}); fix: check the file and store.path in config.yaml"
