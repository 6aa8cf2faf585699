"""In-memory working copies of stored rows: an execution and its visible attempts.

Operations load an ``ExecState``, change it through plain attribute assignments, and the unit of work
turns the changes into a Changeset.  Loaded objects remember which fields were assigned since the load
(``_dirty``), so a commit updates only those columns and never re-encodes unchanged JSON (assign new
objects to JSON fields; never mutate loaded dicts or lists in place).
"""

from __future__ import annotations

import dataclasses
from typing import Any

from wfgateway.core.model import (
    CONTAINER_KINDS,
    ITERATION,
    Execution,
    TaskAttempt,
    TaskSpec,
    WorkflowDefinition,
)
from wfgateway.core.statuses import ExecutionStatus, TaskStatus
from wfgateway.engine.codec import spec_from_dict, spec_to_dict
from wfgateway.engine.util import dumps, loads

_STATUS = {s.value: s for s in TaskStatus}
_ESTATUS = {s.value: s for s in ExecutionStatus}
Scope = str | None
_MISSING = object()


def _changed(d: dict[str, Any], name: str, value: Any) -> bool:
    old = d.get(name, _MISSING)
    return old is not value and (type(old) is not type(value) or old != value)


def _lazy(name: str) -> property:
    slot, raw = "_v_" + name, "_raw_" + name

    def get(self: Any) -> Any:
        d = self.__dict__
        try:
            return d[slot]
        except KeyError:
            value = d[slot] = _loads_obj(d.pop(raw, None), {})
            return value

    return property(get)


class TrackedAttempt(TaskAttempt):
    """A TaskAttempt that remembers which fields changed since it was loaded, so a commit writes
    only those columns (and encodes no JSON it did not change).  ``input`` and ``output`` are decoded
    on first access only.  Assign new objects to JSON fields, never mutate loaded ones in place."""

    def __setattr__(self, name: str, value: Any) -> None:
        d = self.__dict__
        dirty = d.get("_dirty")
        if name == "input" or name == "output":
            d.pop("_raw_" + name, None)
            name = "_v_" + name
            if dirty is not None and d.get(name, _MISSING) is not value:
                dirty.add(name[3:])
        elif dirty is not None and _changed(d, name, value):
            dirty.add(name)
        d[name] = value

    input = _lazy("input")  # type: ignore[assignment]
    output = _lazy("output")  # type: ignore[assignment]


class TrackedExecution(Execution):
    def __setattr__(self, name: str, value: Any) -> None:
        d = self.__dict__
        dirty = d.get("_dirty")
        if dirty is not None and _changed(d, name, value):
            dirty.add(name)
        d[name] = value


def _decoded_on_read(name: str) -> property:
    """A JSON column kept as its stored text until first read; assigning replaces it."""
    slot, raw = "_v_" + name, "_raw_" + name

    def get(self: Any) -> Any:
        d = self.__dict__
        text = d.pop(raw, _MISSING)  # most columns are read once: no KeyError raised on the first read
        if text is _MISSING:
            return d[slot]
        value = d[slot] = _loads_obj(text, {})
        return value

    def set_(self: Any, value: Any) -> None:
        self.__dict__.pop(raw, None)
        self.__dict__[slot] = value

    return property(get, set_)


class ListedExecution(Execution):
    """An execution of a search page.  Its JSON columns are decoded when first read: a listing shows
    few of them (Cognite's executions/list only metadata, a Conductor summary no variables), and
    decoding them all was most of the cost of loading a page.  Never part of a unit of work."""

    input = _decoded_on_read("input")  # type: ignore[assignment]
    output = _decoded_on_read("output")  # type: ignore[assignment]
    variables = _decoded_on_read("variables")  # type: ignore[assignment]
    metadata = _decoded_on_read("metadata")  # type: ignore[assignment]
    extra = _decoded_on_read("extra")  # type: ignore[assignment]


def _loads_obj(text: str | None, default: Any) -> Any:
    if text is None:
        return default
    if text == "{}":
        return {}
    if text == "[]":
        return []
    return loads(text)


