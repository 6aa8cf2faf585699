"""Conductor search queries -> backend search filters."""

from __future__ import annotations

import pytest
from wfgateway.adapters.conductor.search_query import parse_query

from wfgateway.core.errors import InvalidArgument
from wfgateway.core.statuses import ExecutionStatus


def test_common_clauses() -> None:
    f = parse_query("workflowType = 'order_flow' AND status IN (FAILED, TIMED_OUT) AND correlationId=\"c-1\" "
                    "AND version = 2 AND startTime > 1000 AND startTime < 2000 AND parentWorkflowId = p-1")
    assert f.name == "order_flow" and f.version == 2 and f.correlation_id == "c-1" and f.parent_execution_id == "p-1"
    assert f.statuses == [ExecutionStatus.FAILED, ExecutionStatus.TIMED_OUT]
    assert (f.created_from_ms, f.created_to_ms) == (1001, 1999)
    assert parse_query("workflowId IN (a,b)").workflow_ids == ["a", "b"]
    assert parse_query("workflowType IN (order_flow)").name == "order_flow"  # what the Conductor client half sends
    assert parse_query("").name is None and parse_query(None).statuses is None


@pytest.mark.parametrize("query", ["status = DONE", "foo = 1", "status IN FAILED", "workflowType ~ x",
                                   "workflowType IN (a,b)", "workflowType != a"])
def test_bad_queries_are_400s_naming_the_clause(query: str) -> None:
    with pytest.raises(InvalidArgument):
        parse_query(query)
