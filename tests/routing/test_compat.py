"""docs/compatibility.md is current, and what it claims is what the client halves do."""

from __future__ import annotations

import importlib
import inspect

import pytest

from tests.support.server import REPO
from wfgateway.backends.settings import BackendSettings
from wfgateway.backends.transport import UpstreamTransport
from wfgateway.backends.upstream_credentials import NoAuth
from wfgateway.config import load_config
from wfgateway.core.backend import Backend
from wfgateway.core.errors import NotImplementedByBackend
from wfgateway.core.model import RetryPolicy
from wfgateway.core.statuses import TaskStatus
from wfgateway.routing.compat import generate

BACKEND_OPS = {name for name, _ in inspect.getmembers(Backend, inspect.isfunction) if not name.startswith("_")}


def test_compatibility_matrix_is_current():
    expected = generate(load_config(REPO / "config.yaml"))
    current = (REPO / "docs/compatibility.md").read_text()
    assert current == expected, "docs/compatibility.md is stale: run `wfgateway compat`"


@pytest.mark.parametrize("vendor", ["conductor", "cognite", "altostrat"])
def test_capabilities_cover_every_backend_operation(vendor):
    caps = importlib.import_module(f"wfgateway.adapters.{vendor}.client").CAPABILITIES
    assert BACKEND_OPS <= set(caps), BACKEND_OPS - set(caps)
    assert {level for level, _ in caps.values()} <= {"exact", "translated", "refused"}


ARGS = {
    "pause": ("e-1",), "resume": ("e-1",), "delete_execution": ("e-1",), "rerun": ("e-1",), "restart": ("e-1",), "clone": ("e-1",),
    "poll": ("t", "task"), "get_task": ("task-1",), "add_task_log": ("task-1", "line"),
}


@pytest.mark.parametrize("vendor", ["conductor", "cognite", "altostrat"])
async def test_refused_operations_are_refused_by_name_without_calling_the_vendor(vendor):
    module = importlib.import_module(f"wfgateway.adapters.{vendor}.client")
    settings = BackendSettings.from_config("v", {"kind": "upstream", "dialect": vendor, "url": "http://127.0.0.1:9",
                                                 "project": "p"})
    client = module.create_client(settings, UpstreamTransport(settings, NoAuth()))
    refused = [op for op, (level, _) in module.CAPABILITIES.items() if level == "refused" and op in ARGS]
    for op in refused:
        with pytest.raises(NotImplementedByBackend, match="cannot be translated"):
            await getattr(client, op)(*ARGS[op])  # a closed port: anything but a refusal would be a 503
    if vendor == "cognite":
        with pytest.raises(NotImplementedByBackend, match="reason"):
            await client.complete_task("t1", TaskStatus.FAILED, reason="boom")
        with pytest.raises(NotImplementedByBackend, match="task definitions"):
            await client.get_definition("default/conductor-taskdefs", "x", 1)
    else:
        with pytest.raises(NotImplementedByBackend, match="retry"):
            await client.retry("e-1", RetryPolicy(extra_attempt_past_limit=False))
    if vendor != "altostrat":  # a new run resumed from a task: only Altostrat has one
        with pytest.raises(NotImplementedByBackend, match="a new run resumed from"):
            await client.clone("e-1", resume_from_ref="n2")
    if vendor == "altostrat":
        for call, part in [
            (client.start("t", "fl_x", 1, {}, correlation_id="c-1"), "start with a correlation id"),
            (client.start("t", "fl_x", 1, {}, metadata={"k": "v"}), "start with metadata"),
            (client.start("t", "fl_x", 1, {}, idempotency_key="k"), "idempotency strategy fail"),
            (client.search("t"), "search across workflows"),
            (client.get_definition("default/conductor-taskdefs", "x"), "task definitions"),
            (client.complete_task("t1", TaskStatus.COMPLETED), "a task update to COMPLETED"),
        ]:
            with pytest.raises(NotImplementedByBackend, match=part):
                await call
    await client.transport.close()