def _dump_or_none(obj: Any) -> str | None:
    return None if obj is None else dumps(obj)


_ATT_ENCODE: dict[str, Any] = {
    "status": lambda v: v.value, "retried": int, "visible": int, "input": dumps, "output": dumps, "logs": dumps,
    "extra": dumps,
}
class AttRec:
    """One attempt row: the public TaskAttempt plus engine-only columns."""

    __slots__ = ("a", "key", "tenant", "retry_base", "retry_pending", "spec", "children", "params", "loaded",
                 "orig_status", "orig")

    def __init__(self, a: TaskAttempt, key: str, tenant: str) -> None:
        self.a = a
        self.key = key
        self.tenant = tenant
        self.retry_base = 0
        self.retry_pending = False
        self.spec: TaskSpec | None = None  # nested (dynamic) tasks carry their own spec
        self.children: list[TaskSpec] | None = None  # a dynamic container's expansion
        self.params: dict[str, Any] | None = None  # resolved params (secrets left as templates)
        self.loaded = False  # True: the row exists in the store (update); False: insert
        self.orig_status: str | None = None  # the status as loaded (for listeners)
        self.orig: tuple[Any, ...] = ()  # the engine-only columns as loaded

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
        a = TrackedAttempt.__new__(TrackedAttempt)
        a.__dict__.update({
            "id": id_, "execution_id": execution_id, "ref": ref, "name": name, "kind": kind,
            "status": _STATUS[status], "seq": seq, "attempt": attempt, "_raw_input": input_,
            "_raw_output": output, "reason": reason, "worker_id": worker_id,
            "retried_from": retried_from, "retried": bool(retried), "visible": bool(visible),
            "parent_attempt_id": parent_attempt_id, "subworkflow_id": subworkflow_id, "branch": branch,
            "poll_count": poll_count, "scheduled_ms": scheduled_ms, "started_ms": started_ms, "ended_ms": ended_ms,
            "updated_ms": updated_ms, "lease_until_ms": lease_until_ms, "callback_after_ms": callback_after_ms,
            "logs": _loads_obj(logs, []), "extra": _loads_obj(extra, {}), "_dirty": set(),
        })
        r = cls.__new__(cls)
        r.a = a
        r.key = key
        r.tenant = tenant
        r.retry_base = retry_base
        r.retry_pending = pending = bool(retry_pending)
        r.spec = spec_obj = None if spec is None else spec_from_dict(loads(spec))
        r.children = children_obj = None if children is None else [spec_from_dict(d) for d in loads(children)]
        r.params = params_obj = None if params is None else loads(params)
        r.loaded = True
        r.orig_status = status
        r.orig = (retry_base, pending, spec_obj, children_obj, params_obj)
        return r

    def insert_row(self) -> tuple[Any, ...]:
        a = self.a
        spec, children = self.spec, self.children
        inp = dumps(a.input) if a.input else "{}"
        out = inp if a.output is a.input else (dumps(a.output) if a.output else "{}")
        return (
            self.key, a.id, a.execution_id, self.tenant, a.ref, a.name, a.kind, a.status.value, a.seq, a.attempt,
            inp, out, a.reason, a.worker_id, a.retried_from, int(a.retried), int(a.visible),
            a.parent_attempt_id, a.subworkflow_id, a.branch, a.poll_count, a.scheduled_ms, a.started_ms,
            a.ended_ms, a.updated_ms, a.lease_until_ms, a.callback_after_ms, dumps(a.logs) if a.logs else "[]",
            dumps(a.extra) if a.extra else "{}", self.retry_base, int(self.retry_pending),
            None if spec is None else dumps(spec_to_dict(spec)),
            None if children is None else dumps([spec_to_dict(c) for c in children]),
            _dump_or_none(self.params),
        )

    def changes(self) -> tuple[tuple[str, ...], tuple[Any, ...]] | None:
        """The columns changed since load and their encoded values (None if nothing changed)."""
        adirty = self.a.__dict__.get("_dirty")
        o = self.orig
        internal = (self.retry_base != o[0] or self.retry_pending != o[1] or self.spec is not o[2]
                    or self.children is not o[3] or self.params is not o[4])
        if not adirty and not internal:
            return None
        cols: list[str] = []
        vals: list[Any] = []
        for name in sorted(adirty or ()):
            enc = _ATT_ENCODE.get(name)
            v = getattr(self.a, name)
            cols.append(name)
            vals.append(enc(v) if enc is not None and v is not None else v)
        if internal:
            if self.retry_base != o[0]:
                cols.append("retry_base")
                vals.append(self.retry_base)
            if self.retry_pending != o[1]:
                cols.append("retry_pending")
                vals.append(int(self.retry_pending))
            if self.spec is not o[2]:
                cols.append("spec")
                vals.append(None if self.spec is None else dumps(spec_to_dict(self.spec)))
            if self.children is not o[3]:
                cols.append("children")
                vals.append(None if self.children is None else dumps([spec_to_dict(c) for c in self.children]))
            if self.params is not o[4]:
                cols.append("params")
                vals.append(_dump_or_none(self.params))
        return tuple(cols), tuple(vals)


