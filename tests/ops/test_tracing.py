"""Issue 14: OpenTelemetry traces -- a span per request with dialect, operation, tenant, backend and
status; child spans for validation, engine operations, store commits, the upstream call and HTTP
tasks; a client's W3C traceparent continued and passed on; trace ids in access log lines; no
credential in any span.  Spans checked in memory and at a real OTLP/HTTP receiver."""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tests.altostrat.target import Target
from tests.support.server import ThreadServer, run_gateway, run_gateway_process
from wfgateway import tracing

pytestmark = pytest.mark.slow  # started first: see tests/conftest.py

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
CLIENT_PARENT = "00f067aa0ba902b7"
TRACEPARENT = f"00-{TRACE_ID}-{CLIENT_PARENT}-01"


@pytest.fixture
def target() -> Iterator[tuple[Target, str]]:
    t = Target()
    server = ThreadServer(t.app())
    server.start()
    try:
        yield t, server.url
    finally:
        server.stop()


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    yield exporter
    tracing.shutdown()


def traced(exporter: InMemorySpanExporter) -> None:
    tracing.configure({"enabled": True, "sampling": 1.0}, processor=SimpleSpanProcessor(exporter))


def of_trace(exporter: InMemorySpanExporter, trace_id: str) -> list[ReadableSpan]:
    return [s for s in exporter.get_finished_spans() if f"{s.context.trace_id:032x}" == trace_id]


def test_a_request_is_one_trace_from_client_to_http_task(tmp_path: Path, target, spans, caplog):
    t, url = target
    flow = {"name": "traced", "version": 1, "timeoutSeconds": 0, "tasks": [
        {"name": "call", "taskReferenceName": "call_ref", "type": "HTTP",
         "inputParameters": {"http_request": {"uri": f"{url}/traced", "method": "GET"}}}]}
    with run_gateway(tmp_path, server={"access_log": True}, tracing={"enabled": False}) as gw:  # traced() turns it on in memory
        traced(spans)
        assert httpx.post(f"{gw.url}/api/metadata/workflow", json=flow).status_code == 200
        with caplog.at_level(logging.INFO, logger="wfgateway.access"):
            started = httpx.post(f"{gw.url}/api/workflow/traced", json={}, headers={"traceparent": TRACEPARENT})
        assert started.status_code == 200
        deadline = time.monotonic() + 30
        while not t.calls("/traced") and time.monotonic() < deadline:
            time.sleep(0.05)
        assert t.calls("/traced"), "the HTTP task never ran"

    sent = t.calls("/traced")[0].headers["traceparent"]
    assert sent.split("-")[1] == TRACE_ID  # the HTTP task's call continues the client's trace
    ours = of_trace(spans, TRACE_ID)
    server = [s for s in ours if s.name == "conductor startWorkflowByName"]
    assert len(server) == 1
    request = server[0]
    assert f"{request.parent.span_id:016x}" == CLIENT_PARENT and request.parent.is_remote
    assert dict(request.attributes).items() >= {"wfgateway.dialect": "conductor", "wfgateway.operation": "startWorkflowByName",
                                        "wfgateway.tenant": "default", "wfgateway.backend": "engine",
                                        "http.response.status_code": 200, "url.path": "/api/workflow/traced"}.items()
    children = {s.name for s in ours if s.parent is not None and s.parent.span_id == request.context.span_id}
    assert {"validate", "engine.operation"} <= children
    assert any(s.name == "store.commit" for s in ours)
    task_span = [s for s in ours if s.name == "http_task"]
    assert task_span and sent.split("-")[2] == f"{task_span[0].context.span_id:016x}"
    access = [json.loads(r.getMessage()) for r in caplog.records if r.name == "wfgateway.access"]
    assert [a["trace_id"] for a in access if a.get("operation") == "startWorkflowByName"] == [TRACE_ID]


