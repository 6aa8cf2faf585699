"""A backend that answers at once from memory, so the benchmark measures the gateway's own path
(routing, auth, validation, adapter rendering) and nothing of the engine."""

from __future__ import annotations

from typing import Any

from wfgateway.core.model import Execution, TaskAttempt
from wfgateway.core.statuses import ExecutionStatus, TaskStatus

_TASK = TaskAttempt(id="t-1", execution_id="wf-1", ref="charge_ref", name="charge", kind="worker",
                    status=TaskStatus.COMPLETED, seq=1, input={"amount": 10}, output={"ok": True},
                    scheduled_ms=1700000000000, started_ms=1700000000100, ended_ms=1700000000200,
                    updated_ms=1700000000200)


class TrivialBackend:
    name = "trivial"

    async def get(self, execution_id: str, **kwargs: Any) -> Execution:
        return Execution(id=execution_id, tenant="default", definition_name="order_flow", definition_version=1,
                         status=ExecutionStatus.COMPLETED, input={"orderId": "o-1"}, output={"ok": True},
                         correlation_id="c-1", created_ms=1700000000000, started_ms=1700000000000,
                         ended_ms=1700000000300, updated_ms=1700000000300, tasks=[_TASK])

    async def rerun(self, execution_id: str, **kwargs: Any) -> Execution:
        return await self.get(execution_id)
