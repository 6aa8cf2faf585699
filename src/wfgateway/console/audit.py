"""The console's action history: who did what to which run, when, and what the vendor answered.

Each console action (and each refusal) is one row keyed by the run's id, shown in the run's history
on its page.  It lives in the engine's store (the persistence home, engine/store/tables.py): the same
SQLite file, or the PostgreSQL database every replica shares.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from typing import Any

from wfgateway.engine.store.tables import StoreHome, Tables

_MIGRATIONS = [
    ["CREATE TABLE console_audit (execution_id TEXT NOT NULL, tenant TEXT NOT NULL, at_ms BIGINT NOT NULL,"
     " subject TEXT NOT NULL, action TEXT NOT NULL, dialect TEXT NOT NULL, outcome TEXT NOT NULL,"
     " detail TEXT NOT NULL, seq BIGINT NOT NULL)",
     "CREATE INDEX console_audit_run ON console_audit (execution_id, tenant, at_ms, seq)"],
]
_COLUMNS = "execution_id, tenant, at_ms, subject, action, dialect, outcome, detail"


@dataclass(frozen=True)
class AuditEntry:
    execution_id: str
    tenant: str
    at_ms: int
    subject: str  # who (the console login's subject)
    action: str
    dialect: str  # whose operation carried it out
    outcome: str  # "done" or "refused"
    detail: str  # the vendor's refusal, or the run the action made

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


def now_ms() -> int:
    return int(time.time() * 1000)


class AuditLog:
    def __init__(self, home: StoreHome) -> None:
        self.tables = Tables(home, "console", _MIGRATIONS)
        self._seq = time.perf_counter_ns()  # orders entries of one millisecond (this process's order)

    async def record(self, entry: AuditEntry) -> None:
        self._seq += 1
        await self.tables.execute(f"INSERT INTO console_audit ({_COLUMNS}, seq) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                                  (*asdict(entry).values(), self._seq))

    async def history(self, execution_id: str, tenant: str) -> list[AuditEntry]:
        """The run's entries, oldest first (only those recorded for ``tenant``)."""
        rows = await self.tables.query(f"SELECT {_COLUMNS} FROM console_audit WHERE execution_id = ? AND tenant = ?"
                                       " ORDER BY at_ms, seq", (execution_id, tenant))
        return [AuditEntry(*row) for row in rows]
