"""Prometheus metrics per route and backend, served at GET /metrics.

Each gateway app has its own CollectorRegistry (tests run several apps in one process).  The
request path must stay cheap, so requests and latencies are plain Python numbers kept per (route,
backend) and turned into Prometheus families only when /metrics is scraped (a custom collector);
prometheus_client's own children take a lock per increment, which costs more than the whole
route decision.  Rare events (errors, drift, reloads, circuit changes) use ordinary metrics.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterator

from prometheus_client import CollectorRegistry, Counter, Gauge, generate_latest
from prometheus_client.core import CounterMetricFamily, HistogramMetricFamily
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from wfgateway.backends.resilience import STATE_NUMBER
from wfgateway.core import loops
from wfgateway.engine.store.health import StoreHealth

BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


class _Requests:
    __slots__ = ("value",)

    def __init__(self) -> None:
        self.value = 0

    def inc(self) -> None:
        self.value += 1


class _Latency:
    """A histogram without locks (the event loop is one thread): per-bucket counts and a sum."""

    __slots__ = ("counts", "total")

    def __init__(self) -> None:
        self.counts = [0] * (len(BUCKETS) + 1)
        self.total = 0.0

    def observe(self, seconds: float) -> None:
        self.counts[bisect_left(BUCKETS, seconds)] += 1
        self.total += seconds


class RouteStats:
    """The counters of one (route, backend) pair."""

    __slots__ = ("metrics", "route", "backend", "requests", "latency")

    def __init__(self, metrics: RoutingMetrics, route: str, backend: str) -> None:
        self.metrics, self.route, self.backend = metrics, route, backend
        self.requests = _Requests()
        self.latency = _Latency()

    def error(self, kind: str) -> None:
        self.metrics.errors.labels(self.route, self.backend, kind).inc()

    def drift(self, operation: str) -> None:
        self.metrics.drift.labels(self.route, self.backend, operation).inc()


class _RouteCollector:
    def __init__(self, metrics: RoutingMetrics) -> None:
        self._metrics = metrics

    def describe(self) -> list:
        return []

    def collect(self) -> Iterator:
        requests = CounterMetricFamily("wfgateway_route_requests", "Backend calls per route and backend",
                                       labels=["route", "backend"])
        latency = HistogramMetricFamily("wfgateway_route_latency_seconds", "Backend call latency per route and backend",
                                        labels=["route", "backend"])
        for (route, backend), stats in sorted(self._metrics.all_stats.items()):
            requests.add_metric([route, backend], stats.requests.value)
            cumulative, buckets = 0, []
            for bound, count in zip((*BUCKETS, float("inf")), stats.latency.counts, strict=True):
                cumulative += count
                buckets.append(("+Inf" if bound == float("inf") else repr(bound), cumulative))
            latency.add_metric([route, backend], buckets, stats.latency.total)
        yield requests
        yield latency


class _StoreCollector:
    """The store's refused calls and fault episodes by cause (engine/store/health.py)."""

    def __init__(self, health: StoreHealth) -> None:
        self.health = health

    def collect(self) -> Iterator[CounterMetricFamily]:
        refused = CounterMetricFamily("wfgateway_store_unavailable", "Store calls answered with a retryable 503, "
                                      "by cause", labels=["cause"])
        episodes = CounterMetricFamily("wfgateway_store_fault_episodes", "Times the store stopped taking writes, "
                                       "by cause", labels=["cause"])
        for cause, n in sorted(self.health.failures.items()):
            refused.add_metric([cause], n)
        for cause, n in sorted(self.health.episodes.items()):
            episodes.add_metric([cause], n)
        yield refused
        yield episodes


class _LoopCollector:
    """Restarts of the supervised background loops (core/loops.py)."""

    def collect(self) -> Iterator[CounterMetricFamily]:
        restarts = CounterMetricFamily("wfgateway_loop_restarts", "Background loop restarts after a failure",
                                       labels=["loop"])
        for name, n in sorted(loops.RESTARTS.items()):
            restarts.add_metric([name], n)
        yield restarts


class RoutingMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.all_stats: dict[tuple[str, str], RouteStats] = {}
        r.register(_RouteCollector(self))
        r.register(_LoopCollector())
        self.errors = Counter("wfgateway_route_errors", "Failed backend calls per route, backend and kind",
                              ["route", "backend", "kind"], registry=r)
        self.circuit = Gauge("wfgateway_backend_circuit_state", "Circuit breaker: 0 closed, 1 half-open, 2 open",
                             ["backend"], registry=r)
        self.drift = Counter("wfgateway_response_drift", "Upstream answers outside the API contract",
                             ["route", "backend", "operation"], registry=r)
        self.reloads = Counter("wfgateway_config_reloads", "Config reloads by result", ["result"], registry=r)

    def stats(self, route: str, backend: str) -> RouteStats:
        """The counters of (route, backend); the same object across reloads, so counts add up."""
        found = self.all_stats.get((route, backend))
        if found is None:
            found = self.all_stats[(route, backend)] = RouteStats(self, route, backend)
        return found

    def circuit_changed(self, backend: str, state: str) -> None:
        self.circuit.labels(backend).set(STATE_NUMBER[state])

    def watch_store(self, health: StoreHealth) -> None:
        self.registry.register(_StoreCollector(health))

    def render(self) -> tuple[bytes, str]:
        return generate_latest(self.registry), CONTENT_TYPE_LATEST
