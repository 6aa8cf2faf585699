"""Which queue partition (domain) a worker task joins: the run's ``TASK_DOMAINS`` map, by task name
before ``"*"``.  A comma list names fallbacks; without knowing which of them has live workers the
engine takes the last one, and ``NO_DOMAIN`` there means the default partition."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from wfgateway.core.model import TASK_DOMAINS

NO_DOMAIN = "NO_DOMAIN"


def domain_for(metadata: Mapping[str, Any] | None, task_name: str) -> str | None:
    mapping = (metadata or {}).get(TASK_DOMAINS)
    if not isinstance(mapping, Mapping):
        return None
    value = mapping.get(task_name)
    if value is None:
        value = mapping.get("*")
    if not isinstance(value, str) or not value.strip():
        return None
    last = value.split(",")[-1].strip()
    return None if not last or last.upper() == NO_DOMAIN else last
