"""Issue 21: the Cognite state's key scans (workflows, triggers, trigger history, sessions) stay inside
the caller's project prefix on both ends whatever key a cursor carries -- names sorting before and
after the caller's, other projects' keys, the highest code point, separators -- on SQLite and
PostgreSQL.  (Cursors are sealed by the gateway too; this holds even for a key that got through.)"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from wfgateway.adapters.cognite.state import SEP, KeyValue, create_state, key

from tests.engine.pg import create_schema, drop_schema, pg_store
from wfgateway.engine.store.sqlite import SQLiteStore

PROJECTS = ["acme", "acm", "acme2", "acmf", "ac", "b", "rival", "acme\U0010ffff"]
NAMES = ["a", "shared", "zz", "\U0010ffff", "é", "a b", "trig"]


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def state(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple]:
    loop = asyncio.new_event_loop()
    schema = create_schema() if request.param == "postgres" else None
    store = SQLiteStore(Path(tmp_path_factory.mktemp("kv")) / "gw.db") if schema is None else pg_store(schema)
    loop.run_until_complete(store.open())
    kv: KeyValue = create_state(store)
    loop.run_until_complete(kv.open())
    for project in PROJECTS:
        for name in NAMES:
            loop.run_until_complete(kv.put("ns", key(project, name), {"p": project}))
            for run in ("000000000000001", "999999999999999"):
                loop.run_until_complete(kv.put("ns", key(project, name, run), {"p": project}))
    try:
        yield kv, loop
    finally:
        loop.run_until_complete(store.close())
        loop.close()
        if schema:
            drop_schema(schema)


keys = st.one_of(
    st.builds(lambda parts: SEP.join(parts), st.lists(st.sampled_from(PROJECTS + NAMES + ["", "\U0010ffff"]),
                                                      min_size=1, max_size=3)),
    st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=12),
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(project=st.sampled_from(PROJECTS), under=st.sampled_from(["", "trig", "shared", "a"]), after=keys,
       reverse=st.booleans(), limit=st.integers(1, 50))
def test_a_scan_never_leaves_its_project(state, project, under, after, reverse, limit):
    kv, loop = state
    prefix = key(project, under, "") if under else key(project, "")
    rows = loop.run_until_complete(kv.scan("ns", prefix, after=after, limit=limit, reverse=reverse))
    assert all(k.startswith(prefix) and v["p"] == project for k, v in rows), (prefix, after, rows[:3])
    assert len(rows) <= limit
