"""Gateways for contract runs: every dialect with credentials configured, and how to get each token.

With credentials configured every auth check applies (``ignored_auth``, a missing ``Authorization``
header -> 401), which an open gateway on loopback cannot show.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml

from tests.contract.profile import SPECS

CONDUCTOR_KEY_ID = "contract-key"
SECRETS = {
    "WFG_CONTRACT_CONDUCTOR_KEY_SECRET": "contract-conductor-secret",
    "WFG_CONTRACT_TOKEN_SECRET": "contract-token-signing-secret-0123456789",
    "WFG_CONTRACT_COGNITE_TOKEN": "contract-cognite-token",
    "WFG_CONTRACT_ALTOSTRAT_TOKEN": "contract-altostrat-token",
}


def secured_dialects() -> dict[str, Any]:
    """``dialects`` overrides (for tests/support/server.gateway_config) that configure credentials."""
    return {
        "conductor": {"auth": {
            "keys": [{"key_id": CONDUCTOR_KEY_ID, "key_secret_env": "WFG_CONTRACT_CONDUCTOR_KEY_SECRET"}],
            "token_ttl_seconds": 3600,
            "token_secret_env": "WFG_CONTRACT_TOKEN_SECRET",
        }},
        # cdf tasks call cdf_base_url; nothing listens on port 9, so such tasks fail (and can be retried).
        "cognite": {"auth": {"tokens": [{"token_env": "WFG_CONTRACT_COGNITE_TOKEN", "projects": ["*"]}]},
                    "cdf_base_url": "http://127.0.0.1:9"},
        "altostrat": {"auth": {"tokens": [{"token_env": "WFG_CONTRACT_ALTOSTRAT_TOKEN", "org": "org_contract"}]}},
    }


def token_for(dialect: str, post: Any) -> str:
    """A valid credential: Conductor trades its application key for a token (``post(path, json)``
    returns the parsed JSON answer); Cognite and Altostrat use their configured static tokens."""
    if dialect == "conductor":
        answer = post("/api/token", {"keyId": CONDUCTOR_KEY_ID,
                                     "keySecret": SECRETS["WFG_CONTRACT_CONDUCTOR_KEY_SECRET"]})
        return str(answer["token"])
    return SECRETS[f"WFG_CONTRACT_{dialect.upper()}_TOKEN"]


def keyed_document(dialect: str) -> dict[str, Any]:
    """The spec as a gateway with credentials serves it.

    Conductor's spec declares ``security: [{api_key: []}, {}]``: the token is optional, which is
    Conductor OSS (and this gateway without keys).  With application keys configured the gateway,
    like Orkes, requires ``X-Authorization`` on every operation but ``POST /api/token`` (which keeps
    its own ``security: []``), so the empty alternative is dropped for this run -- otherwise
    Schemathesis treats auth as optional and ``ignored_auth`` would check nothing.
    """
    document = yaml.safe_load(Path(SPECS[dialect]).read_text())
    if dialect != "conductor":
        return document
    document = copy.deepcopy(document)
    document["security"] = [s for s in document.get("security", []) if s]
    for item in document["paths"].values():
        for op in item.values():
            if isinstance(op, dict) and op.get("security"):
                op["security"] = [s for s in op["security"] if s]
    return document
