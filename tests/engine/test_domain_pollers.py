"""The engine remembers recent worker polls per domain (which domain of a list a task joins); the
domains are the callers' to choose, so that memory is bounded and still answers for active pollers."""

from __future__ import annotations

from wfgateway.engine.domains import ACTIVE_MS, MAX_POLLERS, Pollers


def test_a_flood_of_domains_stays_bounded_and_recent_pollers_stay_active():
    pollers = Pollers()
    for n in range(MAX_POLLERS * 3):
        pollers.polled("t", "job", f"d{n}", now=n)
    assert len(pollers) <= MAX_POLLERS
    last = MAX_POLLERS * 3 - 1
    assert pollers.active("t", "job", f"d{last}", now=last)


def test_an_inactive_domain_is_forgotten_first():
    pollers = Pollers()
    pollers.polled("t", "job", "old", now=0)
    for n in range(MAX_POLLERS):
        pollers.polled("t", "job", f"d{n}", now=ACTIVE_MS + n)
    assert not pollers.active("t", "job", "old", now=ACTIVE_MS + MAX_POLLERS)
    assert pollers.active("t", "job", f"d{MAX_POLLERS - 1}", now=ACTIVE_MS + MAX_POLLERS)
