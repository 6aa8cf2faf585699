"""One open (no keys) gateway shared by the HTTP-level Conductor test modules of this package."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.server import RunningGateway, run_gateway

ONLY_CONDUCTOR = {"cognite": {"enabled": False}, "altostrat": {"enabled": False}}


@pytest.fixture(scope="package")
def open_gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningGateway]:
    with run_gateway(tmp_path_factory.mktemp("conductor-open"), dialects=ONLY_CONDUCTOR) as gw:
        yield gw
