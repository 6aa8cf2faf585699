"""Requests answered by the gateway, counted by dialect, operation and status for /metrics.

Validation rejections, auth refusals and unknown paths never reach a backend, so the routing
metrics cannot see them; this counter sees every answer.  Like the routing counters it is a plain
dict incremented on the event loop (no lock per request) and turned into a Prometheus family only
when /metrics is scraped.  Labels are operation ids and status codes, never paths, so nothing a
client puts in a URL (ids, secrets) becomes a label."""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client.core import CounterMetricFamily
from prometheus_client.registry import Collector


class RequestCounts(Collector):
    """(dialect, operation, status) -> number of answers; '-' where the request matched no operation."""

    def __init__(self) -> None:
        self._counts: dict[tuple[str, str, int], int] = {}

    def add(self, dialect: str, operation: str, status: int) -> None:
        key = (dialect, operation, status)
        self._counts[key] = self._counts.get(key, 0) + 1

    def collect(self) -> Iterator[CounterMetricFamily]:
        family = CounterMetricFamily("wfgateway_requests", "Answers per dialect, operation and HTTP status",
                                     labels=["dialect", "operation", "status"])
        for (dialect, operation, status), value in sorted(self._counts.items()):
            family.add_metric([dialect, operation, str(status)], value)
        yield family
