"""Every integer a shipped spec accepts has a bound the gateway can hold.

The store keeps integers in 64 bits (SQLite INTEGER, PostgreSQL BIGINT) and the vendors' servers hold
no more (Java int/long, PHP int, CDF's int64).  An integer schema without ``format: int32|int64`` or a
``maximum`` let ``GET /api/workflow/search?start=99999999999999999999`` through validation into the
store, which answered 500.  The OpenAPI integer formats are range checks here
(contract/schemas.py), so each integer must say which it is, and clients and Schemathesis read the
same bound the gateway enforces.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import yaml

from tests.support.server import REPO, run_gateway

HUGE = "99999999999999999999"  # past 2**64


def _unbounded_integers(node: Any, path: str) -> Iterator[str]:
    if isinstance(node, dict):
        kinds = node.get("type")
        kinds = kinds if isinstance(kinds, list) else [kinds]
        if "integer" in kinds and node.get("format") not in ("int32", "int64") and "maximum" not in node:
            yield path
        for key, value in node.items():
            yield from _unbounded_integers(value, f"{path}/{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _unbounded_integers(value, f"{path}/{i}")


@pytest.mark.parametrize("dialect", ["conductor", "cognite", "altostrat"])
def test_every_integer_in_the_spec_is_bounded(dialect: str) -> None:
    document = yaml.safe_load((REPO / "openapi" / f"{dialect}.yaml").read_text())
    assert list(_unbounded_integers(document, "")) == []


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[httpx.Client]:
    with run_gateway(tmp_path_factory.mktemp("integers")) as gw, httpx.Client(base_url=gw.url, timeout=10) as c:
        yield c


@pytest.mark.parametrize("path", [
    f"/api/workflow/search?start={HUGE}",
    f"/api/workflow/search-v2?start={HUGE}",
    f"/api/workflow/search-by-tasks?start={HUGE}",
    f"/api/tasks/search?start={HUGE}",
])
def test_conductor_offsets_past_an_int_are_refused_in_conductors_format(client: httpx.Client, path: str) -> None:
    r = client.get(path)
    assert r.status_code == 400, r.text
    body = r.json()
    assert body["status"] == 400 and body["validationErrors"][0]["path"] == "query.start"


def test_conductor_version_past_an_int_is_refused(client: httpx.Client) -> None:
    r = client.get(f"/api/workflow/running/any?version={HUGE}")
    assert r.status_code == 400 and r.json()["validationErrors"][0]["path"] == "query.version", r.text


def test_cognite_run_time_past_int64_is_refused_in_cognites_format(client: httpx.Client) -> None:
    r = client.post("/api/v1/projects/default/workflows/versions", content=(
        '{"items":[{"workflowExternalId":"w","version":"1","workflowDefinition":{"tasks":[{"externalId":"t",'
        '"type":"simulation","parameters":{"simulation":{"routineExternalId":"r","runTime":' + HUGE + '}}}]}}]}'),
        headers={"content-type": "application/json"})
    assert r.status_code == 400, r.text
    assert r.json()["error"]["code"] == 400 and "runTime" in r.json()["error"]["message"]
