"""The SQL of a task search (visible attempts of one tenant), shared by both stores.

Like an execution search (search.py) a page is read in index order and stops after ``limit`` rows:
a task name leads ``attempts_name_scheduled``, a status ``attempts_status_scheduled``, an execution id
or a public id their own indexes; ``scheduled_ms, key`` order the page and make the keyset cursor.  The
total counts at most ``COUNT_CAP`` matches.  ``?`` placeholders; PostgreSQL's store swaps them for ``%s``.
"""

from __future__ import annotations

from typing import Any

from wfgateway.engine.store.base import ATT_COLS, TaskFilter
from wfgateway.engine.store.search import COUNT_CAP, SearchSQL

COLUMNS = ", ".join(ATT_COLS)

# (name, columns): migration 7 creates them
INDEXES: tuple[tuple[str, str], ...] = (
    ("attempts_name_scheduled", "tenant, name, scheduled_ms, key"),
    ("attempts_status_scheduled", "tenant, status, scheduled_ms, key"),
)


def _filters(flt: TaskFilter) -> tuple[list[str], list[Any]]:
    where: list[str] = ["tenant = ?", "visible = 1"]
    args: list[Any] = [flt.tenant]
    if flt.name is not None:
        where.append("name = ?")
        args.append(flt.name)
    for column, values in (("status", flt.statuses or []), ("execution_id", flt.execution_ids), ("id", flt.task_ids)):
        if values:
            where.append(f"{column} IN ({', '.join('?' * len(values))})")
            args.extend(values)
    if flt.scheduled_from_ms is not None:
        where.append("scheduled_ms >= ?")
        args.append(flt.scheduled_from_ms)
    if flt.scheduled_to_ms is not None:
        where.append("scheduled_ms <= ?")
        args.append(flt.scheduled_to_ms)
    return where, args


def build(flt: TaskFilter, cursor: tuple[int, str] | None, limit: int, newest_first: bool) -> SearchSQL:
    where, args = _filters(flt)
    op, order = ("<", "DESC") if newest_first else (">", "ASC")
    keyset, keyset_args = [], []
    if cursor is not None:
        keyset = [f"(scheduled_ms {op} ? OR (scheduled_ms = ? AND key {op} ?))"]
        keyset_args = [cursor[0], cursor[0], cursor[1]]
    page = (f"SELECT {COLUMNS} FROM attempts WHERE {' AND '.join(where + keyset)}"
            f" ORDER BY scheduled_ms {order}, key {order} LIMIT ?")
    count = f"SELECT COUNT(*) FROM (SELECT 1 FROM attempts WHERE {' AND '.join(where)} LIMIT ?) AS c"
    return SearchSQL(page, [*args, *keyset_args, limit], count, [*args, COUNT_CAP])
