"""Altostrat graphs to engine task DAGs, and the vendor's graph checks."""

from __future__ import annotations

from wfgateway.adapters.altostrat.translate import translate

from tests.altostrat.graphs import branching, edge, node
from wfgateway.core import model as M


def tasks_by_ref(body):
    graph = translate(body["nodes"], body["edges"])
    assert graph.errors == []
    return graph, {t.ref: t for t in graph.tasks}


def test_branching_graph_becomes_http_and_condition_tasks_with_branch_edges():
    graph, t = tasks_by_ref(branching("http://127.0.0.1:1"))
    assert graph.trigger_id == "n1"
    assert [x.ref for x in graph.tasks][:3] == ["n1", "n2", "n3"]
    assert t["n1"].kind == M.NOOP and t["n1"].depends_on == []
    assert t["n2"].kind == M.HTTP and t["n2"].depends_on == [M.Edge("n1")]
    assert t["n2"].params["method"] == "POST"
    assert t["n2"].params["url"] == "http://127.0.0.1:1/check"
    assert t["n2"].params["body"] == '{"user": "${workflow.input.user_id}", "run": "${workflow.input.run_id}"}'
    assert t["n2"].params["headers"] == {"X-Run": "${workflow.input.run_id}", "Content-Type": "application/json"}
    assert t["n3"].kind == M.CONDITION
    assert t["n3"].params == {"left": "${n2.output.body.healthy}", "operator": "equals", "right": True}
    assert t["n4"].depends_on == [M.Edge("n3", "true")]
    assert t["n5"].depends_on == [M.Edge("n3", "false")]
    assert t["n4"].params["body"] == {"from": "${n2.output.body.name}"}


def test_vault_templates_become_secret_templates():
    _, t = tasks_by_ref(branching("http://h", secret_header=True))
    assert t["n2"].params["headers"]["Authorization"] == "Bearer ${secrets.api_token}"


def test_delay_is_a_timed_wait_and_continue_on_error_takes_the_error_edge():
    body = {
        "nodes": [node("t", "manual_trigger"),
                  node("d", "delay", duration=2, unit="minutes"),
                  node("w", "webhook", method="GET", url="http://h/x", continue_on_error=True),
                  node("ok", "webhook", method="GET", url="http://h/ok"),
                  node("bad", "webhook", method="GET", url="http://h/bad")],
        "edges": [edge("t", "d"), edge("d", "w"), edge("w", "ok"), edge("w", "bad", "error")],
    }
    _, t = tasks_by_ref(body)
    assert t["d"].kind == M.WAIT and t["d"].params == {"duration_ms": 120_000}
    assert t["w"].continue_on_error is True
    assert t["ok"].depends_on == [M.Edge("w")]
    assert t["bad"].depends_on == [M.Edge("w", "error")]


def test_older_docs_node_shape_with_category_type_is_understood():
    body = {"nodes": [{"id": "node_1", "type": "trigger", "data": {"componentId": "manual_trigger"}},
                      {"id": "node_2", "type": "action", "data": {"componentId": "webhook", "method": "GET",
                                                                   "url": "http://h/{{ node_1.user_id }}"}}],
            "edges": [{"id": "edge_1_2", "source": "node_1", "target": "node_2"}]}
    _, t = tasks_by_ref(body)
    assert t["node_2"].kind == M.HTTP
    assert t["node_2"].params["url"] == "http://h/${workflow.input.user_id}"


def errors_of(nodes, edges):
    return translate(nodes, edges).errors


def test_exactly_one_trigger():
    assert any("exactly one trigger" in e for e in errors_of([node("w", "webhook", method="GET", url="http://h")], []))
    two = [node("a", "manual_trigger"), node("b", "webhook_trigger")]
    assert any("found 2" in e for e in errors_of(two, []))


def test_graph_errors_are_reported_with_the_nodes_they_concern():
    t = node("t", "manual_trigger")
    assert any("unsupported component 'teleport'" in e for e in errors_of([t, node("x", "teleport")], [edge("t", "x")]))
    assert any("unknown node 'zz'" in e for e in errors_of([t], [edge("t", "zz")]))
    w1 = node("a", "webhook", method="GET", url="http://h")
    w2 = node("b", "webhook", method="GET", url="http://h")
    assert any("cycle" in e for e in errors_of([t, w1, w2], [edge("t", "a"), edge("a", "b"), edge("b", "a")]))
    assert any("not connected" in e for e in errors_of([t, w1], []))
    cond = node("c", "condition", left="{{ t.x }}", operator="equals", right=1)
    assert any("'true' or 'false'" in e for e in errors_of([t, cond, w1], [edge("t", "c"), edge("c", "a")]))
    assert any("continue_on_error" in e for e in errors_of([t, w1, w2], [edge("t", "a"), edge("a", "b", "error")]))
    late = node("a", "webhook", method="GET", url="http://h/{{ b.body.id }}")
    assert any("does not run before it" in e for e in errors_of([t, late, w2], [edge("t", "a"), edge("a", "b")]))
    assert any("unknown node 'ghost'" in e
               for e in errors_of([t, node("a", "webhook", method="GET", url="{{ ghost.x }}")], [edge("t", "a")]))
    long_delay = node("d", "delay", duration=16, unit="minutes")
    assert any("900 seconds" in e for e in errors_of([t, long_delay], [edge("t", "d")]))
    assert any("needs a method" in e for e in errors_of([t, node("a", "webhook", url="http://h")], [edge("t", "a")]))
    bad_op = node("c", "condition", left=1, operator="resembles", right=2)
    assert any("unknown operator" in e for e in errors_of([t, bad_op], [edge("t", "c")]))
    assert any("into the trigger" in e for e in errors_of([t, w1], [edge("t", "a"), edge("a", "t")]))
    assert any("more than once" in e for e in errors_of([t, w1, dict(w1)], [edge("t", "a")]))
