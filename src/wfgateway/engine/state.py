"""In-memory working copies of stored rows: an execution and its visible attempts.

Operations load an ``ExecState``, change it through plain attribute assignments, and the unit of work
turns the differences into a Changeset.  JSON columns keep the text they were loaded from together
with the decoded object: a JSON field that still holds the very same object is written back as that
text, so unchanged data is never re-encoded (assign new objects, never mutate loaded ones in place).
"""

from __future__ import annotations

from typing import Any

from wfgateway.core.model import DYNAMIC, Execution, TaskAttempt, TaskSpec, WorkflowDefinition
from wfgateway.core.statuses import ExecutionStatus, TaskStatus
from wfgateway.engine.codec import spec_from_dict, spec_to_dict
from wfgateway.engine.store.base import ATT_COLS, EXEC_COLS
from wfgateway.engine.util import dumps, loads

_STATUS = {s.value: s for s in TaskStatus}
_ESTATUS = {s.value: s for s in ExecutionStatus}
Scope = str | None


def _enc(obj: Any, cached: tuple[Any, str] | None) -> str | None:
    if cached is not None and cached[0] is obj:
        return cached[1]
    return None if obj is None else dumps(obj)


class AttRec:
    """One attempt row: the public TaskAttempt plus engine-only columns."""

    __slots__ = ("a", "key", "tenant", "retry_base", "retry_pending", "spec", "children", "params", "orig", "raw")

    def __init__(self, a: TaskAttempt, key: str, tenant: str) -> None:
        self.a = a
        self.key = key
        self.tenant = tenant
        self.retry_base = 0
        self.retry_pending = False
        self.spec: TaskSpec | None = None  # nested (dynamic) tasks carry their own spec
        self.children: list[TaskSpec] | None = None  # a dynamic container's expansion
        self.params: dict[str, Any] | None = None  # resolved params (secrets left as templates)
        self.orig: tuple[Any, ...] | None = None  # the row as loaded; None for a new row
        self.raw: dict[str, tuple[Any, str]] = {}

    @property
    def local(self) -> str:
        return self.spec.ref if self.spec is not None else self.a.ref

    @property
    def scope(self) -> Scope:
        return self.a.parent_attempt_id

    @classmethod
    def from_row(cls, row: tuple[Any, ...]) -> AttRec:
        (key, id_, execution_id, tenant, ref, name, kind, status, seq, attempt, input_, output, reason,
         worker_id, retried_from, retried, visible, parent_attempt_id, subworkflow_id, branch, poll_count,
         scheduled_ms, started_ms, ended_ms, updated_ms, lease_until_ms, callback_after_ms, logs, extra,
         retry_base, retry_pending, spec, children, params) = row
        raw: dict[str, tuple[Any, str]] = {}

        def dec(col: str, text: str | None, default: Any) -> Any:
            if text is None:
                return default
            obj = loads(text)
            raw[col] = (obj, text)
            return obj

        a = TaskAttempt(
            id=id_, execution_id=execution_id, ref=ref, name=name, kind=kind, status=_STATUS[status], seq=seq,
            attempt=attempt, input=dec("input", input_, {}), output=dec("output", output, {}), reason=reason,
            worker_id=worker_id, retried_from=retried_from, retried=bool(retried), visible=bool(visible),
            parent_attempt_id=parent_attempt_id, subworkflow_id=subworkflow_id, branch=branch,
            poll_count=poll_count, scheduled_ms=scheduled_ms, started_ms=started_ms, ended_ms=ended_ms,
            updated_ms=updated_ms, lease_until_ms=lease_until_ms, callback_after_ms=callback_after_ms,
            logs=dec("logs", logs, []), extra=dec("extra", extra, {}),
        )
        r = cls(a, key, tenant)
        r.retry_base = retry_base
        r.retry_pending = bool(retry_pending)
        if spec is not None:
            r.spec = spec_from_dict(loads(spec))
            raw["spec"] = (r.spec, spec)
        if children is not None:
            r.children = [spec_from_dict(d) for d in loads(children)]
            raw["children"] = (r.children, children)
        r.params = dec("params", params, None)
        r.orig = row
        r.raw = raw
        return r

    def row(self) -> tuple[Any, ...]:
        a, raw = self.a, self.raw
        spec = self.spec
        children = self.children
        return (
            self.key, a.id, a.execution_id, self.tenant, a.ref, a.name, a.kind, a.status.value, a.seq, a.attempt,
            _enc(a.input, raw.get("input")), _enc(a.output, raw.get("output")), a.reason, a.worker_id,
            a.retried_from, int(a.retried), int(a.visible), a.parent_attempt_id, a.subworkflow_id, a.branch,
            a.poll_count, a.scheduled_ms, a.started_ms, a.ended_ms, a.updated_ms, a.lease_until_ms,
            a.callback_after_ms, _enc(a.logs, raw.get("logs")), _enc(a.extra, raw.get("extra")), self.retry_base,
            int(self.retry_pending),
            None if spec is None else (raw["spec"][1] if "spec" in raw and raw["spec"][0] is spec
                                       else dumps(spec_to_dict(spec))),
            None if children is None else (raw["children"][1] if "children" in raw and raw["children"][0] is children
                                           else dumps([spec_to_dict(c) for c in children])),
            _enc(self.params, raw.get("params")),
        )


