"""Template context over an execution state: what ``${...}`` sees from a task's scope."""

from __future__ import annotations

from typing import Any

from wfgateway.engine.state import AttRec, ExecState


class StateContext:
    """Resolves ``${workflow.*}`` from the execution and ``${ref.*}`` from the current attempts visible
    from ``container`` outward (a nested task sees its siblings first, then the enclosing scopes)."""

    __slots__ = ("st", "scopes", "skip")

    def __init__(self, st: ExecState, container: AttRec | None, skip: AttRec | None = None) -> None:
        self.st = st
        self.skip = skip  # the attempt being scheduled: its own output / input are its previous run's
        scopes: list[str | None] = []
        c = container
        while c is not None:
            scopes.append(c.a.id)
            c = st.by_id.get(c.a.parent_attempt_id) if c.a.parent_attempt_id else None
        scopes.append(None)
        self.scopes = scopes

    def own_value(self, field: str) -> Any:
        if self.skip is None:
            return None
        return self.skip.a.id if field in ("id", "taskId") else None

    def workflow_value(self, field: str) -> Any:
        e = self.st.e
        if field == "input":
            return e.input
        if field == "variables":
            return e.variables
        if field in ("workflowId", "id"):
            return e.id
        if field == "correlationId":
            return e.correlation_id
        if field == "output":
            return e.output
        if field == "name":
            return e.definition_name
        if field == "version":
            return e.definition_version
        if field == "parentWorkflowId":
            return e.parent_execution_id
        if field == "tenant":
            return e.tenant
        if field == "metadata":
            return e.metadata
        return None

    def task_value(self, ref: str, field: str) -> tuple[bool, Any]:
        cur = self.st.cur
        skip = self.skip if field in ("output", "input") else None
        for scope in self.scopes:
            r = cur.get((scope, ref))
            if r is not None and r is not skip:
                a = r.a
                if field == "output":
                    return True, a.output
                if field == "input":
                    return True, a.input
                if field == "status":
                    return True, a.status.value
                if field == "reason":
                    return True, a.reason
                return True, a.id
        r = self.st.latest_nested(ref, skip) if self.st.dynamic else None
        if r is not None:
            return self._field(r, field)
        return False, None

    @staticmethod
    def _field(r: AttRec, field: str) -> tuple[bool, Any]:
        a = r.a
        if field == "output":
            return True, a.output
        if field == "input":
            return True, a.input
        if field == "status":
            return True, a.status.value
        if field == "reason":
            return True, a.reason
        return True, a.id
