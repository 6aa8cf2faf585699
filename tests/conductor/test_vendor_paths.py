"""Every path the Conductor OSS server and conductor-python 2.0.0 use reaches its own operation or an
honest 404/405 -- never a different operation whose path parameter happens to match (``bulk`` taken
as a workflow id, ``names`` as a definition name, ``queue/requeue/x`` as a task update by ref name).

The OSS routes come from the server's controllers (tests/fixtures/conductor/oss_routes.txt); the
SDK's are read from the installed package's resource APIs, so a new SDK path is checked too.
"""

from __future__ import annotations

import re
from pathlib import Path

import conductor.client
import httpx
import pytest

from tests.support.server import RunningGateway
from wfgateway.contract.routes import Match

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "conductor" / "oss_routes.txt"
SDK_ROOT = Path(conductor.client.__file__).resolve().parent
_SDK_CALL = re.compile(r"'(/[A-Za-z0-9_/{}.-]+)', '(GET|POST|PUT|DELETE|PATCH)'")


def oss_routes() -> set[tuple[str, str]]:
    out = set()
    for line in FIXTURE.read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            method, path = line.split()
            out.add((method, path))
    return out


def sdk_routes() -> set[tuple[str, str]]:
    files = [*(SDK_ROOT / "http" / "api").glob("*_resource_api.py"), *(SDK_ROOT / "orkes" / "api").glob("*.py")]
    out = set()
    for f in files:
        for path, method in _SDK_CALL.findall(f.read_text()):
            out.add((method, "/api" + path))
    return out


VENDOR_ROUTES = sorted(oss_routes() | sdk_routes())


def test_the_vendor_lists_are_read() -> None:
    """The walk below is only worth something if both sources yield their routes."""
    assert ("POST", "/api/workflow/bulk/retry") in oss_routes()
    assert ("POST", "/api/workflow/execute/{name}/{version}") in sdk_routes()
    assert ("GET", "/api/metadata/workflow/{name}/tags") in sdk_routes()
    assert len(VENDOR_ROUTES) > 150


def _concrete(template: str) -> str:
    return re.sub(r"\{[^}]+\}", "v-1", template)


@pytest.mark.parametrize(("method", "template"), VENDOR_ROUTES, ids=[f"{m} {p}" for m, p in VENDOR_ROUTES])
def test_vendor_path_reaches_its_own_operation_or_404_405(open_gateway: RunningGateway, method: str,
                                                          template: str) -> None:
    # by shape: the server names one segment {event} for GET and {name} for DELETE (/api/event/...)
    served = {(op.method, _concrete(op.path)): op.operation_id for op in open_gateway.app.specs["conductor"].operations}
    path = _concrete(template)
    found = open_gateway.app.pipeline.trie.lookup(path, method)
    if (method, path) in served:
        assert isinstance(found, Match), f"{method} {template} is served but not routed"
        assert found.target.operation_id == served[(method, path)]
        return
    if isinstance(found, Match):
        op = found.target.validator.operation
        pytest.fail(f"{method} {template} is not served, yet {op.method} {op.path} ({op.operation_id}) takes it")
    response = httpx.request(method, open_gateway.url + path, json=[] if method in ("POST", "PUT") else None)
    assert response.status_code in (404, 405), response.text
    if response.status_code == 404 and path.startswith("/api/"):
        assert response.json()["message"].startswith(f"wfgateway does not serve {method} "), response.text

