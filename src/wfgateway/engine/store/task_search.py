"""The SQL of a task search (visible attempts of one tenant), shared by both stores.

Like an execution search (search.py) a page is read in index order and stops after ``limit`` rows:
a task name leads ``attempts_visible_name_scheduled``, a status ``attempts_visible_status_scheduled`` (a
status set is one branch per status, merged and cut to the page), no filter ``attempts_visible_scheduled``;
an execution id or a public id use their own indexes.  ``scheduled_ms, key`` order the page and make the
keyset cursor.  The three indexes hold the visible attempts only, so the total (at most ``COUNT_CAP``
matches) is counted from the index without reading an attempt.  ``?`` placeholders; PostgreSQL's store
swaps them for ``%s``.
"""

from __future__ import annotations

from typing import Any

from wfgateway.engine.store.base import ATT_COLS, TaskFilter
from wfgateway.engine.store.search import COUNT_CAP, SearchSQL, add_range

COLUMNS = ", ".join(ATT_COLS)

# (name, columns): migration 12 creates them, each ``WHERE visible = 1``
INDEXES: tuple[tuple[str, str], ...] = (
    ("attempts_visible_name_scheduled", "tenant, name, scheduled_ms, key, status, visible"),
    ("attempts_visible_status_scheduled", "tenant, status, scheduled_ms, key, visible"),
    ("attempts_visible_scheduled", "tenant, scheduled_ms, key, visible"),
)


def _filters(flt: TaskFilter) -> tuple[list[str], list[Any]]:
    where: list[str] = ["tenant = ?", "visible = 1"]
    args: list[Any] = [flt.tenant]
    if flt.name is not None:
        where.append("name = ?")
        args.append(flt.name)
    for column, values in (("execution_id", flt.execution_ids), ("id", flt.task_ids)):
        if values:
            where.append(f"{column} IN ({', '.join('?' * len(values))})")
            args.extend(values)
    add_range(where, args, "scheduled_ms", flt.scheduled_from_ms, flt.scheduled_to_ms)
    return where, args


def build(flt: TaskFilter, cursor: tuple[int, str] | None, limit: int, newest_first: bool) -> SearchSQL:
    where, args = _filters(flt)
    statuses = list(dict.fromkeys(flt.statuses or ()))
    op, order = ("<", "DESC") if newest_first else (">", "ASC")
    keyset, keyset_args = [], []
    if cursor is not None:  # a row value: a range of the index, not a filter over every row before it
        keyset = [f"(scheduled_ms, key) {op} (?, ?)"]
        keyset_args = [cursor[0], cursor[1]]
    tail = f"ORDER BY scheduled_ms {order}, key {order} LIMIT ?"
    if len(statuses) <= 1:
        status = ["status = ?"] if statuses else []
        page = f"SELECT {COLUMNS} FROM attempts WHERE {' AND '.join(where + status + keyset)} {tail}"
        page_args = [*args, *statuses, *keyset_args, limit]
    else:
        branches, page_args = [], []
        for s in statuses:
            branches.append(f"SELECT * FROM (SELECT {COLUMNS} FROM attempts"
                            f" WHERE {' AND '.join(where + ['status = ?'] + keyset)} {tail}) AS b")
            page_args.extend([*args, s, *keyset_args, limit])
        page = f"SELECT {COLUMNS} FROM ({' UNION ALL '.join(branches)}) AS u {tail}"
        page_args.append(limit)
    status_where = [f"status IN ({', '.join('?' * len(statuses))})"] if statuses else []
    count = f"SELECT COUNT(*) FROM (SELECT 1 FROM attempts WHERE {' AND '.join(where + status_where)} LIMIT ?) AS c"
    return SearchSQL(page, page_args, count, [*args, *statuses, COUNT_CAP])
