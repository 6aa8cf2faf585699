"""Schemathesis contract runs against a live target (placeholder; the runner lands next)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class FuzzProfile:
    """How hard a contract run fuzzes: examples per operation and phase, stateful scenario size."""

    name: str
    max_examples: int
    stateful_examples: int
    stateful_steps: int
    differential_examples: int
    seed: int = 20240611


PROFILES = {
    "ci": FuzzProfile("ci", max_examples=15, stateful_examples=20, stateful_steps=8, differential_examples=5),
    "deep": FuzzProfile("deep", max_examples=300, stateful_examples=200, stateful_steps=12, differential_examples=150),
}
