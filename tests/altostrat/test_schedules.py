"""When scheduled workflows run next (interval, cron, daily / weekly / monthly)."""

from __future__ import annotations

from wfgateway.adapters.altostrat.schedules import as_cron, next_due
from wfgateway.adapters.altostrat.timefmt import iso, parse_ms
from wfgateway.adapters.altostrat.workflows import check_schedule

T = parse_ms("2025-10-31T12:00:00Z")  # a Friday


def due(kind, value, active=True):
    ms = next_due({"schedule_type": kind, "schedule_value": value, "is_active": active}, T)
    return iso(ms) if ms else None


def test_next_run_times():
    assert due("interval", "5 minutes") == "2025-10-31T12:05:00.000000Z"
    assert due("interval", "1 hour") == "2025-10-31T13:00:00.000000Z"
    assert due("cron", "0 9 * * *") == "2025-11-01T09:00:00.000000Z"
    assert due("daily", "09:30") == "2025-11-01T09:30:00.000000Z"
    assert due("daily", None) == "2025-11-01T00:00:00.000000Z"
    assert due("weekly", "08:00") == "2025-11-03T08:00:00.000000Z"  # Monday
    assert due("monthly", None) == "2025-11-01T00:00:00.000000Z"
    assert due("manual", None) is None
    assert due("cron", "0 9 * * *", active=False) is None
    assert as_cron({"schedule_type": "weekly", "schedule_value": "15 6 * * 5"}) == "15 6 * * 5"


def test_schedule_values_are_checked():
    assert check_schedule({"schedule_type": "cron", "schedule_value": None})
    assert check_schedule({"schedule_type": "cron", "schedule_value": "every day"})
    assert check_schedule({"schedule_type": "interval", "schedule_value": "soon"})
    assert check_schedule({"schedule_type": "daily", "schedule_value": "24:00"})
    assert check_schedule({"schedule_type": "interval", "schedule_value": "15 minutes"}) == []
    assert check_schedule({"schedule_type": "manual"}) == []


def test_a_cron_schedule_past_its_last_firing_has_no_next_run():
    """A year-bounded expression stops firing: no next run (a listing rendering it must not fail)."""
    assert due("cron", "0 0 1 1 * 0 2025") is None  # T is in October 2025
    assert due("cron", "0 0 1 1 * 0 2026") == "2026-01-01T00:00:00.000000Z"
