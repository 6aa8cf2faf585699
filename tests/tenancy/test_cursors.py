"""Issue 21: cursors are opaque and tamper-evident -- sealed for one tenant, operation and filter; the
Cognite dialect refuses any other (made up, edited, borrowed from another project, list or filter)
with 400 ``Invalid cursor``, as Cognite does, and never resumes a scan from it."""

from __future__ import annotations

import base64

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.tenancy.conftest import TwoTenants
from tests.tenancy.seed import Seeded, seed_cognite
from wfgateway.cursors import BadCursor, CursorSigner


@given(state=st.dictionaries(st.text(max_size=5), st.one_of(st.integers(min_value=0, max_value=2**53), st.text(max_size=20)), max_size=3),
       position=st.integers(min_value=0), flip=st.integers(min_value=0, max_value=7))
def test_any_edit_of_a_cursor_is_refused(state, position, flip):
    signer = CursorSigner(b"k" * 32)
    cursor = signer.seal(state, tenant="acme", operation="list", filter={"a": 1})
    assert signer.open(cursor, tenant="acme", operation="list", filter={"a": 1}) == state
    raw = bytearray(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    raw[position % len(raw)] ^= 1 << flip
    edited = base64.urlsafe_b64encode(bytes(raw)).decode().rstrip("=")
    with pytest.raises(BadCursor):
        signer.open(edited, tenant="acme", operation="list", filter={"a": 1})


@pytest.mark.parametrize("other", [{"tenant": "rival"}, {"operation": "search"}, {"filter": {"a": 2}},
                                   {"filter": None}])
def test_a_cursor_opens_only_for_its_tenant_operation_and_filter(other):
    signer = CursorSigner(b"k" * 32)
    bound = {"tenant": "acme", "operation": "list", "filter": {"a": 1}}
    cursor = signer.seal({"o": 3}, **bound)
    with pytest.raises(BadCursor):
        signer.open(cursor, **{**bound, **other})
    with pytest.raises(BadCursor):  # another gateway key
        CursorSigner(b"j" * 32).open(cursor, **bound)


def _forged(state: dict) -> str:
    return base64.urlsafe_b64encode(orjson.dumps(state)).decode().rstrip("=")


def _is_invalid_cursor(response) -> bool:
    return response.status_code == 400 and response.json()["error"]["message"].startswith("Invalid cursor")


def test_cognite_refuses_forged_borrowed_and_cross_list_cursors(tenants: TwoTenants):
    acme, rival = tenants.acme.cognite, tenants.rival.cognite
    for client, name in ((acme, "acme"), (rival, "rival")):
        seed_cognite(client, name, Seeded(name))
    page = rival.get("/workflows", params={"limit": 1})
    assert page.status_code == 200 and page.json()["nextCursor"]
    rivals_cursor = page.json()["nextCursor"]
    assert rival.get("/workflows", params={"limit": 1, "cursor": rivals_cursor}).status_code == 200
    # the cursor of issue 21's report, other forged states, rival's cursor, a cursor of another list
    for cursor in ("eyJiZWZvcmUiOiAiXHVkYmZmXHVkZmZmIn0", _forged({"after": "rival\x1f"}), _forged({"o": 0}),
                   rivals_cursor, rivals_cursor[:-2] + ("AA" if rivals_cursor[-2:] != "AA" else "AB")):
        for path in ("/workflows", "/workflows/triggers", "/workflows/triggers/acme-trig/history"):
            answer = acme.get(path, params={"cursor": cursor})
            assert _is_invalid_cursor(answer), (path, cursor, answer.text)
        answer = acme.post("/workflows/executions/list", json={"cursor": cursor})
        assert _is_invalid_cursor(answer), answer.text
        answer = acme.post("/workflows/versions/list", json={"cursor": cursor})
        assert _is_invalid_cursor(answer), answer.text
    assert _is_invalid_cursor(rival.get("/workflows/triggers", params={"cursor": rivals_cursor}))
