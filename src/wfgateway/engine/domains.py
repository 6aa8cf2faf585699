"""Which queue partition (domain) a worker task joins: the run's ``TASK_DOMAINS`` map, by task name
before ``"*"``.  A comma list names fallbacks: the first domain a worker polled in the last
ACTIVE_MS (as this process saw it), else the list's last entry; ``NO_DOMAIN`` means the default."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from wfgateway.core.model import TASK_DOMAINS

NO_DOMAIN = "NO_DOMAIN"
ACTIVE_MS = 10_000  # the OSS server's activeWorkerLastPollTimeout
MAX_POLLERS = 10_000  # (tenant, name, domain) entries kept: callers choose the domains, memory stays bounded


class Pollers:
    """When a worker last polled each (tenant, task name, domain) through this engine."""

    def __init__(self) -> None:
        self._last: dict[tuple[str, str, str], int] = {}

    def polled(self, tenant: str, name: str, domain: str | None, now: int) -> None:
        if not domain:
            return
        self._last[(tenant, name, domain)] = now
        if len(self._last) > MAX_POLLERS:  # forget the inactive; if all are active, the longest quiet half
            fresh = {k: t for k, t in self._last.items() if now - t < ACTIVE_MS}
            if len(fresh) > MAX_POLLERS // 2:
                fresh = dict(sorted(fresh.items(), key=lambda kv: kv[1])[len(fresh) // 2:])
            self._last = fresh

    def __len__(self) -> int:
        return len(self._last)

    def active(self, tenant: str, name: str, domain: str, now: int) -> bool:
        return now - self._last.get((tenant, name, domain), -ACTIVE_MS) < ACTIVE_MS


def domain_for(metadata: Mapping[str, Any] | None, tenant: str, task_name: str, pollers: Pollers,
               now: int) -> str | None:
    mapping = (metadata or {}).get(TASK_DOMAINS)
    if not isinstance(mapping, Mapping):
        return None
    value = mapping.get(task_name)
    if value is None:
        value = mapping.get("*")
    if not isinstance(value, str) or not value.strip():
        return None
    listed = [d.strip() for d in value.split(",")]
    for d in listed:
        if d and d.upper() != NO_DOMAIN and pollers.active(tenant, task_name, d, now):
            return d
    last = listed[-1]
    return None if not last or last.upper() == NO_DOMAIN else last