class ExecRec:
    """The execution row."""

    __slots__ = ("e", "def_hash", "next_seq", "deadline_ms", "orig", "raw")

    def __init__(self, e: Execution, def_hash: str, next_seq: int, deadline_ms: int = 0) -> None:
        self.e = e
        self.def_hash = def_hash
        self.next_seq = next_seq
        self.deadline_ms = deadline_ms  # when the execution times out (0: never); internal
        self.orig: tuple[Any, ...] | None = None
        self.raw: dict[str, tuple[Any, str]] = {}

    @classmethod
    def from_row(cls, row: tuple[Any, ...], definition: WorkflowDefinition) -> ExecRec:
        (id_, tenant, name, def_version, status, input_, output, variables, correlation_id, metadata, reason,
         parent_execution_id, parent_task_id, cloned_from, idempotency_key, dialect, priority, created_ms,
         started_ms, ended_ms, updated_ms, last_retried_ms, row_version, def_hash, extra, next_seq, deadline_ms) = row
        raw: dict[str, tuple[Any, str]] = {}

        def dec(col: str, text: str | None) -> Any:
            if text is None:
                return {}
            obj = loads(text)
            raw[col] = (obj, text)
            return obj

        e = Execution(
            id=id_, tenant=tenant, definition_name=name, definition_version=definition.version,
            status=_ESTATUS[status], input=dec("input", input_), output=dec("output", output),
            variables=dec("variables", variables), correlation_id=correlation_id, metadata=dec("metadata", metadata),
            reason=reason, parent_execution_id=parent_execution_id, parent_task_id=parent_task_id,
            cloned_from=cloned_from, idempotency_key=idempotency_key, dialect=dialect or "", priority=priority,
            created_ms=created_ms, started_ms=started_ms, ended_ms=ended_ms, updated_ms=updated_ms,
            last_retried_ms=last_retried_ms, version=row_version, definition=definition, extra=dec("extra", extra),
        )
        r = cls(e, def_hash, next_seq, deadline_ms)
        r.orig = row
        r.raw = raw
        return r

    def row(self) -> tuple[Any, ...]:
        e, raw = self.e, self.raw
        return (
            e.id, e.tenant, e.definition_name, str(e.definition_version), e.status.value,
            _enc(e.input, raw.get("input")), _enc(e.output, raw.get("output")), _enc(e.variables, raw.get("variables")),
            e.correlation_id, _enc(e.metadata, raw.get("metadata")), e.reason, e.parent_execution_id,
            e.parent_task_id, e.cloned_from, e.idempotency_key, e.dialect, e.priority, e.created_ms, e.started_ms,
            e.ended_ms, e.updated_ms, e.last_retried_ms, e.version, self.def_hash, _enc(e.extra, raw.get("extra")),
            self.next_seq, self.deadline_ms,
        )


