"""Every ``pattern`` of every shipped spec is safe in a backtracking regex engine.

The gateway validates with jsonschema-rs (linear-time regex), but the specs are also read by clients,
by openapi-core and by Schemathesis, whose Python ``re`` backtracks: a pattern with nested quantifiers
over overlapping characters (``^(\\s*\\d+\\s*d[\\s,]*)+$``) takes exponential time on a near-miss such
as ``"1d\\t \\n " * 20 + "x"`` -- the contract suite's Hypothesis generation crawled for hours on one.
Each pattern here is searched, in a child process, on pumped near-misses built from the characters
specs care about; a linear pattern answers them all in milliseconds, an exponential one in years, so
the generous limit only ever catches a hang.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest
import yaml

from tests.support.server import REPO

CHUNKS = ["1d", "12", " ", "\t", "\n", ",", "a", "'a'", "AND ", "x = 1 ", "externalId", "{", "}", "-", "${", "::"]
HANG_LIMIT_S = 20.0


def _patterns(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "pattern" and isinstance(value, str):
                yield value
            else:
                yield from _patterns(value)
    elif isinstance(node, list):
        for value in node:
            yield from _patterns(value)


def _all_patterns() -> list[tuple[str, str]]:
    found: set[tuple[str, str]] = set()
    for spec in sorted((REPO / "openapi").glob("*.yaml")):
        document = yaml.safe_load(spec.read_text())
        found.update((spec.stem, p) for p in _patterns(document))
    return sorted(found)


PROBE = """
import re, sys
pattern = re.compile(sys.argv[1])
chunks = sys.argv[2:]
for a in chunks:
    for b in chunks:
        for tail in ("\\u00da", "!", ""):
            pattern.search((a + b) * 24 + tail)
"""


def test_the_specs_have_patterns_to_check() -> None:
    assert len(_all_patterns()) >= 10


@pytest.mark.parametrize(("dialect", "pattern"), _all_patterns())
def test_pattern_has_no_catastrophic_backtracking(dialect: str, pattern: str) -> None:
    try:
        subprocess.run([sys.executable, "-c", PROBE, pattern, *CHUNKS], check=True, timeout=HANG_LIMIT_S,
                       capture_output=True)
    except subprocess.TimeoutExpired:
        pytest.fail(f"{dialect}: pattern {pattern!r} backtracks catastrophically on a pumped near-miss")
