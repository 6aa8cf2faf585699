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


# DEVELOPMENT ONLY -- open findings in /work/team/contract-findings.md that the spec/adapter owners are
# fixing right now.  strict: the mark fails as soon as the finding is fixed, so it cannot outlive it.
# This table must be empty when the issue is closed.
OPEN_FINDINGS: dict[str, str] = {
    "conductor": "open finding C2 (remove answers 501) -- /work/team/contract-findings.md",
}


def dialect_params(open_findings: dict[str, str]) -> list:
    """DIALECTS as pytest params, with a strict xfail for each dialect named in ``open_findings``."""
    import pytest

    return [
        pytest.param(d, marks=pytest.mark.xfail(strict=True, reason=open_findings[d])) if d in open_findings else d
        for d in DIALECTS
    ]
