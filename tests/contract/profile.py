"""Which specs the contract suite covers and how hard it fuzzes them (WFGATEWAY_FUZZ_PROFILE)."""

from __future__ import annotations

import os
from dataclasses import replace

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


# The suite's depths.  ``deep`` is sized for one dialect at a time (``-k conductor``) in about 20 minutes on two
# shared cores: 100 examples per operation and phase, coverage capped at 200 cases per operation and scenario
# (measured on Conductor, 32 operations: uncapped coverage alone is ~10 min in process, 300 fuzzing examples
# ~12 min, and the same over HTTP through the command did not finish in 25).  ``full`` (``make contract-deep``)
# is the command's own deep profile: 300 examples per operation and every coverage case -- hours.
SUITE_PROFILES: dict[str, FuzzProfile] = {
    "ci": PROFILES["ci"],
    "deep": replace(PROFILES["deep"], max_examples=100, differential_examples=50, coverage_cap=200),
    "full": replace(PROFILES["deep"], name="full"),
}


def time_limit() -> int:
    """Seconds a heavy contract test may take (pytest-timeout): a deep run is long by design."""
    return 900 if active_profile().name == "ci" else 4 * 3600


def active_profile() -> FuzzProfile:
    """``ci`` (default: the whole suite stays fast), ``deep`` (one dialect in minutes) or ``full``
    (``make contract-deep``: several hundred examples per operation)."""
    name = os.environ.get("WFGATEWAY_FUZZ_PROFILE", "ci")
    if name not in SUITE_PROFILES:
        raise RuntimeError(f"WFGATEWAY_FUZZ_PROFILE={name!r}: choose one of {', '.join(SUITE_PROFILES)}")
    return SUITE_PROFILES[name]


# Known gaps of the gateway itself (not of the vendors): each is one check on one operation that is
# not run, with the reason, printed under "not run:" in every report.  Remove an entry when its gap is closed.
KNOWN_GAPS: dict[str, tuple[OperationRule, ...]] = {}


def skip_arguments(dialect: str) -> list[str]:
    """KNOWN_GAPS of ``dialect`` as ``wfgateway contract --skip`` arguments."""
    return [a for r in KNOWN_GAPS.get(dialect, ()) for a in ("--skip", f"{r.check}@{r.operation_id}={r.reason}")]
