"""Which specs the contract suite covers and how hard it fuzzes them (WFGATEWAY_FUZZ_PROFILE)."""

from __future__ import annotations

import os

from tests.support.server import REPO
from wfgateway.contract.runner import PROFILES, FuzzProfile

DIALECTS = ("conductor", "cognite", "altostrat")
SPECS = {name: REPO / "openapi" / f"{name}.yaml" for name in DIALECTS}


def active_profile() -> FuzzProfile:
    """``ci`` (default: the whole suite stays fast) or ``deep`` (``make contract-deep``)."""
    name = os.environ.get("WFGATEWAY_FUZZ_PROFILE", "ci")
    if name not in PROFILES:
        raise RuntimeError(f"WFGATEWAY_FUZZ_PROFILE={name!r}: choose one of {', '.join(PROFILES)}")
    return PROFILES[name]
