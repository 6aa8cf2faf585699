"""The SQL of an execution search, shared by both stores, shaped so every filter walks an index.

A page is read in index order and stops after ``limit`` rows: the filters that have an index
(tenant, name, status, correlation id, created time) lead it and ``created_ms, id`` follow.  A status
set is one branch per status (``status = ?`` keeps the index order; ``status IN (...)`` would sort
every match); runs of any of several workflows (Cognite's ``workflowFilters``) are one branch per
workflow and status the same way.  A few branches (``UNION_MAX``) are a union of index walks, merged
and cut to the page.  More are one join of the branches' values to an index walk per branch, each
reading at most ``limit`` index keys (``_many_page``): a union plans in time that grows faster than
its branches (PostgreSQL: 38 ms for 80, 100 ms for 200) and SQLite allows 500 per compound SELECT,
while this plans in the same ~0.3 ms whatever their number.  Keyset cursors (``(created_ms, id) <
(?, ?)``, a range of the index, not a filter) make a deep page cost what the first does.  A total
is at most ``COUNT_CAP``: a dialect whose answer carries a total reports it as "at least" past that
bound, as a search index does (Elasticsearch stops tracking total hits at 10,000).  Filters on workflow
names, statuses and dialect alone read it from the run counts (counts.py); others count matches on
the index, stopping at the bound, instead of reading every match of a busy workflow.

Statements use ``?`` placeholders; PostgreSQL's store swaps them for ``%s``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from typing import Any

from wfgateway.engine.store import counts
from wfgateway.engine.store.base import EXEC_COLS, SearchFilter

COUNT_CAP = 10_000
# page branches merged as a union; more are joined to their walks.  SQLite: the join is faster from 4
# on.  PostgreSQL: a union of up to 6 is faster once prepared (psycopg prepares a statement on its 5th
# run), planned afresh the join is faster from 6 on.
UNION_MAX = 3
UNION_MAX_LATERAL = 6
COLUMNS = ", ".join(EXEC_COLS)

# (name, columns): migrations 5, 6, 9 and 10 create them; the plan test checks every search uses one of them
INDEXES: tuple[tuple[str, str], ...] = (
    ("executions_name_status_created", "tenant, name, status, created_ms, id"),
    ("executions_version_status_created", "tenant, name, def_version, status, created_ms, id"),
    ("executions_status_created", "tenant, status, created_ms, id"),
    ("executions_name_correlation", "tenant, name, correlation_id, created_ms, id"),
    ("executions_correlation_created", "tenant, correlation_id, created_ms, id"),
    ("executions_parent_created", "parent_execution_id, created_ms, id"),
    ("executions_dialect_created", "tenant, dialect, created_ms, id"),
    ("executions_dialect_status_created", "tenant, dialect, status, created_ms, id"),
    ("executions_version_created", "tenant, name, def_version, created_ms, id"),  # migration 10
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


def _workflows(flt: SearchFilter) -> list[tuple[str, str | None]]:
    """The filter's workflows, each once; a version of a workflow also asked for in any version is
    dropped (its runs would be two branches' matches, so a page would hold them twice)."""
    workflows = list(dict.fromkeys(flt.workflows or ()))
    any_version = {n for n, v in workflows if v is None}
    return [(n, v) for n, v in workflows if v is None or n not in any_version]


def _branches(flt: SearchFilter) -> list[Part]:
    """What each branch of the page adds to the common filters: one branch per workflow and status, so
    each walks an index in page order."""
    statuses = [(["status = ?"], [s]) for s in dict.fromkeys(flt.statuses or ())] or [([], [])]
    workflow_parts: list[Part] = [_workflow_part(w) for w in _workflows(flt)] or [([], [])]
    return [(w[0] + st[0], w[1] + st[1]) for w in workflow_parts for st in statuses]


def branch_count(flt: SearchFilter) -> int:
    """How many index walks a page of ``flt`` merges (one per workflow and status)."""
    return len(_branches(flt))


def _keyset(cursor: tuple[int, str] | None, newest_first: bool) -> tuple[list[str], list[Any]]:
    """Rows past the cursor: a row-value comparison, which both stores walk as a range of the index
    (an ``OR`` of two comparisons would be a filter that reads every row before the cursor)."""
    if cursor is None:
        return [], []
    return [f"(created_ms, id) {'<' if newest_first else '>'} (?, ?)"], [cursor[0], cursor[1]]


def _page(flt: SearchFilter, cursor: tuple[int, str] | None, limit: int, newest_first: bool, columns: str,
          lateral: bool = False) -> tuple[str, list[Any]]:
    where, args = _filters(flt)
    order = "DESC" if newest_first else "ASC"
    keyset, keyset_args = _keyset(cursor, newest_first)
    tail = f"ORDER BY created_ms {order}, id {order} LIMIT ?"
    branches = _branches(flt)
    if len(branches) == 1:
        conds, branch_args = branches[0]
        return (f"SELECT {columns} FROM executions WHERE {' AND '.join(where + conds + keyset)} {tail}",
                [*args, *branch_args, *keyset_args, limit])
    if len(branches) > (UNION_MAX_LATERAL if lateral else UNION_MAX):
        return _many_page(flt, cursor, limit, newest_first, columns, lateral)
    selects, page_args = [], []
    for conds, branch_args in branches:
        selects.append(f"SELECT * FROM (SELECT {columns} FROM executions"
                       f" WHERE {' AND '.join(where + conds + keyset)} {tail}) AS b")
        page_args.extend([*args, *branch_args, *keyset_args, limit])
    page_args.append(limit)
    return f"SELECT {columns} FROM ({' UNION ALL '.join(selects)}) AS u {tail}", page_args


KEYS = "created_ms, id"


def _groups(flt: SearchFilter) -> list[tuple[list[str], list[tuple[str, ...]]]]:
    """The page's branches by the columns they match: (columns, one tuple of values per branch); the
    workflows without a version match (name[, status]), those with one (name, def_version[, status])."""
    statuses = list(dict.fromkeys(flt.statuses or ()))
    workflows = _workflows(flt)
    groups: list[tuple[list[str], list[tuple[str, ...]]]] = [([], [()])]
    if workflows:
        groups = [(["name"], [(n,) for n, v in workflows if v is None]),
                  (["name", "def_version"], [(n, v) for n, v in workflows if v is not None])]
    if statuses:
        groups = [([*cols, "status"], [(*v, s) for v in values for s in statuses]) for cols, values in groups]
    return [(cols, values) for cols, values in groups if values]


def _many_page(flt: SearchFilter, cursor: tuple[int, str] | None, limit: int, newest_first: bool, columns: str,
               lateral: bool) -> tuple[str, list[Any]]:
    """Many branches as one join per group (``_groups``): the keys of each branch's first ``limit``
    matches are read from its index alone, the page is cut from them and its rows are read by id.
    PostgreSQL joins the branches (``unnest``ed arrays) LATERALly to an index walk of at most
    ``limit`` keys.  SQLite has no LATERAL: it joins the branches (``json_each`` of one JSON array) to
    the index range from each branch's ``limit``-th key (an offset over the index entries) on.  Either
    reads at most ``limit`` keys per branch, and its text does not grow with the branches."""
    where, args = _filters(flt)
    order = "DESC" if newest_first else "ASC"
    keyset, keyset_args = _keyset(cursor, newest_first)
    tail = f"ORDER BY created_ms {order}, id {order}"
    parts, part_args = [], []
    for cols, values in _groups(flt):
        names = [f"v{i}" for i in range(len(cols))]
        match = [f"{c} = b.{n}" for c, n in zip(cols, names, strict=True)]
        conds = " AND ".join(where + match + keyset)
        if lateral:
            arrays = ", ".join("?::text[]" for _ in cols)
            parts.append(f"SELECT k.created_ms, k.id FROM unnest({arrays}) AS b({', '.join(names)}) CROSS JOIN"
                         f" LATERAL (SELECT {KEYS} FROM executions WHERE {conds} {tail} LIMIT ?) AS k")
            part_args.extend([*([v[i] for v in values] for i in range(len(cols))), *args, *keyset_args, limit])
            continue
        edge, unbounded = (">=", -(2 ** 63)) if newest_first else ("<=", 2 ** 63 - 1)
        branch = ", ".join(f"json_extract(value, '$[{i}]')" for i in range(len(cols)))
        parts.append(
            f"SELECT * FROM (WITH b({', '.join(names)}) AS (SELECT {branch} FROM json_each(?))"
            f" SELECT {KEYS} FROM b CROSS JOIN executions WHERE {conds} AND created_ms {edge} coalesce(("
            f"SELECT created_ms FROM executions WHERE {conds} {tail} LIMIT 1 OFFSET ?), ?))")
        part_args.extend([json.dumps(values), *args, *keyset_args, *args, *keyset_args, limit - 1, unbounded])
    keys = f"SELECT {KEYS} FROM ({' UNION ALL '.join(parts)}) AS u {tail} LIMIT ?"
    if columns == KEYS:
        return keys, [*part_args, limit]
    return (f"SELECT {columns} FROM executions WHERE id IN (SELECT id FROM ({keys}) AS p) {tail}",
            [*part_args, limit])


def seek(flt: SearchFilter, cursor: tuple[int, str] | None, skip: int, newest_first: bool, lateral: bool = False
         ) -> tuple[str, list[Any]]:
    """The key (``created_ms, id``) of the ``skip``-th match after ``cursor``: an offset walked over
    the index entries alone (no row is read), so a page at an offset is then read by key."""
    keys, args = _page(flt, cursor, skip, newest_first, KEYS, lateral)
    order = "DESC" if newest_first else "ASC"
    return (f"SELECT created_ms, id FROM ({keys}) AS k ORDER BY created_ms {order}, id {order} LIMIT 1 OFFSET ?",
            [*args, skip - 1])


ALL = 2**62  # "every match" as a LIMIT both databases take


def ids(flt: SearchFilter, lateral: bool = False) -> tuple[str, list[Any]]:
    """``created_ms, id`` of every match, oldest first, read from the index alone (the page's walk
    without a bound; a merge of several walks orders by both)."""
    return _page(flt, None, ALL, False, KEYS, lateral)


def total_of_page(cursor: tuple[int, str] | None, skip: int, limit: int, answered: int) -> int | None:
    """The bounded total a count would give, when the page already shows it: a first page (no cursor;
    ``skip`` matches passed over before it) that is not full holds the last match.  None: count."""
    if cursor is not None or answered >= limit:
        return None
    return min(skip + answered, COUNT_CAP)


def build(flt: SearchFilter, cursor: tuple[int, str] | None, limit: int, newest_first: bool, lateral: bool = False,
          pending_counts: bool = False) -> SearchSQL:
    """``lateral``: the store joins many branches LATERALly (PostgreSQL; SQLite has no LATERAL);
    ``pending_counts``: see ``total``."""
    page, page_args = _page(flt, cursor, limit, newest_first, COLUMNS, lateral)
    return SearchSQL(page, page_args, *total(flt, pending_counts))


def total(flt: SearchFilter, pending_counts: bool, cap: int = COUNT_CAP) -> tuple[str, list[Any]]:
    """The matches of ``flt``: of a filter the run counts keep, their sum (``pending_counts``: with the
    changes not yet folded, PostgreSQL's); of one with a time range besides, the sum of its whole days'
    counts and a walk of its partial days; of any other, a walk of the index.  A walk stops at ``cap``
    entries (the store caps the sum too; ``ALL``: exact)."""
    if counts.countable(flt):
        return counts.total_sql(flt, with_changes=pending_counts)
    span = counts.day_span(flt.created_from_ms, flt.created_to_ms) if counts.countable_by_day(flt) else None
    if span is None:
        return _walk_count(flt, cap)
    whole_days, args = counts.total_sql(flt, with_changes=pending_counts, span=span)
    parts = [f"({whole_days})"]
    for edge in (span.head, span.tail):
        if edge is not None:
            walk, walk_args = _walk_count(replace(flt, created_from_ms=edge[0], created_to_ms=edge[1]), cap)
            parts.append(f"({walk})")
            args.extend(walk_args)
    return "SELECT " + " + ".join(parts), args


def _walk_count(flt: SearchFilter, cap: int) -> tuple[str, list[Any]]:
    """The matches of ``flt`` counted on the index, at most ``cap`` of them."""
    where, args = _filters(flt)
    extra, extra_args = [], []
    if flt.workflows:
        parts = [_workflow_part(w) for w in dict.fromkeys(flt.workflows)]
        extra.append("(" + " OR ".join("(" + " AND ".join(c) + ")" for c, _ in parts) + ")")
        extra_args = [a for _, part_args in parts for a in part_args]
    statuses = list(dict.fromkeys(flt.statuses or ()))
    if statuses:
        extra.append(f"status IN ({', '.join('?' * len(statuses))})")
        extra_args.extend(statuses)
    count = f"SELECT COUNT(*) FROM (SELECT 1 FROM executions WHERE {' AND '.join(where + extra)} LIMIT ?) AS c"
    return count, [*args, *extra_args, cap]
