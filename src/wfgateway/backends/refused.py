"""The Backend operations a vendor may have no equivalent for, refused by default for a client half.

A client half (adapters/<vendor>/client.py) derives from RefusedOperations and overrides what its
vendor can express; every other of these operations answers NotImplementedByBackend with the reason
its ``CAPABILITIES`` gives, so what the client refuses and what docs/compatibility.md says stay one text.
"""

from __future__ import annotations

from typing import Any, ClassVar

from wfgateway.backends.json_client import refusal
from wfgateway.core.errors import NotImplementedByBackend
from wfgateway.core.model import Execution, RetryPolicy, TaskAttempt


class RefusedOperations:
    """Defaults for a client half: ``VENDOR`` names the upstream, ``CAPABILITIES`` gives each refusal's reason."""

    VENDOR: ClassVar[str]
    CAPABILITIES: ClassVar[dict[str, tuple[str, str]]]

    def refuse(self, operation: str, what: str | None = None) -> NotImplementedByBackend:
        """``operation`` cannot be expressed upstream: ``what`` says why (else its CAPABILITIES entry)."""
        return refusal(self.VENDOR)(operation, what if what is not None else self.CAPABILITIES[operation][1])

    def _plain(self, tenant: str, operation: str) -> None:
        """A tenant with a '/' is a dialect's private namespace (Conductor's TaskDefs): refused unless
        the vendor has task definitions (then it overrides this)."""
        if "/" in tenant:
            raise self.refuse(f"{operation} in the {tenant.split('/', 1)[1]} namespace",
                              self.CAPABILITIES["task_definitions"][1])

    async def terminate(self, execution_id: str, reason: str | None = None, *, tenant: str | None = None) -> Execution:
        raise self.refuse("terminate")

    async def delete_execution(self, execution_id: str, *, tenant: str | None = None) -> None:
        raise self.refuse("delete_execution")

    async def pause(self, execution_id: str, *, tenant: str | None = None) -> Execution:
        raise self.refuse("pause")

    async def resume(self, execution_id: str, *, tenant: str | None = None) -> Execution:
        raise self.refuse("resume")

    async def rerun(self, execution_id: str, *, tenant: str | None = None, from_task_id: str | None = None,
                    task_input: dict[str, Any] | None = None, workflow_input: dict[str, Any] | None = None,
                    correlation_id: str | None = None) -> Execution:
        parts = [p for p, v in (("from a task", from_task_id), ("with new task input", task_input),
                                ("with new workflow input", workflow_input), ("with a correlation id", correlation_id))
                 if v]
        raise self.refuse("rerun" + (" " + ", ".join(parts) if parts else ""), self.CAPABILITIES["rerun"][1])

    async def retry(self, execution_id: str, policy: RetryPolicy, *, tenant: str | None = None) -> Execution:
        raise self.refuse("retry")

    async def restart(self, execution_id: str, *, tenant: str | None = None,
                      use_latest_definition: bool = False) -> Execution:
        raise self.refuse("restart")

    async def poll(self, tenant: str, task_name: str, **kwargs: Any) -> list[TaskAttempt]:
        raise self.refuse("poll")

    async def get_task(self, task_id: str, *, tenant: str | None = None) -> TaskAttempt:
        raise self.refuse("get_task")

    async def add_task_log(self, task_id: str, message: str, *, tenant: str | None = None) -> None:
        raise self.refuse("add_task_log")