def test_upstream_call_carries_the_trace_and_spans_hold_no_credential(tmp_path: Path, target, spans):
    t, url = target
    backends = {"engine": {"kind": "engine"}, "vendor": {"kind": "upstream", "dialect": "conductor", "url": url}}
    routes = [{"match": {"dialect": "conductor"}, "backend": "vendor"}, {"match": {}, "backend": "engine"}]
    with run_gateway(tmp_path, backends=backends, routes=routes, tracing={"enabled": False}) as gw:  # traced() turns it on in memory
        traced(spans)
        httpx.get(f"{gw.url}/api/workflow/wf-1", headers={"traceparent": TRACEPARENT})
        secret = "s3cr3t-webhook-token-Zq9"
        httpx.post(f"{gw.url}/workflows/webhooks/{secret}", json={})

    hit = t.calls("/api/workflow/wf-1")
    assert hit and hit[0].headers["traceparent"].split("-")[1] == TRACE_ID
    ours = of_trace(spans, TRACE_ID)
    upstream = [s for s in ours if s.name == "upstream"]
    assert upstream and upstream[0].attributes["wfgateway.backend"] == "vendor"
    assert hit[0].headers["traceparent"].split("-")[2] == f"{upstream[0].context.span_id:016x}"
    assert [s.attributes["wfgateway.backend"] for s in ours if s.name.startswith("conductor ")] == ["vendor"]
    everything = spans.get_finished_spans()
    assert any("webhooks" in s.name or "webhooks" in str(s.attributes.get("url.path")) for s in everything)
    for s in everything:
        assert secret not in s.name and secret not in json.dumps(dict(s.attributes), default=str)


def test_off_by_default_no_tracer_and_no_traceparent_sent(tmp_path: Path, target):
    t, url = target
    flow = {"name": "quiet", "version": 1, "timeoutSeconds": 0, "tasks": [
        {"name": "call", "taskReferenceName": "call_ref", "type": "HTTP",
         "inputParameters": {"http_request": {"uri": f"{url}/quiet", "method": "GET"}}}]}
    with run_gateway(tmp_path) as gw:
        assert tracing.TRACER is None
        assert httpx.post(f"{gw.url}/api/metadata/workflow", json=flow).status_code == 200
        assert httpx.post(f"{gw.url}/api/workflow/quiet", json={}).status_code == 200
        deadline = time.monotonic() + 30
        while not t.calls("/quiet") and time.monotonic() < deadline:
            time.sleep(0.05)
    assert t.calls("/quiet") and "traceparent" not in t.calls("/quiet")[0].headers


class Receiver:
    """A minimal OTLP/HTTP trace receiver: decodes each export with the OTLP protobuf definitions."""

    def __init__(self) -> None:
        self.spans: list[tuple[str, dict[str, str], str]] = []  # (name, attributes, trace id)
        self.lock = threading.Lock()

    def app(self) -> Starlette:
        async def traces(request: Request) -> Response:
            export = ExportTraceServiceRequest.FromString(await request.body())
            with self.lock:
                for rs in export.resource_spans:
                    for ss in rs.scope_spans:
                        for s in ss.spans:
                            attrs = {a.key: a.value.string_value or str(a.value.int_value) for a in s.attributes}
                            self.spans.append((s.name, attrs, s.trace_id.hex()))
            return Response(b"", media_type="application/x-protobuf")

        return Starlette(routes=[Route("/v1/traces", traces, methods=["POST"])])


def test_spans_reach_a_real_otlp_receiver(tmp_path: Path):
    receiver = Receiver()
    server = ThreadServer(receiver.app())
    server.start()
    try:
        tracing_cfg = {"enabled": True, "endpoint": f"{server.url}/v1/traces", "sampling": 1.0}
        with run_gateway_process(tmp_path, tracing=tracing_cfg) as url:
            assert httpx.get(f"{url}/api/workflow/nope", headers={"traceparent": TRACEPARENT}).status_code == 404
            deadline = time.monotonic() + 30  # the batch processor exports every few seconds
            while time.monotonic() < deadline:
                with receiver.lock:
                    got = [s for s in receiver.spans if s[0] == "conductor getExecutionStatus" or s[2] == TRACE_ID]
                if any(s[0].startswith("conductor ") for s in got):
                    break
                time.sleep(0.2)
        request = [s for s in got if s[0].startswith("conductor ")]
        assert request and request[0][2] == TRACE_ID
        assert request[0][1]["wfgateway.tenant"] == "default" and request[0][1]["http.response.status_code"] == "404"
    finally:
        server.stop()
