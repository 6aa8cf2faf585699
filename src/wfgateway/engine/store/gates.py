"""The arithmetic of a gated claim (``Store.claim_gated``), shared by every store.

A task name's gate row (table ``task_gates``) keeps the times of its recent limited claims, newest
last, as JSON text; the IN_PROGRESS count is read from ``attempts`` inside the same transaction.
A claim fits when the name has fewer IN_PROGRESS attempts than its ``max_in_progress`` and fewer
claims than its ``per_window`` in the ``window_ms`` before now (a sliding window: each claim counts
for ``window_ms`` after it).  Claims without limits always fit and still count as IN_PROGRESS.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence

from wfgateway.core.model import TaskLimits
from wfgateway.engine.store.base import Claim

MAX_KEPT = 10_000  # at most this many claim times are kept per name, whatever the limit says


def starts_of(text: str | None) -> list[int]:
    try:
        value = json.loads(text) if text else []
    except ValueError:
        return []
    return [v for v in value if isinstance(v, int)] if isinstance(value, list) else []


def fits(limits: TaskLimits | None, in_progress: int, starts: Sequence[int], now: int) -> bool:
    if limits is None:
        return True
    if 0 < limits.max_in_progress <= in_progress:
        return False
    if limits.per_window > 0 and limits.window_ms > 0:
        since = now - limits.window_ms
        if sum(1 for t in starts if t > since) >= limits.per_window:
            return False
    return True


def counts_start(limits: TaskLimits | None) -> bool:
    """Only rate-limited claims are recorded, as only they are counted against a rate."""
    return limits is not None and limits.per_window > 0 and limits.window_ms > 0


def plan(claims: Sequence[Claim], in_progress: int, starts: Sequence[int], now: int) -> tuple[list[Claim], bool]:
    """The leading claims that fit if every one of them is applied; True when one was held back."""
    batch: list[Claim] = []
    running, recent = in_progress, list(starts)
    for c in claims:
        if not fits(c.limits, running, recent, now):
            return batch, True
        batch.append(c)
        running += 1
        if counts_start(c.limits):
            recent.append(now)
    return batch, False


def kept(starts: Sequence[int], claims: Sequence[Claim], now: int) -> str | None:
    """The gate row's new text: the claim times inside the longest window the rate-limited ``claims``
    use (None when none of them is rate-limited: the row is left as it is)."""
    rated = [c.limits for c in claims if c.limits is not None and counts_start(c.limits)]
    if not rated:
        return None
    window = max(limits.window_ms for limits in rated)
    keep = min(max(limits.per_window for limits in rated), MAX_KEPT)
    return json.dumps([t for t in starts if t > now - window][-keep:])


class Tally:
    """One gated claim's counts as it goes: the name's IN_PROGRESS attempts and recent claim times.
    ``batches`` yields the claims that fit, a batch at a time; the store applies each and reports every
    claim it won with ``took`` (a lost claim takes no slot).  ``held`` says a limit kept one back."""

    def __init__(self, in_progress: int, starts: list[int], now: int) -> None:
        self.in_progress, self.starts, self.now = in_progress, starts, now
        self.held = False

    def batches(self, claims: Sequence[Claim]) -> Iterator[list[Claim]]:
        pending = list(claims)
        while pending:
            batch, self.held = plan(pending, self.in_progress, self.starts, self.now)
            if not batch:
                return
            yield batch
            pending = pending[len(batch):]

    def took(self, claim: Claim) -> None:
        self.in_progress += 1
        if counts_start(claim.limits):
            self.starts.append(self.now)

    def kept(self, claims: Sequence[Claim]) -> str | None:
        return kept(self.starts, claims, self.now)
