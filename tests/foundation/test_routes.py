"""The route trie: literal paths before parameters, per-template parameter names, encoded slashes."""

from wfgateway.contract.routes import Match, PathTrie, WrongMethod


def trie() -> PathTrie[str]:
    t: PathTrie[str] = PathTrie()
    t.add("/api/workflow/{workflowId}", "GET", "get")
    t.add("/api/workflow/{workflowId}", "DELETE", "terminate")
    t.add("/api/workflow/{name}", "POST", "start")
    t.add("/api/workflow/search", "GET", "search")
    t.add("/api/workflow/{workflowId}/rerun", "POST", "rerun")
    t.add("/api/workflow/{name}/correlated/{correlationId}", "GET", "correlated")
    return t


def test_parameter_names_belong_to_each_template():
    t = trie()
    assert t.lookup("/api/workflow/abc", "GET") == Match("get", {"workflowId": "abc"})
    assert t.lookup("/api/workflow/abc", "POST") == Match("start", {"name": "abc"})
    assert t.lookup("/api/workflow/n/correlated/c", "GET") == Match("correlated", {"name": "n", "correlationId": "c"})


def test_literal_template_governs_its_path():
    t = trie()
    assert t.lookup("/api/workflow/search", "GET") == Match("search", {})
    assert t.lookup("/api/workflow/search", "POST") == WrongMethod(["GET", "HEAD"])


def test_encoded_slash_stays_inside_the_segment():
    assert trie().lookup("/api/workflow/a%2Fb/rerun", "POST") == Match("rerun", {"workflowId": "a/b"})


def test_unknown_path_and_wrong_method():
    t = trie()
    assert t.lookup("/api/nothing", "GET") is None
    assert t.lookup("/api/workflow/x/rerun", "GET") == WrongMethod(["POST"])
    assert t.lookup("/api/workflow/x", "PUT") == WrongMethod(["DELETE", "GET", "HEAD", "POST"])


def test_a_reserved_vendor_path_is_never_captured_by_a_template():
    t = trie()
    t.reserve("/api/workflow/bulk/retry")
    t.reserve("/api/workflow/test")
    t.reserve("/api/workflow/{workflowId}/upgrade")
    assert t.lookup("/api/workflow/bulk/retry", "POST") is None  # not the rerun/retry of workflow "bulk"
    assert t.lookup("/api/workflow/test", "POST") is None  # not a start of a workflow named "test"
    assert t.lookup("/api/workflow/x/upgrade", "POST") is None
    # served templates around a reserved path are untouched
    assert t.lookup("/api/workflow/bulk/rerun", "POST") == Match("rerun", {"workflowId": "bulk"})
    assert t.lookup("/api/workflow/tests", "POST") == Match("start", {"name": "tests"})


def test_reserving_a_served_path_keeps_its_methods():
    t = trie()
    t.reserve("/api/workflow/search")
    assert t.lookup("/api/workflow/search", "GET") == Match("search", {})
    assert t.lookup("/api/workflow/search", "POST") == WrongMethod(["GET", "HEAD"])


def test_head_finds_the_get_and_only_the_get():
    t = trie()
    assert t.lookup("/api/workflow/search", "HEAD") == Match("search", {})
    assert t.lookup("/api/workflow/x/rerun", "HEAD") == WrongMethod(["POST"])
