"""OpenTelemetry traces (config.yaml ``tracing``): one span per request, child spans for validation,
engine operations, store transactions and upstream calls, W3C ``traceparent`` in and out.

Off by default, and then free: ``TRACER`` stays None, ``span`` answers a shared no-op context and
``outgoing`` adds nothing, so the request path pays one global read per hook.  On, spans go to an
OTLP/HTTP collector (``endpoint``) through the SDK's batch processor (a background thread), sampled
at ``sampling`` for traces that start here; a client's ``traceparent`` decides for its own trace.
Paths in spans pass through the gateway's redactor first, so no credential reaches a span.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.sdk.trace.sampling import ParentBased, TraceIdRatioBased
from opentelemetry.trace import Span, SpanKind, Status, StatusCode, Tracer
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from wfgateway import __version__

TRACER: Tracer | None = None
_PROVIDER: TracerProvider | None = None
_PROPAGATOR = TraceContextTextMapPropagator()
_OFF = contextlib.nullcontext()
DEFAULT_ENDPOINT = "http://127.0.0.1:4318/v1/traces"


def configure(settings: Mapping[str, Any] | None, processor: SpanProcessor | None = None) -> None:
    """Turn tracing on or off for this process from config.yaml's ``tracing`` section; ``processor``
    replaces the OTLP exporter (tests keep spans in memory)."""
    global TRACER, _PROVIDER
    shutdown()
    settings = settings or {}
    if not settings.get("enabled"):
        return
    provider = TracerProvider(resource=Resource.create({"service.name": "wfgateway", "service.version": __version__}),
                              sampler=ParentBased(TraceIdRatioBased(float(settings.get("sampling", 1.0)))))
    if processor is None:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        processor = BatchSpanProcessor(OTLPSpanExporter(endpoint=str(settings.get("endpoint") or DEFAULT_ENDPOINT)))
    provider.add_span_processor(processor)
    _PROVIDER = provider
    TRACER = provider.get_tracer("wfgateway", __version__)


def shutdown() -> None:
    """Flush and stop the exporter (end of the process, or before configuring again)."""
    global TRACER, _PROVIDER
    if _PROVIDER is not None:
        _PROVIDER.shutdown()
    TRACER, _PROVIDER = None, None


def span(name: str, attributes: Mapping[str, Any] | None = None) -> contextlib.AbstractContextManager[Any]:
    """A child span of the current (recorded) span while tracing is on; a no-op context otherwise --
    work outside any traced request (a timer firing a task) starts no trace of its own."""
    tracer = TRACER
    if tracer is None or not trace.get_current_span().get_span_context().trace_flags.sampled:
        return _OFF  # off, or inside a request the sampler left out: its children would be dropped too
    # A refused request raises through the validate span: mark the span, but format no traceback
    # (record_exception would, costing more than the whole request).
    return tracer.start_as_current_span(name, attributes=attributes, record_exception=False)


@contextlib.contextmanager
def request_span(method: str, path: str, headers: Mapping[str, str]) -> Iterator[Span]:
    """The server span of one request, child of the client's ``traceparent`` when it sent one."""
    assert TRACER is not None
    parent = _PROPAGATOR.extract(headers) if "traceparent" in headers else None
    with TRACER.start_as_current_span(f"{method} {path}", context=parent, kind=SpanKind.SERVER, record_exception=False,
                                      attributes={"http.request.method": method, "url.path": path}) as s:
        yield s


def finish_request(s: Span, record: Mapping[str, Any], status: int) -> str | None:
    """Name the request span after its operation, add what the access log knows; the trace id."""
    for key in ("dialect", "operation", "tenant", "backend"):
        value = record.get(key)
        if value is not None:
            s.set_attribute(f"wfgateway.{key}", str(value))
    s.set_attribute("http.response.status_code", status)
    if record.get("operation"):
        s.update_name(f"{record.get('dialect')} {record['operation']}")
    if status >= 500:
        s.set_status(Status(StatusCode.ERROR))
    ctx = s.get_span_context()
    return trace.format_trace_id(ctx.trace_id) if ctx.is_valid else None


def outgoing() -> dict[str, str]:
    """``traceparent`` (and ``tracestate``) of the current span, for an upstream call or HTTP task."""
    if TRACER is None:
        return {}
    carrier: dict[str, str] = {}
    _PROPAGATOR.inject(carrier, context=otel_context.get_current())
    return carrier
