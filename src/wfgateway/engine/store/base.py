"""The store interface the engine runs on; SQLite (store/sqlite.py) and PostgreSQL implement it.

The engine works optimistically: it reads rows, decides in memory, and hands the store one
``Changeset`` that must be applied in ONE transaction.  Every execution touched by a changeset is
updated with ``... WHERE id = ? AND row_version = ?``; a zero rowcount means another writer won and the
whole transaction is rolled back (``VersionConflict``), after which the engine re-reads and retries.
Work is claimed with conditional updates (``WHERE key = ? AND status = ?``) and a checked rowcount, so two
processes sharing one database never run the same task twice.

Rows travel as tuples in the column order of ``EXEC_COLS`` / ``ATT_COLS`` / ``TIMER_COLS``; JSON columns
hold text.  Keep SQL portable: TEXT, BIGINT, INTEGER (0/1 booleans), no vendor functions.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from wfgateway.core.errors import Unavailable
from wfgateway.core.model import TaskLimits
from wfgateway.engine.store.tables import StoreHome

EXEC_COLS: tuple[str, ...] = (
    "id", "tenant", "name", "def_version", "status", "input", "output", "variables", "correlation_id",
    "metadata", "reason", "parent_execution_id", "parent_task_id", "cloned_from", "idempotency_key",
    "dialect", "priority", "created_ms", "started_ms", "ended_ms", "updated_ms", "last_retried_ms",
    "row_version", "def_hash", "extra", "next_seq", "deadline_ms",
)
ATT_COLS: tuple[str, ...] = (
    "key", "id", "execution_id", "tenant", "ref", "name", "kind", "status", "seq", "attempt", "input",
    "output", "reason", "worker_id", "retried_from", "retried", "visible", "parent_attempt_id",
    "subworkflow_id", "branch", "poll_count", "scheduled_ms", "started_ms", "ended_ms", "updated_ms",
    "lease_until_ms", "callback_after_ms", "logs", "extra", "retry_base", "retry_pending", "spec",
    "children", "params",
)
TIMER_COLS: tuple[str, ...] = ("id", "due_ms", "execution_id", "attempt_key", "kind", "payload")

EXEC_JSON = frozenset({"input", "output", "variables", "metadata", "extra"})
ATT_JSON = frozenset({"input", "output", "logs", "extra", "spec", "children", "params"})

EXEC_IDX = {c: i for i, c in enumerate(EXEC_COLS)}
ATT_IDX = {c: i for i, c in enumerate(ATT_COLS)}


class StoreError(Exception):
    pass


class StoreUnavailable(StoreError, Unavailable):
    """The store cannot take this call now (disk full, I/O error, locked past the wait, database
    unreachable): nothing was written, and the same call may succeed later.  Dialects answer it with
    their vendor's retryable 503; ``cause`` is a short phrase for logs, /readyz and /metrics."""

    def __init__(self, message: str, *, cause: str) -> None:
        Unavailable.__init__(self, message, details={"cause": cause})
        self.cause = cause


class StoreOpenError(StoreError):
    """The store cannot be opened at start: ``str()`` is one line naming the file, the cause and the fix."""


class VersionConflict(StoreError):
    """An execution changed since it was read: the transaction was rolled back; re-read and retry."""


class ClaimLost(StoreError):
    """A timer or task another process claimed first: the transaction was rolled back; drop the work."""


class DuplicateKey(StoreError):
    """A unique key (idempotency key, definition version) already exists."""


