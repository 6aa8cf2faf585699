"""The store's write health: fault episodes, logged once each, counted for /metrics, shown in /readyz.

An episode starts with the first write the store could not take (disk full, locked past the wait,
database unreachable) and ends with the next write that succeeds: one warning when it starts, one
info line when it ends, however many requests failed in between.  A store that fails again with the
same cause within ``RESUME_S`` of an end resumes that episode silently (a nearly full disk takes
the small writes and refuses the large ones; that is one episode, not hundreds).
"""

from __future__ import annotations

import logging
import time

log = logging.getLogger("wfgateway.store")
RESUME_S = 5.0


class StoreHealth:
    def __init__(self, where: str) -> None:
        self.where = where  # the file or database, for log lines
        self.cause: str | None = None  # the running episode's cause; None while writes succeed
        self.since: float = 0.0
        self.failures: dict[str, int] = {}  # cause -> calls refused (wfgateway_store_unavailable_total)
        self.episodes: dict[str, int] = {}  # cause -> episodes started
        self._ended: tuple[str, float] | None = None  # the last episode's cause and when it ended

    def fault(self, cause: str, detail: str) -> None:
        self.failures[cause] = self.failures.get(cause, 0) + 1
        if self.cause == cause:
            return
        if self.cause is None and self._ended is not None and self._ended[0] == cause \
                and time.monotonic() - self._ended[1] < RESUME_S:
            self.cause = cause  # the same episode goes on
            return
        self.episodes[cause] = self.episodes.get(cause, 0) + 1
        self.cause, self.since = cause, time.monotonic()
        log.warning("store %s cannot take writes: %s (%s); answering retryable 503 until it can", self.where,
                    cause, detail)

    def recovered(self) -> None:
        if self.cause is None:
            return
        now = time.monotonic()
        if self._ended is None or self._ended[0] != self.cause or now - self._ended[1] >= RESUME_S:
            log.info("store %s takes writes again after %.1f s (%s)", self.where, now - self.since, self.cause)
        self._ended = (self.cause, now)
        self.cause = None
