"""A unit of work: load executions, change them in memory, settle the consequences, write one Changeset.

Settling runs the decider on every changed execution, starts sub-workflow children, terminates the
children of ended executions and mirrors a finished child into its parent's sub-workflow task — all
inside the same transaction, so nothing is ever half-propagated.  Every execution written is checked
against the ``row_version`` it was read at; a concurrent writer makes the commit fail and the engine
re-runs the whole operation from a fresh read.
"""

from __future__ import annotations

from typing import Any

from wfgateway.core.errors import EvaluationFailed, GatewayError, NotFound
from wfgateway.core.model import TASK_DOMAINS, Execution, WorkflowDefinition
from wfgateway.core.statuses import ExecutionStatus, TaskStatus
from wfgateway.engine.attempts import start_scheduled
from wfgateway.engine.codec import RULES_FROM, definition_from_dict, spec_with_policy
from wfgateway.engine.decider import decide
from wfgateway.engine.domains import Pollers
from wfgateway.engine.ending import cancel_open, end_execution, end_unscheduled, finish
from wfgateway.engine.env import evaluate
from wfgateway.engine.hooks import Hooks
from wfgateway.engine.resolve import StateContext
from wfgateway.engine.snapshots import Snapshots
from wfgateway.engine.state import AttRec, ExecRec, ExecState, PendingRules
from wfgateway.engine.store.base import EXEC_COLS, Changeset, Store
from wfgateway.engine.templates import resolve
from wfgateway.engine.util import loads, new_id, now_ms, reason_of
from wfgateway.engine.watched import inherited

MIRROR = {
    ExecutionStatus.COMPLETED: TaskStatus.COMPLETED,
    ExecutionStatus.FAILED: TaskStatus.FAILED,
    ExecutionStatus.TIMED_OUT: TaskStatus.TIMED_OUT,
    ExecutionStatus.TERMINATED: TaskStatus.CANCELED,
}


def arm_deadline(st: ExecState, now: int) -> None:
    """(Re)start the execution's own timeout from ``now`` (start, rerun, retry, restart)."""
    timeout = st.definition.timeout_ms
    if timeout:
        st.rec.deadline_ms = now + timeout
        st.timers.append((now + timeout, "exec_timeout", None, None))
    else:
        st.rec.deadline_ms = 0


_DEF_HASH = EXEC_COLS.index("def_hash")


MAX_NESTING = 32  # sub-workflow levels below a top-level execution
NESTING_KEY = "nesting_depth"  # Execution.extra: how deep below a top-level execution this one runs


