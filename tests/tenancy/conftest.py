"""A real gateway (uvicorn on 127.0.0.1) with two tenants, "acme" and "rival", on every dialect, on
SQLite and on PostgreSQL (one schema per module), and httpx clients holding each tenant's credentials."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from tests.engine.pg import PG_DSN, create_schema, drop_schema
from tests.support.server import RunningGateway, run_gateway

TENANTS = ("acme", "rival")
SECRETS = {  # environment variable -> secret; every one of them must stay out of logs and metrics
    "TENANCY_CONDUCTOR_ACME": "cond-acme-key-secret-5b1f0c",
    "TENANCY_CONDUCTOR_RIVAL": "cond-rival-key-secret-77ad2e",
    "TENANCY_TOKEN_SECRET": "tenancy-token-signing-secret-0f9e",
    "TENANCY_COGNITE_ACME": "cdf-acme-token-3c2d1e",
    "TENANCY_COGNITE_RIVAL": "cdf-rival-token-a8b7c6",
    "TENANCY_ALTO_ACME": "alto-acme-token-0123456789",
    "TENANCY_ALTO_RIVAL": "alto-rival-token-9876543210",
}


def dialect_auth() -> dict[str, Any]:
    return {
        "conductor": {"auth": {"keys": [
            {"key_id": "acme-key", "key_secret_env": "TENANCY_CONDUCTOR_ACME", "tenant": "acme"},
            {"key_id": "rival-key", "key_secret_env": "TENANCY_CONDUCTOR_RIVAL", "tenant": "rival"}],
            "token_secret_env": "TENANCY_TOKEN_SECRET"}},
        "cognite": {"auth": {"tokens": [{"token_env": "TENANCY_COGNITE_ACME", "projects": ["acme"]},
                                        {"token_env": "TENANCY_COGNITE_RIVAL", "projects": ["rival"]}]}},
        "altostrat": {"auth": {"tokens": [{"token_env": "TENANCY_ALTO_ACME", "org": "acme"},
                                          {"token_env": "TENANCY_ALTO_RIVAL", "org": "rival"}]}},
    }


@dataclass
class Tenant:
    """One tenant's clients: each sends that tenant's credential on every request."""

    name: str
    conductor: httpx.Client
    cognite: httpx.Client
    altostrat: httpx.Client


@dataclass
class TwoTenants:
    gateway: RunningGateway
    store: str
    acme: Tenant
    rival: Tenant


def _tenant(url: str, name: str) -> Tenant:
    upper = name.upper()
    token = httpx.post(f"{url}/api/token", json={"keyId": f"{name}-key",
                                                 "keySecret": SECRETS[f"TENANCY_CONDUCTOR_{upper}"]}, timeout=30)
    token.raise_for_status()
    return Tenant(
        name,
        httpx.Client(base_url=url, headers={"X-Authorization": token.json()["token"]}, timeout=30),
        httpx.Client(base_url=f"{url}/api/v1/projects/{name}",
                     headers={"Authorization": f"Bearer {SECRETS[f'TENANCY_COGNITE_{upper}']}"}, timeout=30),
        httpx.Client(base_url=url, headers={"Authorization": f"Bearer {SECRETS[f'TENANCY_ALTO_{upper}']}"},
                     timeout=30),
    )


@pytest.fixture(scope="module")
def env_secrets() -> Iterator[dict[str, str]]:
    saved = {k: os.environ.get(k) for k in SECRETS}
    os.environ.update(SECRETS)
    try:
        yield SECRETS
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def store_settings(kind: str, tmp: Path) -> tuple[dict[str, Any], str | None]:
    if kind == "sqlite":
        return {"kind": "sqlite", "path": str(tmp / "gateway.db")}, None
    schema = create_schema()
    options = conninfo_to_dict(PG_DSN).get("options") or ""
    dsn = make_conninfo(PG_DSN, options=f"{options} -c search_path={schema}".strip())
    return {"kind": "postgres", "dsn": dsn, "schema": schema, "pool_size": 4}, schema


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def tenants(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory,
            env_secrets: dict[str, str]) -> Iterator[TwoTenants]:
    tmp = tmp_path_factory.mktemp(f"tenancy-{request.param}")
    store, schema = store_settings(request.param, tmp)
    try:
        with run_gateway(tmp, store=store, dialects=dialect_auth(),
                         server={"access_log": True}) as gw:
            acme, rival = _tenant(gw.url, "acme"), _tenant(gw.url, "rival")
            yield TwoTenants(gw, request.param, acme, rival)
            for t in (acme, rival):
                for c in (t.conductor, t.cognite, t.altostrat):
                    c.close()
    finally:
        if schema is not None:
            drop_schema(schema)
