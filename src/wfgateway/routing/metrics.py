"""Prometheus metrics per route and backend, served at GET /metrics.

Each gateway app has its own CollectorRegistry (tests run several apps in one process), and the
labelled children are resolved once per route and backend, so the request path only increments.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from wfgateway.backends.resilience import STATE_NUMBER

_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


@dataclass
class RouteStats:
    """The counters of one (route, backend) pair."""

    metrics: RoutingMetrics
    route: str
    backend: str
    requests: Any
    latency: Any

    def error(self, kind: str) -> None:
        self.metrics.errors.labels(self.route, self.backend, kind).inc()

    def drift(self, operation: str) -> None:
        self.metrics.drift.labels(self.route, self.backend, operation).inc()


class RoutingMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.requests = Counter("wfgateway_route_requests", "Backend calls per route and backend",
                                ["route", "backend"], registry=r)
        self.errors = Counter("wfgateway_route_errors", "Failed backend calls per route, backend and kind",
                              ["route", "backend", "kind"], registry=r)
        self.latency = Histogram("wfgateway_route_latency_seconds", "Backend call latency per route and backend",
                                 ["route", "backend"], buckets=_BUCKETS, registry=r)
        self.circuit = Gauge("wfgateway_backend_circuit_state", "Circuit breaker: 0 closed, 1 half-open, 2 open",
                             ["backend"], registry=r)
        self.drift = Counter("wfgateway_response_drift", "Upstream answers outside the API contract",
                             ["route", "backend", "operation"], registry=r)
        self.reloads = Counter("wfgateway_config_reloads", "Config reloads by result", ["result"], registry=r)

    def stats(self, route: str, backend: str) -> RouteStats:
        return RouteStats(self, route, backend, self.requests.labels(route, backend),
                          self.latency.labels(route, backend))

    def circuit_changed(self, backend: str, state: str) -> None:
        self.circuit.labels(backend).set(STATE_NUMBER[state])

    def render(self) -> tuple[bytes, str]:
        return generate_latest(self.registry), CONTENT_TYPE_LATEST
