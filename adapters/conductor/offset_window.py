"""Conductor's searches page by offset (``start``/``size``); the backends page by cursor.  A window
reads the cursor pages until it holds the ``size`` items after the first ``start`` matches, and keeps
the largest total a page reported (totalHits)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Generic, TypeVar

from wfgateway.core.model import Page

T = TypeVar("T")
BATCH_MAX = 1000  # rows asked of the backend at once


@dataclass
class OffsetWindow(Generic[T]):
    start: int
    size: int
    skipped: int = 0  # matches passed over so far (the first ``start``)
    total: int = 0
    items: list[T] = field(default_factory=list)

    @property
    def full(self) -> bool:
        return len(self.items) >= self.size

    def batch(self, already_skipped_by_backend: int = 0) -> int:
        """How many rows to ask for next (1 to BATCH_MAX)."""
        wanted = self.start + self.size - self.skipped - len(self.items) - already_skipped_by_backend
        return min(BATCH_MAX, max(1, wanted))

    def take(self, page: Page) -> bool:
        """Count ``page`` in; True while the backend has more to read and the window is not full."""
        self.total = page.total if page.total is not None else self.total
        for item in page.items:
            if self.skipped < self.start:
                self.skipped += 1
            elif len(self.items) < self.size:
                self.items.append(item)
        return bool(page.next_cursor and page.items) and not self.full

    @property
    def total_hits(self) -> int:
        return max(self.total, self.skipped + len(self.items))
