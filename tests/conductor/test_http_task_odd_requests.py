"""An HTTP task whose request cannot be sent -- a URL Python cannot parse (an unclosed IPv6 bracket, a port
past 65535 or not a number), a header value outside ASCII -- fails with the reason, as an unreachable host
does.  Each left its run RUNNING, the task re-sent at every lease expiry with a traceback in the log."""

from __future__ import annotations

import time
import uuid

import pytest
from conductor.client.configuration.configuration import Configuration
from conductor.client.http.models import Workflow
from conductor.client.orkes_clients import OrkesClients
from conductor.client.workflow.conductor_workflow import ConductorWorkflow
from conductor.client.workflow.task.http_task import HttpInput, HttpTask


@pytest.mark.parametrize(("uri", "headers", "reason"), [
    ("http://[::1/x", {}, "Unsupported URL 'http://[::1/x'"),
    ("http://127.0.0.1:99999/x", {}, "Unsupported URL 'http://127.0.0.1:99999/x'"),
    ("http://127.0.0.1:port/x", {}, "Unsupported URL 'http://127.0.0.1:port/x'"),
    ("http://127.0.0.1:9/x", {"X-Name": ["Zoë"]}, "HTTP request failed: "),
])
def test_an_http_request_that_cannot_be_sent_fails_the_task(gateway: str, uri, headers, reason):
    run = _ended_run(gateway, HttpInput(uri=uri, headers=headers))
    assert run.status == "FAILED"
    assert run.tasks[0].status == "FAILED" and reason in run.tasks[0].reason_for_incompletion


@pytest.mark.parametrize("timeouts", [{"read_timeout": 10**19}, {"connection_time_out": 2**63}])
def test_an_http_task_with_a_timeout_past_any_real_one_runs(gateway: str, timeouts):
    """A time-out beyond Java's int milliseconds (Conductor's HttpTask.Input) is held to that bound: the call
    is made.  It overflowed the store's 64-bit lease instant: the task stayed SCHEDULED, a traceback at every try."""
    run = _ended_run(gateway, HttpInput(uri=f"{gateway}/healthz", **timeouts))
    assert (run.status, run.tasks[0].output_data["response"]["statusCode"]) == ("COMPLETED", 200)


def _ended_run(gateway: str, http_input: HttpInput) -> Workflow:
    """A one-HTTP-task workflow registered and started through conductor-python, once it has ended."""
    clients = OrkesClients(configuration=Configuration(server_api_url=f"{gateway}/api"))
    flow = ConductorWorkflow(executor=clients.get_workflow_executor(), name=f"http_{uuid.uuid4().hex[:8]}", version=1)
    flow >> HttpTask("call", http_input)
    flow.register(overwrite=True)
    workflow_id = flow.start_workflow_with_input({})
    workflows = clients.get_workflow_client()
    deadline = time.monotonic() + 20
    while (run := workflows.get_workflow(workflow_id, include_tasks=True)).status == "RUNNING":
        assert time.monotonic() < deadline, f"the run is still RUNNING: {run.tasks[0].status}"
        time.sleep(0.05)
    return run
