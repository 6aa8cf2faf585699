"""Conductor's search ``query`` (``workflowType = 'x' AND status IN (FAILED, COMPLETED)``) -> search filters,
for workflow searches (``parse_query``) and task searches (``parse_task_query``: the same grammar over a
task's fields)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from wfgateway.core.errors import InvalidArgument
from wfgateway.core.statuses import ExecutionStatus, TaskStatus

_CLAUSE = re.compile(
    r"^\s*(?P<field>[A-Za-z_]\w*)\s*(?P<op>=|!=|>=|<=|>|<|IN\b)\s*(?P<value>.+?)\s*$", re.IGNORECASE
)
_AND = re.compile(r"\s+AND\s+", re.IGNORECASE)


@dataclass
class Filters:
    name: str | None = None
    version: int | None = None
    statuses: list[ExecutionStatus] | None = None
    correlation_id: str | None = None
    created_from_ms: int | None = None
    created_to_ms: int | None = None
    parent_execution_id: str | None = None
    workflow_ids: list[str] = field(default_factory=list)


@dataclass
class TaskFilters:
    name: str | None = None
    statuses: list[TaskStatus] | None = None
    workflow_ids: list[str] = field(default_factory=list)
    task_ids: list[str] = field(default_factory=list)
    scheduled_from_ms: int | None = None
    scheduled_to_ms: int | None = None


def _clauses(query: str | None) -> list[tuple[str, str, list[str], str]]:
    """(field, operator, values, clause) of each clause; InvalidArgument (400) for one that does not parse."""
    if not query or not query.strip():
        return []
    out = []
    for clause in _AND.split(query.strip()):
        match = _CLAUSE.match(clause)
        if not match:
            raise InvalidArgument(f"Invalid search query clause: {clause!r}")
        fld, op, raw = match.group("field"), match.group("op").upper(), match.group("value")
        out.append((fld, op, _values(raw) if op == "IN" else [_unquote(raw)], clause))
    return out


def parse_query(query: str | None) -> Filters:
    """Filters for the clauses wfgateway understands; InvalidArgument (400) names any it does not."""
    filters = Filters()
    for fld, op, values, clause in _clauses(query):
        _apply(filters, fld, op, values, clause)
    return filters


def parse_task_query(query: str | None) -> TaskFilters:
    """A task search's filters: ``taskType``/``taskDefName = x`` (the task's name), ``status``,
    ``workflowId``, ``taskId`` (``=`` or ``IN``), ``scheduledTime > / < epochMillis``; 400 for others."""
    filters = TaskFilters()
    for fld, op, values, clause in _clauses(query):
        single = op == "=" or (op == "IN" and len(values) == 1)
        if fld == "status" and op in ("=", "IN"):
            try:
                filters.statuses = [TaskStatus(v.upper()) for v in values]
            except ValueError:
                raise InvalidArgument(f"Invalid task status in search query: {clause!r}") from None
        elif fld in ("taskType", "taskDefName") and single:
            filters.name = values[0]
        elif fld in ("workflowId", "workflowInstanceId") and op in ("=", "IN"):
            filters.workflow_ids = values
        elif fld == "taskId" and op in ("=", "IN"):
            filters.task_ids = values
        elif fld == "scheduledTime" and op in (">", ">=", "<", "<=") and values[0].isascii() and values[0].isdigit():
            if op.startswith(">"):
                filters.scheduled_from_ms = int(values[0]) + (1 if op == ">" else 0)
            else:
                filters.scheduled_to_ms = int(values[0]) - (1 if op == "<" else 0)
        else:
            raise InvalidArgument(f"Unsupported search query clause: {clause!r}")
    return filters


def _apply(filters: Filters, fld: str, op: str, values: list[str], clause: str) -> None:
    if fld == "status" and op in ("=", "IN"):
        try:
            filters.statuses = [ExecutionStatus(v.upper()) for v in values]
        except ValueError:
            raise InvalidArgument(f"Invalid workflow status in search query: {clause!r}") from None
    elif fld in ("workflowType", "workflowName") and (op == "=" or (op == "IN" and len(values) == 1)):
        filters.name = values[0]
    elif fld == "version" and op == "=" and values[0].isascii() and values[0].lstrip("-").isdigit():
        filters.version = int(values[0])
    elif fld == "correlationId" and op == "=":
        filters.correlation_id = values[0]
    elif fld == "parentWorkflowId" and op == "=":
        filters.parent_execution_id = values[0]
    elif fld == "workflowId" and op in ("=", "IN"):
        filters.workflow_ids = values
    elif fld in ("startTime", "createTime") and op in (">", ">=", "<", "<=") and values[0].isascii() and values[0].isdigit():
        if op.startswith(">"):
            filters.created_from_ms = int(values[0]) + (1 if op == ">" else 0)
        else:
            filters.created_to_ms = int(values[0]) - (1 if op == "<" else 0)
    else:
        raise InvalidArgument(f"Unsupported search query clause: {clause!r}")


def _values(raw: str) -> list[str]:
    inner = raw.strip()
    if not (inner.startswith("(") and inner.endswith(")")):
        raise InvalidArgument(f"IN needs a parenthesised list: {raw!r}")
    return [_unquote(v) for v in inner[1:-1].split(",") if v.strip()]


def _unquote(value: Any) -> str:
    text = str(value).strip()
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
        return text[1:-1]
    return text