class Unit:
    """One operation's reads and writes.  It sees the store, the definition snapshots and the adapters'
    hooks -- nothing else of the engine (the engine runs and commits units, see runtime.py)."""

    def __init__(self, store: Store, snapshots: Snapshots, hooks: Hooks, pollers: Pollers | None = None) -> None:
        self.store = store
        self.snapshots = snapshots
        self.pollers = pollers or Pollers()
        self.now = now_ms()
        self.expanders = hooks.expanders
        self.evaluators = hooks.evaluators
        self.failure_inputs = hooks.failure_inputs
        self.states: dict[str, ExecState] = {}
        self.timer_claims: list[str] = []
        self.snapshots_pending: list[tuple[str, str]] = []
        self.version_bumps: list[str] = []

    # -- loading -----------------------------------------------------------------------------
    async def load(self, execution_id: str, *, include_hidden: bool = False,
                   attempts: bool = True) -> ExecState | None:
        """The execution (cached in this unit).  ``attempts=False`` skips reading the attempts: for an
        operation that supersedes them all anyway (rerun from the start, restart)."""
        st = self.states.get(execution_id)
        if st is not None:
            return st
        row = await self.store.exec_get(execution_id)
        if row is None:
            return None
        definition = await self.snapshots.get(row[_DEF_HASH])
        rec = ExecRec.from_row(row, definition)
        if attempts or not self.store.supports_hide_all:
            atts = [AttRec.from_row(r) for r in await self.store.attempts_of(execution_id, include_hidden)]
            st = ExecState(rec, atts)
        else:
            st = ExecState(rec, [])
            st.attempts_loaded = False
        self.states[execution_id] = st
        return st

    async def require(self, execution_id: str, tenant: str | None, *, include_hidden: bool = False,
                      attempts: bool = True) -> ExecState:
        """``load`` for an operation named by a caller: NotFound if unknown or of another tenant."""
        st = await self.load(execution_id, include_hidden=include_hidden, attempts=attempts)
        if st is None or (tenant is not None and st.e.tenant != tenant):
            raise NotFound("No such execution", details={"execution_id": execution_id})
        return st

    def use_definition(self, body: str) -> tuple[str, WorkflowDefinition]:
        """(digest, definition) of a definition body; its snapshot is written with this unit if new."""
        return self.snapshots.use(body, self.snapshots_pending)

    def new_execution(
        self, *, tenant: str, definition: WorkflowDefinition, def_hash: str, input: dict[str, Any],
        execution_id: str | None = None, correlation_id: str | None = None, metadata: dict[str, Any] | None = None,
        parent: tuple[str, str] | None = None, dialect: str = "", priority: int = 0,
        idempotency_key: str | None = None, cloned_from: str | None = None, variables: dict[str, Any] | None = None,
    ) -> ExecState:
        now = self.now
        e = Execution(
            id=execution_id or new_id(), tenant=tenant, definition_name=definition.name,
            definition_version=definition.version, status=ExecutionStatus.RUNNING, input=input,
            variables=variables or {}, correlation_id=correlation_id, metadata=metadata or {},
            parent_execution_id=parent[0] if parent else None, parent_task_id=parent[1] if parent else None,
            cloned_from=cloned_from, idempotency_key=idempotency_key, dialect=dialect or definition.dialect,
            priority=priority, created_ms=now, started_ms=now, updated_ms=now, definition=definition,
        )
        st = ExecState(ExecRec(e, def_hash, 0), [], new=True)
        st.needs_decide = True
        arm_deadline(st, now)
        self.states[e.id] = st
        return st

    # -- settling ----------------------------------------------------------------------------
    async def settle(self) -> None:
        for _ in range(10000):
            progressed = False
            for st in list(self.states.values()):
                if st.needs_decide:
                    st.needs_decide = False
                    decide(st, self)
                    progressed = True
            for st in list(self.states.values()):
                while st.pending_children:
                    await self._start_child(st, st.pending_children.pop(0))
                    progressed = True
                while st.pending_starts:
                    await self._start_independent(st, *st.pending_starts.pop(0))
                    progressed = True
                while st.pending_rules:
                    await self._take_rules(st, st.pending_rules.pop(0))
                    progressed = True
                while st.terminate_children:
                    await self._terminate_child(st.terminate_children.pop(0), st)
                    progressed = True
                if st.propagate:
                    st.propagate = False
                    if st.e.parent_execution_id:
                        await self._propagate(st)
                        progressed = True
                if st.failure_pending:
                    st.failure_pending = False
                    await self._start_failure_workflow(st)
                    progressed = True
            if not progressed:
                return
        raise RuntimeError("unit of work did not settle")

    async def _start_child(self, parent: ExecState, rec: AttRec) -> None:
        params = rec.params or {}
        depth = int(parent.e.extra.get(NESTING_KEY, 0)) + 1
        if depth > MAX_NESTING:  # a workflow that starts itself would otherwise nest without end
            rec.a.subworkflow_id = None
            finish(rec, TaskStatus.FAILED, self.now,
                   reason=f"Sub-workflows nest deeper than {MAX_NESTING} levels (does a workflow start itself?)")
            parent.needs_decide = True
            return
        try:
            digest, definition = self.use_definition(await self.snapshots.child_body(parent.e.tenant, params))
        except GatewayError as exc:
            rec.a.subworkflow_id = None
            finish(rec, TaskStatus.FAILED, self.now, reason=exc.message)
            parent.needs_decide = True
            return
        child_input = params["input"] if isinstance(params.get("input"), dict) else rec.a.input
        child = self.new_execution(
            tenant=parent.e.tenant, definition=definition, def_hash=digest, input=child_input,
            execution_id=rec.a.subworkflow_id, correlation_id=parent.e.correlation_id,
            parent=(parent.e.id, rec.a.id), dialect=parent.e.dialect, priority=parent.e.priority,
            metadata=_inherited_metadata(parent.e),
        )
        child.e.extra[NESTING_KEY] = depth

    async def _take_rules(self, st: ExecState, pending: PendingRules) -> None:
        """Start a name-resolved worker attempt with the rules of its name (codec.RULES_FROM), read now
        from the stored definition of that name; fail it when there is none or its rules cannot be read."""
        rec, spec = pending.rec, pending.spec
        if rec.a.status is not TaskStatus.SCHEDULED:  # canceled meanwhile (its run ended in the same step)
            return
        source = spec.params[RULES_FROM]
        name = rec.a.name
        try:
            body = await self.snapshots.stored_body(f"{st.e.tenant}{source.get('definitions_of') or ''}", name, None)
            policy = evaluate(self, source, definition_from_dict(loads(body)).extra)
            if not isinstance(policy, dict):
                raise EvaluationFailed(f"No rules for the task {name}")
        except NotFound:
            reason = str(source.get("unknown_reason") or "No rules for the task {name}").replace("{name}", name)
            if pending.params.get("unresolved_ends_run"):
                end_unscheduled(st, self, rec, reason)
            else:
                finish(rec, TaskStatus.FAILED, self.now, reason=reason)
        except EvaluationFailed as exc:
            finish(rec, TaskStatus.FAILED, self.now, reason=exc.message)
        else:
            rec.spec = ruled = spec_with_policy(spec, policy)
            if isinstance(policy.get("extra"), dict):  # shown with the attempt: the rules it took
                rec.a.extra = {**rec.a.extra, **policy["extra"]}
            start_scheduled(st, self, pending.container, ruled, rec, pending.params, pending.delay_ms)
        st.needs_decide = True

    async def _start_independent(self, starter: ExecState, rec: AttRec, request: dict[str, Any]) -> None:
        """A start task's execution: on its own (no parent, nothing waits for it), written with this unit.
        A chain of executions starting one another inside one unit stops at MAX_NESTING (a workflow that
        starts itself at once would otherwise never settle); later units start them again from 0."""
        depth = starter.start_depth + 1
        if depth > MAX_NESTING:
            finish(rec, TaskStatus.FAILED, self.now, reason=f"Start tasks chain deeper than {MAX_NESTING} executions "
                                                            "in one step (does a workflow start itself?)")
            starter.needs_decide = True
            return
        try:
            source = request.get("definition_from")
            if isinstance(source, dict):
                request = {**request, "definition": await self._definition_from(starter.e.tenant, source, request)}
            digest, definition = self.use_definition(await self.snapshots.child_body(starter.e.tenant, request))
        except GatewayError as exc:
            missing = request.get("missing_reason") if isinstance(exc, NotFound) else None
            finish(rec, TaskStatus.FAILED, self.now, reason=str(missing) if missing else exc.message)
            starter.needs_decide = True
            return
        started = self.new_execution(
            tenant=starter.e.tenant, definition=definition, def_hash=digest, input=request.get("input") or {},
            correlation_id=request.get("correlation_id"), metadata=request.get("metadata"),
            dialect=definition.dialect or starter.e.dialect, priority=int(request.get("priority") or 0),
        )
        started.start_depth = depth
        finish(rec, TaskStatus.COMPLETED, self.now, output={str(request["output_key"]): started.e.id})
        starter.needs_decide = True

    async def _definition_from(self, tenant: str, source: dict[str, Any], request: dict[str, Any]) -> Any:
        """The inline definition a start request's ``definition_from`` makes: the extra of each stored
        definition ``names`` lists (in the tenant + ``definitions_of``) that exists, given to its evaluator;
        none existing leaves ``request["definition"]`` as it is."""
        found: dict[str, Any] = {}
        for name in source.get("names") or []:
            try:
                body = await self.snapshots.stored_body(f"{tenant}{source.get('definitions_of') or ''}", str(name), None)
            except NotFound:
                continue
            found[str(name)] = definition_from_dict(loads(body)).extra
        if not found:
            return request.get("definition")
        made = evaluate(self, source, found)
        if not isinstance(made, dict):
            raise EvaluationFailed("The start request's definition_from made no definition")
        return made

    async def _start_failure_workflow(self, st: ExecState) -> None:
        """Start the definition's on_failure workflow for ``st``, which just failed by itself; its id (or
        why it could not start) goes to ``st``'s output under the on_failure ``output_key``."""
        spec = st.definition.on_failure or {}
        e = st.e
        name: Any = spec.get("name")
        try:
            if isinstance(name, str) and "${" in name:
                name = resolve(name, StateContext(st, None))
            if not isinstance(name, str) or not name:
                raise NotFound(f"No failure workflow name resolved from {spec.get('name')!r}")
            if name == e.definition_name and e.metadata.get("triggered_by"):
                raise GatewayError(f"{name} is itself running as a failure workflow; not started again")
            body = await self.snapshots.stored_body(e.tenant, name, spec.get("version"))
            digest, definition = self.use_definition(body)
            builder = self.failure_inputs.get(st.definition.dialect or e.dialect)
            execution = st.execution()
            child_input = builder(execution) if builder is not None else {
                "execution_id": e.id, "status": e.status.value, "reason": e.reason, "input": e.input}
            child = self.new_execution(
                tenant=e.tenant, definition=definition, def_hash=digest, input=child_input,
                correlation_id=e.correlation_id, dialect=definition.dialect or e.dialect, priority=e.priority,
                metadata={"triggered_by": e.id},
            )
            recorded: str = child.e.id
            e.extra = {**e.extra, "failure_execution_id": child.e.id}
        except Exception as exc:  # a missing definition or a builder bug never hides the failure itself
            recorded = f"Error workflow {name} failed to start.  reason: {reason_of(exc)}"
        key = spec.get("output_key")
        if key:
            e.output = {**e.output, str(key): recorded}

    async def _terminate_child(self, child_id: str, parent: ExecState) -> None:
        child = await self.load(child_id)
        if child is None or child.e.status.terminal:
            return
        cancel_open(child, self)
        end_execution(child, self, ExecutionStatus.TERMINATED, f"Parent workflow {parent.e.id} ended")
        child.propagate = False  # the parent already settled its sub-workflow task

    async def _propagate(self, child: ExecState) -> None:
        parent = await self.load(child.e.parent_execution_id or "")
        if parent is None:
            return
        rec = parent.by_id.get(child.e.parent_task_id or "")
        if rec is None or rec.a.status.terminal or rec.a.subworkflow_id != child.e.id:
            return
        status = MIRROR.get(child.e.status)
        if status is None:
            return
        finish(rec, status, self.now, output=dict(child.e.output),
               reason=None if status is TaskStatus.COMPLETED else (child.e.reason or f"Sub-workflow {status.value}"))
        # what the child ended with, so a dialect can name it in the task's reason as its vendor does
        rec.a.extra = {**rec.a.extra, "child": {
            "id": child.e.id, "name": child.e.definition_name, "version": child.e.definition_version,
            "status": child.e.status.value, "reason": child.e.reason, "failed_task": child.e.extra.get("failed_task")}}
        parent.needs_decide = True

    def remove(self, st: ExecState) -> None:
        """Delete the execution with its attempts and timers when this unit commits; whatever else the
        unit settled (a terminated child, a parent told its sub-workflow ended) is written with it."""
        st.removed = True

    # -- writing -----------------------------------------------------------------------------
    def changeset(self) -> Changeset:
        cs = Changeset(snapshots=self.snapshots_pending, timer_claims=self.timer_claims, version_bumps=self.version_bumps)
        now = self.now
        for st in self.states.values():
            if st.removed:
                cs.exec_deletes.append((st.e.id, st.e.version))
                continue
            touched = False
            for r in st.all:
                if not r.loaded:
                    cs.attempt_inserts.append(r.insert_row())
                    touched = True
                else:
                    ch = r.changes()
                    if ch is not None:
                        cs.attempt_updates.append((ch[0], ch[1], r.key))
                        touched = True
            if st.timers:
                touched = True
                eid = st.e.id
                for due, kind, key, payload in st.timers:
                    cs.timer_inserts.append((new_id(), int(due), eid, key, kind, payload))
            if st.hide_all:
                cs.hide_all.append(st.e.id)
                touched = True
            rec = st.rec
            if not rec.loaded:
                cs.exec_inserts.append(rec.insert_row())
                continue
            if touched or rec.internal_changed() or st.e.__dict__.get("_dirty"):
                st.e.updated_ms = now
                cols, vals = rec.changes()
                cs.exec_updates.append((cols, vals, st.e.id, st.e.version))
                st.e.__dict__["version"] = st.e.version + 1
        return cs


def _inherited_metadata(parent: Execution) -> dict[str, Any] | None:
    """What a sub-workflow takes over from its parent's metadata: the task domains, and the watch mark
    (so a change of the child also wakes a wait on the parent, on every replica)."""
    meta = parent.metadata
    out = {TASK_DOMAINS: meta[TASK_DOMAINS]} if TASK_DOMAINS in meta else {}
    out.update(inherited(parent.id, meta))
    return out or None