def diff(cols: tuple[str, ...], old: tuple[Any, ...], new: tuple[Any, ...]) -> tuple[tuple[str, ...], tuple[Any, ...]]:
    names: list[str] = []
    values: list[Any] = []
    for i, c in enumerate(cols):
        if old[i] != new[i]:
            names.append(c)
            values.append(new[i])
    return tuple(names), tuple(values)


EXEC_DIFF_SKIP = EXEC_COLS.index("row_version")
ATT_KEY = ATT_COLS.index("key")


class ExecState:
    """An execution being worked on inside one unit of work."""

    def __init__(self, rec: ExecRec, atts: list[AttRec], *, new: bool = False) -> None:
        self.rec = rec
        self.e = rec.e
        self.definition: WorkflowDefinition = rec.e.definition  # type: ignore[assignment]
        self.new = new
        self.all: list[AttRec] = list(atts)  # every row loaded or created (visible or hidden now)
        self.cur: dict[tuple[Scope, str], AttRec] = {}
        self.by_id: dict[str, AttRec] = {}
        for r in atts:
            if r.a.visible:
                self._index(r)
        self.needs_decide = False
        self.propagate = False  # became terminal here: the parent's sub-workflow task must follow
        self.pending_children: list[AttRec] = []
        self.terminate_children: list[str] = []
        self.timers: list[tuple[int, str, str | None, str | None]] = []  # (due, kind, attempt key, payload)
        self.dispatch: list[str] = []  # http attempt keys to run after commit
        self.notify: set[tuple[str, str]] = set()  # (tenant, task name) queues that got work

    def _index(self, r: AttRec) -> None:
        k = (r.a.parent_attempt_id, r.local)
        old = self.cur.get(k)
        if old is None or (r.a.attempt, r.a.seq) >= (old.a.attempt, old.a.seq):
            self.cur[k] = r
        self.by_id[r.a.id] = r

    def add(self, r: AttRec) -> None:
        self.all.append(r)
        self._index(r)

    def next_seq(self) -> int:
        self.rec.next_seq += 1
        return self.rec.next_seq

    def visible(self) -> list[AttRec]:
        return [r for r in self.all if r.a.visible]

    def current(self, scope: Scope, local: str) -> AttRec | None:
        return self.cur.get((scope, local))

    def hide(self, scope: Scope, local: str) -> list[AttRec]:
        """Supersede every visible attempt of ``local`` in ``scope`` (and what they contain)."""
        hidden: list[AttRec] = []
        for r in self.all:
            if r.a.visible and r.a.parent_attempt_id == scope and r.local == local:
                hidden.append(r)
        for r in hidden:
            self._hide_one(r)
        self.cur.pop((scope, local), None)
        return hidden

    def _hide_one(self, r: AttRec) -> None:
        r.a.visible = False
        if self.by_id.get(r.a.id) is r:
            del self.by_id[r.a.id]
        if r.a.kind == DYNAMIC:
            for child in [c for c in self.all if c.a.visible and c.a.parent_attempt_id == r.a.id]:
                self._hide_one(child)
            for k in [k for k in self.cur if k[0] == r.a.id]:
                del self.cur[k]

    def execution(self, include_history: bool = False) -> Execution:
        """A fresh public Execution (its attempts are copies' owners: the state is not reused after this)."""
        e = self.e
        rows = self.all if include_history else [r for r in self.all if r.a.visible]
        rows = sorted(rows, key=lambda r: (r.a.seq, r.a.visible))
        out = Execution(**{**e.__dict__, "tasks": [r.a for r in rows]})
        return out
