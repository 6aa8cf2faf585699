"""A cron schedule that never fires (February 31st, a year gone by) is refused with Altostrat's 422 when a
workflow is created or updated, and nothing of it is stored: it was a 500 whose workflow stayed stored, and
from then on every listing of the organisation's workflows was a 500 too."""

from __future__ import annotations

import pytest

from tests.altostrat.conftest import checked, new_authorization

START = [{"id": "start", "type": "manual_trigger", "position": {"x": 0, "y": 0},
          "data": {"componentId": "manual_trigger"}}]


NEVER = "The schedule_value '{}' never fires."
PAST_YEAR_9999 = "The schedule_value '{}' is not a valid interval (e.g. '5 minutes')."


@pytest.mark.parametrize(("kind", "value", "message"), [
    ("cron", "0 0 31 2 *", NEVER), ("cron", "0 0 1 1 * 0 2020", NEVER), ("monthly", "0 0 30 2 *", NEVER),
    ("interval", "999999999 weeks", PAST_YEAR_9999),  # its next run would be past any date a run can show
])
def test_a_schedule_that_never_fires_is_refused_and_nothing_is_stored(org1, kind, value, message):
    listed = checked(org1.get("/workflows"), "listWorkflows", 200)
    body = {"name": "Never", "authorization_id": new_authorization(org1), "schedule_type": kind,
            "schedule_value": value, "nodes": START, "edges": []}
    refused = checked(org1.post("/workflows", json=body), "createWorkflow", 422)
    assert refused["code"] == "invalid_workflow"
    assert refused["message"] == message.format(value)
    assert checked(org1.get("/workflows"), "listWorkflows", 200) == listed

    kept = checked(org1.post("/workflows", json={**body, "schedule_type": "cron", "schedule_value": "0 9 * * *"}),
                   "createWorkflow", 201)
    again = checked(org1.put(f"/workflows/{kept['id']}", json={"schedule_type": kind, "schedule_value": value}),
                    "updateWorkflow", 422)
    assert again["message"] == message.format(value)
    unchanged = checked(org1.get(f"/workflows/{kept['id']}"), "getWorkflow", 200)
    assert (unchanged["schedule_type"], unchanged["schedule_value"]) == ("cron", "0 9 * * *")
