"""Worker functions the SDK's TaskHandler runs in its own processes (importable, so picklable).

``fail_once_marker`` makes a task fail the first time it runs for that marker path (the file is
created then), so a retried, rerun or restarted workflow passes the second time.  No
``from __future__ import annotations`` here: the SDK passes the whole Task only when the
parameter's annotation is the Task class itself, not a string.
"""

import os
from typing import Any

from conductor.client.http.models import Task
from conductor.client.worker.exception import NonRetryableException


def flaky(task: Task) -> dict[str, Any]:
    data = dict(task.input_data or {})
    marker = data.get("fail_once_marker")
    if marker and not os.path.exists(marker):
        with open(marker, "w") as fh:
            fh.write(task.task_id)
        raise RuntimeError(f"planned failure of {task.reference_task_name}")
    return {"seen": data, "ref": task.reference_task_name, "pid": os.getpid()}


def always_fails(task: Task) -> dict[str, Any]:
    """A retryable failure: the SDK reports FAILED with this message as the reason."""
    raise RuntimeError(f"gateway down on try {task.retry_count}")


def declines_for_good(task: Task) -> dict[str, Any]:
    """A non-retryable failure: the SDK reports FAILED_WITH_TERMINAL_ERROR."""
    raise NonRetryableException(f"card {task.input_data.get('card')} declined")


def packs(task: Task) -> dict[str, Any]:
    return {"packer": "default", "domain": task.domain}


def packs_on_gpu(task: Task) -> dict[str, Any]:
    return {"packer": "gpu", "domain": task.domain}