@dataclass
class Changeset:
    """Everything one engine operation writes, applied atomically by ``Store.commit``."""

    snapshots: list[tuple[str, str]] = field(default_factory=list)  # (hash, body), insert if absent
    exec_inserts: list[tuple[Any, ...]] = field(default_factory=list)
    # (changed column names, their values, id, expected row_version); row_version is always bumped
    exec_updates: list[tuple[tuple[str, ...], tuple[Any, ...], str, int]] = field(default_factory=list)
    attempt_inserts: list[tuple[Any, ...]] = field(default_factory=list)
    # (changed column names, their values, key)
    attempt_updates: list[tuple[tuple[str, ...], tuple[Any, ...], str]] = field(default_factory=list)
    timer_inserts: list[tuple[Any, ...]] = field(default_factory=list)
    timer_claims: list[str] = field(default_factory=list)  # must still exist: deleted with rowcount check
    # executions whose visible attempts all become hidden (visible=0, retry_pending=0), applied after the
    # execution updates and before the attempt inserts; only sent to stores with ``supports_hide_all``
    hide_all: list[str] = field(default_factory=list)
    version_bumps: list[str] = field(default_factory=list)  # executions whose row_version is bumped blindly
    # (id, expected row_version): the execution is removed with every attempt (and so its logs) and timer
    # keyed by it; checked like an update, so a writer that changed it meanwhile makes the whole commit
    # fail (VersionConflict) instead of leaving its rows behind.  Executions linked to it are not removed.
    exec_deletes: list[tuple[str, int]] = field(default_factory=list)

    def empty(self) -> bool:
        return not (
            self.snapshots or self.exec_inserts or self.exec_updates or self.attempt_inserts or self.hide_all
            or self.attempt_updates or self.timer_inserts or self.timer_claims or self.version_bumps
            or self.exec_deletes
        )


@dataclass
class Claim:
    """Move one attempt out of ``expect_status`` (and ``expect_worker`` when given) by a conditional update."""

    key: str
    execution_id: str
    expect_status: str
    sets: dict[str, Any]
    expect_worker: str | None = None
    timers: list[tuple[Any, ...]] = field(default_factory=list)
    limits: TaskLimits | None = None  # checked by ``Store.claim_gated`` (store/gates.py)


@dataclass(frozen=True)
class Gate:
    """The worker task name whose claims ``Store.claim_gated`` serializes, and the time they count at."""

    tenant: str
    name: str
    now: int


@dataclass
class SearchFilter:
    tenant: str
    name: str | None = None
    def_version: str | None = None
    statuses: list[str] | None = None
    correlation_id: str | None = None
    created_from_ms: int | None = None
    created_to_ms: int | None = None
    parent_execution_id: str | None = None
    dialect: str | None = None  # the dialect whose call created the run (the web console's filter)
    # runs of any of these workflows: (name, version), version None for any (Cognite's workflowFilters)
    workflows: list[tuple[str, str | None]] | None = None

    def texts(self) -> tuple[str | None, ...]:
        """The texts the filter compares stored columns with."""
        return (self.tenant, self.name, self.def_version, self.correlation_id, self.parent_execution_id,
                self.dialect, *(part for w in self.workflows or () for part in w))


@dataclass
class TaskFilter:
    """Visible attempts of one tenant (store/task_search.py); list filters match any of their values."""

    tenant: str
    name: str | None = None
    statuses: list[str] | None = None
    execution_ids: list[str] = field(default_factory=list)
    task_ids: list[str] = field(default_factory=list)
    scheduled_from_ms: int | None = None
    scheduled_to_ms: int | None = None