_EXEC_COLUMN = {"definition_name": "name", "definition_version": "def_version"}
_EXEC_ENCODE: dict[str, Any] = {
    "status": lambda v: v.value, "definition_version": str, "input": dumps, "output": dumps, "variables": dumps,
    "metadata": dumps, "extra": dumps,
}
_EXEC_SKIP = frozenset({"version", "definition", "tasks", "id"})
class ExecRec:
    """The execution row."""

    __slots__ = ("e", "def_hash", "next_seq", "deadline_ms", "loaded", "orig_status", "orig")

    def __init__(self, e: Execution, def_hash: str, next_seq: int, deadline_ms: int = 0) -> None:
        self.e = e
        self.def_hash = def_hash
        self.next_seq = next_seq
        self.deadline_ms = deadline_ms  # when the execution times out (0: never); internal
        self.loaded = False
        self.orig_status: str | None = None
        self.orig: tuple[Any, ...] = (def_hash, next_seq, deadline_ms)

    def internal_changed(self) -> bool:
        return (self.def_hash, self.next_seq, self.deadline_ms) != self.orig

    @classmethod
    def from_row(cls, row: tuple[Any, ...], definition: WorkflowDefinition) -> ExecRec:
        (id_, tenant, name, def_version, status, input_, output, variables, correlation_id, metadata, reason,
         parent_execution_id, parent_task_id, cloned_from, idempotency_key, dialect, priority, created_ms,
         started_ms, ended_ms, updated_ms, last_retried_ms, row_version, def_hash, extra, next_seq,
         deadline_ms) = row
        e = TrackedExecution.__new__(TrackedExecution)
        e.__dict__.update({
            "id": id_, "tenant": tenant, "definition_name": name, "definition_version": definition.version,
            "status": _ESTATUS[status], "input": _loads_obj(input_, {}), "output": _loads_obj(output, {}),
            "variables": _loads_obj(variables, {}), "correlation_id": correlation_id,
            "metadata": _loads_obj(metadata, {}), "reason": reason, "parent_execution_id": parent_execution_id,
            "parent_task_id": parent_task_id, "cloned_from": cloned_from, "idempotency_key": idempotency_key,
            "dialect": dialect or "", "priority": priority, "created_ms": created_ms, "started_ms": started_ms,
            "ended_ms": ended_ms, "updated_ms": updated_ms, "last_retried_ms": last_retried_ms,
            "version": row_version, "definition": definition, "tasks": [], "extra": _loads_obj(extra, {}),
            "_dirty": set(),
        })
        r = cls(e, def_hash, next_seq, deadline_ms)
        r.loaded = True
        r.orig_status = status
        return r

    @staticmethod
    def listed(row: tuple[Any, ...], definition: WorkflowDefinition) -> Execution:
        """The execution of a search page's row (a ListedExecution: JSON decoded when read)."""
        (id_, tenant, name, _def_version, status, input_, output, variables, correlation_id, metadata, reason,
         parent_execution_id, parent_task_id, cloned_from, idempotency_key, dialect, priority, created_ms,
         started_ms, ended_ms, updated_ms, last_retried_ms, row_version, _def_hash, extra, _next_seq,
         _deadline_ms) = row
        e = ListedExecution.__new__(ListedExecution)
        e.__dict__.update({
            "id": id_, "tenant": tenant, "definition_name": name, "definition_version": definition.version,
            "status": _ESTATUS[status], "_raw_input": input_, "_raw_output": output, "_raw_variables": variables,
            "correlation_id": correlation_id, "_raw_metadata": metadata, "reason": reason,
            "parent_execution_id": parent_execution_id, "parent_task_id": parent_task_id, "cloned_from": cloned_from,
            "idempotency_key": idempotency_key, "dialect": dialect or "", "priority": priority,
            "created_ms": created_ms, "started_ms": started_ms, "ended_ms": ended_ms, "updated_ms": updated_ms,
            "last_retried_ms": last_retried_ms, "version": row_version, "definition": definition, "tasks": [],
            "_raw_extra": extra,
        })
        return e

    def insert_row(self) -> tuple[Any, ...]:
        e = self.e
        return (
            e.id, e.tenant, e.definition_name, str(e.definition_version), e.status.value, dumps(e.input),
            dumps(e.output), dumps(e.variables), e.correlation_id, dumps(e.metadata), e.reason,
            e.parent_execution_id, e.parent_task_id, e.cloned_from, e.idempotency_key, e.dialect, e.priority,
            e.created_ms, e.started_ms, e.ended_ms, e.updated_ms, e.last_retried_ms, e.version, self.def_hash,
            dumps(e.extra), self.next_seq, self.deadline_ms,
        )

    def changes(self) -> tuple[tuple[str, ...], tuple[Any, ...]]:
        cols: list[str] = []
        vals: list[Any] = []
        d = self.e.__dict__
        for name in sorted(d.get("_dirty") or ()):
            if name in _EXEC_SKIP:
                continue
            enc = _EXEC_ENCODE.get(name)
            v = d[name]
            cols.append(_EXEC_COLUMN.get(name, name))
            vals.append(enc(v) if enc is not None and v is not None else v)
        for i, name in enumerate(("def_hash", "next_seq", "deadline_ms")):
            v = getattr(self, name)
            if v != self.orig[i]:
                cols.append(name)
                vals.append(v)
        return tuple(cols), tuple(vals)


