"""The SQL of an execution search, shared by both stores, shaped so every filter walks an index.

A page is read in index order and stops after ``limit`` rows: the filters that have an index
(tenant, name, status, correlation id, created time) lead it and ``created_ms, id`` follow.  A status
set is one branch per status (``status = ?`` keeps the index order; ``status IN (...)`` would sort
every match), merged and cut to the page; runs of any of several workflows (Cognite's
``workflowFilters``) are one branch per workflow and status the same way.  Keyset cursors
(``created_ms, id``) make a deep page cost what the first does.  A total counts at most ``COUNT_CAP`` matches: a dialect whose answer carries a
total reports it as "at least" past that bound, as a search index does (Elasticsearch stops tracking
total hits at 10,000), instead of reading every match of a busy workflow.

Statements use ``?`` placeholders; PostgreSQL's store swaps them for ``%s``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from wfgateway.engine.store.base import EXEC_COLS, SearchFilter

COUNT_CAP = 10_000
BRANCH_MAX = 480  # page branches (workflow x status) of one search (SQLite allows 500 per compound SELECT); more: one per workflow, statuses checked
COLUMNS = ", ".join(EXEC_COLS)

# (name, columns): migration 5 creates them; the plan test checks every search uses one of them
INDEXES: tuple[tuple[str, str], ...] = (
    ("executions_name_status_created", "tenant, name, status, created_ms, id"),
    ("executions_version_status_created", "tenant, name, def_version, status, created_ms, id"),
    ("executions_status_created", "tenant, status, created_ms, id"),
    ("executions_name_correlation", "tenant, name, correlation_id, created_ms, id"),
    ("executions_correlation_created", "tenant, correlation_id, created_ms, id"),
    ("executions_parent_created", "parent_execution_id, created_ms, id"),
    ("executions_dialect_created", "tenant, dialect, created_ms, id"),
    ("executions_dialect_status_created", "tenant, dialect, status, created_ms, id"),
)


@dataclass(frozen=True)
class SearchSQL:
    page: str
    page_args: list[Any]
    count: str
    count_args: list[Any]


def _filters(flt: SearchFilter) -> tuple[list[str], list[Any]]:
    where: list[str] = ["tenant = ?"]
    args: list[Any] = [flt.tenant]
    for column, value in (("name", flt.name), ("def_version", flt.def_version),
                          ("correlation_id", flt.correlation_id), ("parent_execution_id", flt.parent_execution_id),
                          ("dialect", flt.dialect)):
        if value is not None:
            where.append(f"{column} = ?")
            args.append(value)
    add_range(where, args, "created_ms", flt.created_from_ms, flt.created_to_ms)
    return where, args


def add_range(where: list[str], args: list[Any], column: str, low: int | None, high: int | None) -> None:
    """``column`` between ``low`` and ``high`` (inclusive; None: open on that side)."""
    if low is not None:
        where.append(f"{column} >= ?")
        args.append(low)
    if high is not None:
        where.append(f"{column} <= ?")
        args.append(high)


Part = tuple[list[str], list[Any]]  # conditions and their arguments


def _workflow_part(workflow: tuple[str, str | None]) -> Part:
    name, version = workflow
    return (["name = ?", "def_version = ?"], [name, version]) if version is not None else (["name = ?"], [name])


def _branches(flt: SearchFilter) -> list[Part]:
    """What each branch of the page adds to the common filters: one branch per workflow and status, so
    each walks an index in page order; past BRANCH_MAX branches, one per workflow with its statuses."""
    statuses = list(dict.fromkeys(flt.statuses or ()))
    workflow_parts: list[Part] = [_workflow_part(w) for w in dict.fromkeys(flt.workflows or ())] or [([], [])]
    if not statuses:
        status_parts: list[Part] = [([], [])]
    elif len(statuses) == 1 or len(workflow_parts) * len(statuses) <= BRANCH_MAX:
        status_parts = [(["status = ?"], [s]) for s in statuses]
    else:
        status_parts = [([f"status IN ({', '.join('?' * len(statuses))})"], statuses)]
    return [(w[0] + st[0], w[1] + st[1]) for w in workflow_parts for st in status_parts]


def _page(flt: SearchFilter, cursor: tuple[int, str] | None, limit: int, newest_first: bool, columns: str
          ) -> tuple[str, list[Any]]:
    where, args = _filters(flt)
    op, order = ("<", "DESC") if newest_first else (">", "ASC")
    keyset, keyset_args = [], []
    if cursor is not None:
        keyset = [f"(created_ms {op} ? OR (created_ms = ? AND id {op} ?))"]
        keyset_args = [cursor[0], cursor[0], cursor[1]]
    tail = f"ORDER BY created_ms {order}, id {order} LIMIT ?"
    branches = _branches(flt)
    if len(branches) == 1:
        conds, branch_args = branches[0]
        return (f"SELECT {columns} FROM executions WHERE {' AND '.join(where + conds + keyset)} {tail}",
                [*args, *branch_args, *keyset_args, limit])
    selects, page_args = [], []
    for conds, branch_args in branches:
        selects.append(f"SELECT * FROM (SELECT {columns} FROM executions"
                       f" WHERE {' AND '.join(where + conds + keyset)} {tail}) AS b")
        page_args.extend([*args, *branch_args, *keyset_args, limit])
    page_args.append(limit)
    return f"SELECT {columns} FROM ({' UNION ALL '.join(selects)}) AS u {tail}", page_args


def seek(flt: SearchFilter, cursor: tuple[int, str] | None, skip: int, newest_first: bool) -> tuple[str, list[Any]]:
    """The key (``created_ms, id``) of the ``skip``-th match after ``cursor``: an offset walked over
    the index entries alone (no row is read), so a page at an offset is then read by key."""
    keys, args = _page(flt, cursor, skip, newest_first, "created_ms, id")
    order = "DESC" if newest_first else "ASC"
    return (f"SELECT created_ms, id FROM ({keys}) AS k ORDER BY created_ms {order}, id {order} LIMIT 1 OFFSET ?",
            [*args, skip - 1])


def build(flt: SearchFilter, cursor: tuple[int, str] | None, limit: int, newest_first: bool) -> SearchSQL:
    where, args = _filters(flt)
    statuses = list(dict.fromkeys(flt.statuses or ()))
    page, page_args = _page(flt, cursor, limit, newest_first, COLUMNS)
    extra, extra_args = [], []
    if flt.workflows:
        parts = [_workflow_part(w) for w in dict.fromkeys(flt.workflows)]
        extra.append("(" + " OR ".join("(" + " AND ".join(c) + ")" for c, _ in parts) + ")")
        extra_args = [a for _, part_args in parts for a in part_args]
    if statuses:
        extra.append(f"status IN ({', '.join('?' * len(statuses))})")
        extra_args.extend(statuses)
    count = f"SELECT COUNT(*) FROM (SELECT 1 FROM executions WHERE {' AND '.join(where + extra)} LIMIT ?) AS c"
    return SearchSQL(page, page_args, count, [*args, *extra_args, COUNT_CAP])