class Store(StoreHome, Protocol):
    """The engine's tables, on a store that also keeps other components' tables (StoreHome)."""

    single_process: bool  # True when no other process shares the database (in-flight work is ours)
    # True if ``commit`` applies ``Changeset.hide_all`` (one statement instead of a row update per
    # superseded attempt); a store that says False gets per-attempt updates
    supports_hide_all: bool

    async def open(self) -> None:
        """Connect and apply schema migrations (``schema_version`` table)."""

    async def close(self) -> None: ...

    # definitions (body = JSON text of the definition)
    async def def_put(
        self, tenant: str, name: str, version: str, vnum: int | None, body: str, now: int, overwrite: bool
    ) -> int:
        """Insert or overwrite; returns the row's created_ms.  DuplicateKey if present and not overwrite."""

    async def def_get(self, tenant: str, name: str, version: str | None) -> str | None:
        """The body of that version, or of the latest (highest integer version, else newest) if None."""

    async def def_list(self, tenant: str, name: str | None, offset: int, limit: int) -> tuple[list[str], int]: ...

    async def def_delete(self, tenant: str, name: str, version: str | None) -> int: ...

    async def snapshot_get(self, digest: str) -> str | None: ...

    # executions and attempts
    async def exec_get(self, execution_id: str) -> tuple[Any, ...] | None: ...

    async def exec_stamp(self, execution_id: str) -> tuple[str, int, int] | None:
        """(tenant, created_ms, row_version) of the execution, without its JSON columns: what a reader
        needs to tell whether an answer rendered earlier is still current (every write to the execution
        or to any of its attempts bumps row_version; created_ms tells a re-created id apart)."""

    async def exec_by_idempotency(self, tenant: str, key: str) -> tuple[Any, ...] | None: ...

    async def attempts_of(self, execution_id: str, include_hidden: bool) -> list[tuple[Any, ...]]: ...

    async def attempt_by_id(self, public_id: str) -> tuple[Any, ...] | None:
        """The visible attempt with that public id."""

    async def attempt_by_key(self, key: str) -> tuple[Any, ...] | None: ...

    async def exec_search(
        self, flt: SearchFilter, cursor: tuple[int, str] | None, limit: int, newest_first: bool, count: bool = True,
        skip: int = 0,
    ) -> tuple[list[tuple[Any, ...]], int | None]:
        """A page of matching rows and the number of all matches (None without ``count``: counting
        reads every match, which a keyset page does not); ``skip`` passes over that many matches first,
        by their index keys alone (search.seek), an offset that reads no row."""

    async def exec_ids(self, flt: SearchFilter) -> list[str]:
        """The ids of every match, oldest first, from an index alone (no row is read)."""

    async def exec_count(self, flt: SearchFilter) -> int:
        """The number of matches, exact (``exec_search`` stops counting at COUNT_CAP): cheap for the
        filters the run counts keep (names, statuses, dialect, a time range), a full walk otherwise."""

    async def task_search(
        self, flt: TaskFilter, cursor: tuple[int, str] | None, limit: int, newest_first: bool, count: bool = True
    ) -> tuple[list[tuple[Any, ...]], int | None]:
        """A page of matching visible attempt rows and the number of
        all matches up to COUNT_CAP (None without ``count``)."""

    async def poll_candidates(self, tenant: str, name: str, now: int, limit: int,
                              domain: str | None = None) -> list[tuple[Any, ...]]:
        """Visible SCHEDULED worker attempts of ``name`` due at ``now`` in queue partition ``domain``
        (``extra["domain"]``; None: the attempts without one), highest priority and oldest first."""

    async def queue_sizes(self, tenant: str) -> list[tuple[Any, ...]]:
        """(name, domain, count) of every worker task name and queue partition (``extra["domain"]``, None
        without one) with visible SCHEDULED attempts: each partition's depth, None first."""

    async def queue_leased(self, tenant: str) -> list[tuple[Any, ...]]:
        """(name, domain, count) of every worker task name and queue partition with visible IN_PROGRESS
        attempts (polled, not done)."""

    async def claim(self, claims: list[Claim]) -> list[str]:
        """Apply each claim that still matches (one transaction); bump its execution's row_version and
        insert its timers.  Returns the keys claimed."""

    async def claim_gated(self, gate: Gate, claims: list[Claim]) -> tuple[list[str], bool]:
        """``claim`` for attempts of ``gate``'s task name, in one transaction that holds the name's gate
        (a row lock: other processes' gated claims of the name wait): each claim in order is applied only
        if its ``limits`` still hold (store/gates.py), counting the name's IN_PROGRESS attempts and its
        recent claims.  Returns the keys claimed and whether a limit held a claim back."""

    async def commit(self, cs: Changeset) -> None:
        """Apply ``cs`` in one transaction or raise (VersionConflict, ClaimLost, DuplicateKey)."""

    async def next_timer_due(self) -> int | None: ...

    async def timers_due(self, now: int, limit: int) -> list[tuple[Any, ...]]: ...

    async def attempts_in(self, kind: str, statuses: list[str]) -> list[tuple[Any, ...]]:
        """Visible attempts of ``kind`` in ``statuses`` (start-up recovery)."""