def new_attempt(id: str, execution_id: str, ref: str, name: str, kind: str, status: TaskStatus, seq: int,
                attempt: int, retried_from: str | None, parent_attempt_id: str | None, now: int,
                extra: dict[str, Any]) -> TaskAttempt:
    """A new TaskAttempt without the dataclass constructor's per-field overhead (a hot path)."""
    a = TaskAttempt.__new__(TaskAttempt)
    a.__dict__.update({
        "id": id, "execution_id": execution_id, "ref": ref, "name": name, "kind": kind, "status": status,
        "seq": seq, "attempt": attempt, "input": {}, "output": {}, "reason": None, "worker_id": None,
        "retried_from": retried_from, "retried": False, "visible": True, "parent_attempt_id": parent_attempt_id,
        "subworkflow_id": None, "branch": None, "poll_count": 0, "scheduled_ms": now, "started_ms": 0,
        "ended_ms": 0, "updated_ms": now, "lease_until_ms": 0, "callback_after_ms": 0, "logs": [], "extra": extra,
    })
    return a


def public_fields(obj: Any) -> dict[str, Any]:
    """The dataclass fields of a (tracked) model object, without the engine's bookkeeping."""
    return {f.name: getattr(obj, f.name) for f in dataclasses.fields(obj)}



@dataclasses.dataclass
class PendingRules:
    """A name-resolved worker attempt whose rules the unit looks up before it starts (codec.RULES_FROM)."""

    rec: AttRec
    container: AttRec | None
    spec: TaskSpec
    params: dict[str, Any]
    delay_ms: int


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
        self.dynamic = False  # any container (dynamic, loop) among the attempts (the decider skips the scan if not)
        self.attempts_loaded = True  # False: loaded without its attempts (see Unit.load)
        self.hide_all = False  # supersede every visible attempt in the store (see Changeset.hide_all)
        self.removed = False  # deleted with its attempts and timers by this unit (see Changeset.exec_deletes)
        for r in atts:
            if r.a.visible:
                self._index(r)
        self.needs_decide = False
        self.propagate = False  # became terminal here: the parent's sub-workflow task must follow
        self.failure_pending = False  # failed by itself: start the definition's on_failure workflow
        self.pending_children: list[AttRec] = []
        self.pending_starts: list[tuple[AttRec, dict[str, Any]]] = []  # start tasks and what they start
        self.pending_rules: list[PendingRules] = []  # worker attempts waiting for their name's rules
        self.start_depth = 0  # how many start tasks of this unit led to this execution (bounds a runaway chain)
        self.terminate_children: list[str] = []
        self.timers: list[tuple[int, str, str | None, str | None]] = []  # (due, kind, attempt key, payload)
        self.dispatch: list[str] = []  # http attempt keys to run after commit
        self.notify: set[tuple[str, str]] = set()  # (tenant, task name) queues that got work

    def _index(self, r: AttRec) -> None:
        if r.a.kind in CONTAINER_KINDS:
            self.dynamic = True
        k = (r.a.parent_attempt_id, r.local)
        old = self.cur.get(k)
        if old is None or (r.a.attempt, r.a.seq) >= (old.a.attempt, old.a.seq):
            self.cur[k] = r
        self.by_id[r.a.id] = r

    def add(self, r: AttRec) -> None:
        self.all.append(r)
        self._index(r)

    def discard(self, r: AttRec) -> None:
        """Forget an attempt made in this unit that is not to be kept (nothing of it is written): the
        attempt before it is current again, and no longer marked retried."""
        self.all.remove(r)
        if self.by_id.get(r.a.id) is r:
            del self.by_id[r.a.id]
        k = (r.a.parent_attempt_id, r.local)
        if self.cur.get(k) is r:
            del self.cur[k]
            for o in self.all:
                if o.a.visible and (o.a.parent_attempt_id, o.local) == k:
                    self._index(o)
        before = self.by_id.get(r.a.retried_from) if r.a.retried_from else None
        if before is not None:
            before.a.retried = False

    def next_seq(self) -> int:
        self.rec.next_seq += 1
        return self.rec.next_seq

    def latest_nested(self, local: str, skip: AttRec | None = None) -> AttRec | None:
        """The latest visible attempt named ``local`` inside any container (a loop's last iteration, a
        dynamic fork's branch): what a template outside that container sees under its name."""
        best: AttRec | None = None
        for r in self.all:
            a = r.a
            if (a.visible and a.parent_attempt_id is not None and a.kind != ITERATION and r.local == local
                    and r is not skip and (best is None or a.seq > best.a.seq)):
                best = r
        return best

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
        if r.a.kind in CONTAINER_KINDS:
            for child in [c for c in self.all if c.a.visible and c.a.parent_attempt_id == r.a.id]:
                self._hide_one(child)
            for k in [k for k in self.cur if k[0] == r.a.id]:
                del self.cur[k]

    def execution(self, include_history: bool = False) -> Execution:
        """A public Execution with its attempts (the state is not reused after this)."""
        rows = self.all if include_history else [r for r in self.all if r.a.visible]
        rows.sort(key=_seq_key)
        out = Execution.__new__(Execution)
        out.__dict__.update(self.e.__dict__)
        out.__dict__.pop("_dirty", None)
        out.tasks = [r.a for r in rows]
        return out


def _seq_key(r: AttRec) -> tuple[int, bool]:
    return (r.a.seq, r.a.visible)
