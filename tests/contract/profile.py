"""Which specs the contract suite covers and how hard it fuzzes them (WFGATEWAY_FUZZ_PROFILE)."""

from __future__ import annotations

import os

import pytest

from tests.support.server import REPO
from wfgateway.contract.runner import PROFILES, FuzzProfile, OperationRule

DIALECTS = ("conductor", "cognite", "altostrat")
SPECS = {name: REPO / "openapi" / f"{name}.yaml" for name in DIALECTS}


def selected_dialects(request: pytest.FixtureRequest) -> tuple[str, ...]:
    """The dialects the selected tests of the requesting module are parametrized with, so a module
    fixture starts only what runs: ``pytest tests/contract -k conductor`` covers one dialect."""
    wanted = {item.callspec.params["dialect"] for item in request.session.items
              if item.path == request.path and "dialect" in getattr(getattr(item, "callspec", None), "params", {})}
    return tuple(d for d in DIALECTS if d in wanted) or DIALECTS


def time_limit() -> int:
    """Seconds a heavy contract test may take (pytest-timeout): a deep run is long by design."""
    return 900 if active_profile().name == "ci" else 4 * 3600


def active_profile() -> FuzzProfile:
    """``ci`` (default: the whole suite stays fast) or ``deep`` (``make contract-deep``)."""
    name = os.environ.get("WFGATEWAY_FUZZ_PROFILE", "ci")
    if name not in PROFILES:
        raise RuntimeError(f"WFGATEWAY_FUZZ_PROFILE={name!r}: choose one of {', '.join(PROFILES)}")
    return PROFILES[name]


# Known gaps of the gateway itself (not of the vendors): each is one check on one operation that is
# not run, with the reason, printed under "not run:" in every report.  Remove an entry when its gap is closed.
KNOWN_GAPS: dict[str, tuple[OperationRule, ...]] = {}


def skip_arguments(dialect: str) -> list[str]:
    """KNOWN_GAPS of ``dialect`` as ``wfgateway contract --skip`` arguments."""
    return [a for r in KNOWN_GAPS.get(dialect, ()) for a in ("--skip", f"{r.check}@{r.operation_id}={r.reason}")]
