"""An id or name holding NUL -- which PostgreSQL text cannot store, so no tenant owns it -- is an
unknown id on every dialect and store (404 or the vendor's refusal), never a 500."""

from __future__ import annotations

import pytest

from tests.tenancy.conftest import TwoTenants

PATHS = [
    ("cognite", "/workflows/%00"), ("cognite", "/workflows/executions/%00"),
    ("cognite", "/workflows/triggers/%00/history"), ("cognite", "/workflows/a%00/versions/1"),
    ("altostrat", "/workflows/%00"), ("altostrat", "/workflows/runs/%00"), ("altostrat", "/workflows/vault/%00"),
    ("altostrat", "/workflows/%00/executions"),
    ("conductor", "/api/workflow/%00"), ("conductor", "/api/metadata/workflow/%00"),
    ("conductor", "/api/metadata/taskdefs/%00"), ("conductor", "/api/tasks/%00"), ("conductor", "/api/tasks/poll/%00"),
    ("conductor", "/api/workflow/running/%00"),
]


@pytest.mark.parametrize(("dialect", "path"), PATHS)
def test_an_id_holding_nul_is_unknown_not_a_server_error(tenants: TwoTenants, dialect: str, path: str):
    client = {"cognite": tenants.acme.cognite, "altostrat": tenants.acme.altostrat,
              "conductor": tenants.acme.conductor}[dialect]
    answer = client.get(path)
    assert 200 <= answer.status_code < 500 and answer.status_code != 401, answer.text
