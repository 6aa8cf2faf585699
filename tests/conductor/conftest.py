"""Gateways for the Conductor tests: one open (no keys) gateway shared by the HTTP-level modules of this
package, and for the SDK modules a Conductor-only gateway of their own with conductor-python's
``Configuration``, ``OrkesClients`` and ``WorkflowExecutor`` on it (a module overrides ``clients`` to register what it needs)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from conductor.client.configuration.configuration import Configuration
from conductor.client.orkes_clients import OrkesClients
from conductor.client.workflow.executor.workflow_executor import WorkflowExecutor

from tests.support.server import RunningGateway, run_gateway

ONLY_CONDUCTOR = {"cognite": {"enabled": False}, "altostrat": {"enabled": False}}


@pytest.fixture(scope="package")
def open_gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningGateway]:
    with run_gateway(tmp_path_factory.mktemp("conductor-open"), dialects=ONLY_CONDUCTOR) as gw:
        yield gw


@pytest.fixture(scope="module")
def gateway(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The requesting module's own Conductor-only gateway (its store in a folder named after the module)."""
    folder = tmp_path_factory.mktemp(request.module.__name__.rsplit(".", 1)[-1])
    with run_gateway(folder, dialects=ONLY_CONDUCTOR) as gw:
        yield gw.url


@pytest.fixture(scope="module")
def config(gateway: str) -> Configuration:
    return Configuration(server_api_url=f"{gateway}/api")


@pytest.fixture(scope="module")
def clients(config: Configuration) -> OrkesClients:
    return OrkesClients(configuration=config)


@pytest.fixture(scope="module")
def executor(config: Configuration) -> WorkflowExecutor:
    return WorkflowExecutor(config)
