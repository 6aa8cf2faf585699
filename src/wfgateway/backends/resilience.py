"""Circuit breaker and retry backoff for one upstream backend.

The breaker opens after ``failures`` consecutive failed attempts (no connection, timeout, reset,
5xx) and then answers at once (503) instead of letting every caller wait; after ``reset_ms`` one
probe call is let through (half-open): success closes it, failure opens it again.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable

CLOSED, HALF_OPEN, OPEN = "closed", "half_open", "open"
STATE_NUMBER = {CLOSED: 0, HALF_OPEN: 1, OPEN: 2}


class CircuitBreaker:
    def __init__(self, failures: int, reset_ms: int, on_change: Callable[[str], None] | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.threshold = max(1, failures)
        self.reset_s = reset_ms / 1000
        self.state = CLOSED
        self.failures = 0
        self._opened_at = 0.0
        self._probing = False
        self._on_change = on_change
        self._clock = clock

    def allow(self) -> bool:
        """May an attempt go out now?  In half-open state only one probe at a time."""
        if self.state == CLOSED:
            return True
        if self.state == OPEN:
            if self._clock() - self._opened_at < self.reset_s:
                return False
            self._set(HALF_OPEN)
        if self._probing:
            return False
        self._probing = True
        return True

    def success(self) -> None:
        self.failures = 0
        self._probing = False
        if self.state != CLOSED:
            self._set(CLOSED)

    def failure(self) -> None:
        self._probing = False
        self.failures += 1
        if self.state == HALF_OPEN or self.failures >= self.threshold:
            self._opened_at = self._clock()
            if self.state != OPEN:
                self._set(OPEN)

    def release(self) -> None:
        """An attempt ended without telling anything about the upstream (cancelled)."""
        self._probing = False

    def _set(self, state: str) -> None:
        self.state = state
        if self._on_change is not None:
            self._on_change(state)


def backoff_s(attempt: int, base_ms: int = 50, cap_ms: int = 1000) -> float:
    """Full-jitter exponential backoff before retry number ``attempt`` (1-based)."""
    return random.uniform(0, min(cap_ms, base_ms * 2 ** (attempt - 1))) / 1000
