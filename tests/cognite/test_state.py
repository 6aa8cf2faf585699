"""The dialect's key-value state on SQLite and PostgreSQL: same behaviour, project-prefixed keys."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from wfgateway.adapters.cognite.sessions import Sessions
from wfgateway.adapters.cognite.state import KeyValue, create_state, key

from tests.engine.pg import create_schema, drop_schema, pg_store
from wfgateway.core.errors import InvalidArgument
from wfgateway.engine.store.sqlite import SQLiteStore


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def kv(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[KeyValue]:
    """The dialect's state in the engine's store: SQLite, and PostgreSQL in a schema of its own."""
    schema = create_schema() if request.param == "postgres" else None
    store = SQLiteStore(tmp_path / "gw.db") if schema is None else pg_store(schema)
    await store.open()
    state = create_state(store)
    await state.open()
    try:
        yield state
    finally:
        await store.close()
        if schema is not None:
            drop_schema(schema)


async def test_put_get_insert_replace_delete(kv: KeyValue):
    assert await kv.get("ns", "a") is None
    await kv.put("ns", "a", {"v": 1})
    assert await kv.get("ns", "a") == {"v": 1}
    assert not await kv.insert("ns", "a", {"v": 2})
    assert await kv.insert("ns", "b", {"v": 2})
    assert not await kv.replace("ns", "a", {"v": 9}, {"v": 3})
    assert await kv.replace("ns", "a", {"v": 1}, {"v": 3})
    assert await kv.get("ns", "a") == {"v": 3}
    assert await kv.delete("ns", "a") and not await kv.delete("ns", "a")


async def test_scan_is_ordered_paged_and_stays_inside_the_prefix(kv: KeyValue):
    for project in ("p1", "p10", "p2"):
        for name in ("b", "a", "c"):
            await kv.put("wf", key(project, name), {"p": project, "n": name})
    rows = await kv.scan("wf", key("p1", ""))
    assert [v["n"] for _, v in rows] == ["a", "b", "c"] and {v["p"] for _, v in rows} == {"p1"}
    first = await kv.scan("wf", key("p1", ""), limit=2)
    rest = await kv.scan("wf", key("p1", ""), after=first[-1][0])
    assert [v["n"] for _, v in first + rest] == ["a", "b", "c"]
    newest = await kv.scan("wf", key("p2", ""), reverse=True, limit=2)
    older = await kv.scan("wf", key("p2", ""), reverse=True, after=newest[-1][0])
    assert [v["n"] for _, v in newest + older] == ["c", "b", "a"]


@pytest.mark.parametrize("after", ["\U0010ffff", "\uffff", "p3", "p1\x1fz", "", "\x00", "p2\x1f\U0010ffff\U0010ffff"])
async def test_no_cursor_key_walks_a_scan_out_of_its_prefix(kv: KeyValue, after: str):
    """A key read back from a crafted cursor bounds the scan only inside the prefix: the reverse scan
    used to run from the cursor's key down to the prefix, through every project sorting in between."""
    for project in ("p1", "p2", "p3", "q"):
        for name in ("a", "b"):
            await kv.put("runs", key(project, "t", name), {"p": project})
    for reverse in (False, True):
        rows = await kv.scan("runs", key("p2", "t", ""), after=after, reverse=reverse)
        assert {v["p"] for _, v in rows} <= {"p2"}, (after, reverse)


async def test_a_nonce_applies_its_action_once_even_when_resent_concurrently(kv: KeyValue):
    sessions = Sessions(kv)
    nonce = (await sessions.create("p", {"tokenExchange": True}))["nonce"]
    calls = []

    async def action() -> dict:
        calls.append(1)
        await asyncio.sleep(0.1)
        return {"id": len(calls)}

    answers = await asyncio.gather(*(sessions.once("p", nonce, "run", "wf", action) for _ in range(3)))
    assert answers == [{"id": 1}] * 3 and len(calls) == 1
    with pytest.raises(InvalidArgument):
        await sessions.once("p", nonce, "retry", "x", action)
    with pytest.raises(InvalidArgument):  # nonces belong to their project
        await sessions.once("other", nonce, "run", "wf", action)


async def test_a_refused_action_leaves_the_nonce_usable(kv: KeyValue):
    sessions = Sessions(kv)
    nonce = (await sessions.create("p", {"clientId": "cid", "clientSecret": "s"}))["nonce"]

    async def refused() -> dict:
        raise InvalidArgument("not now")

    with pytest.raises(InvalidArgument):
        await sessions.once("p", nonce, "retry", "e1", refused)

    async def ok() -> dict:
        return {"ok": True}

    assert await sessions.once("p", nonce, "retry", "e1", ok) == {"ok": True}


async def test_state_lives_in_the_engine_store_and_survives_reopening(tmp_path: Path):
    store = SQLiteStore(tmp_path / "gw.db")
    await store.open()
    await create_state(store).put("wf", key("p", "a"), {"v": 1})
    await store.close()
    assert not list(tmp_path.glob("*cognite*"))  # no side file: one database
    again = SQLiteStore(tmp_path / "gw.db")
    await again.open()
    try:
        assert await create_state(again).get("wf", key("p", "a")) == {"v": 1}
    finally:
        await again.close()


async def test_sessions_bind_page_and_revoke_on_either_store(kv: KeyValue):
    sessions = Sessions(kv)
    created = [await sessions.create("p", {"tokenExchange": True}) for _ in range(5)]
    other = await sessions.create("q", {"oneshotTokenExchange": True})
    bound = await sessions.require("p", created[0]["nonce"])
    assert (bound["id"], bound["status"]) == (created[0]["id"], "ACTIVE")
    await sessions.revoke("p", [created[1]["id"]])
    ready: list[int] = []
    after = None
    while True:  # two a page, only READY ones, never another project's
        page, after = await sessions.page("p", "READY", after, 2)
        ready += [s["id"] for s in page]
        if after is None:
            break
    assert sorted(ready) == sorted(s["id"] for s in created[2:])
    assert other["id"] not in ready and other["type"] == "ONESHOT_TOKEN_EXCHANGE"
    with pytest.raises(InvalidArgument, match="has been revoked"):
        await sessions.require("p", created[1]["nonce"])
    with pytest.raises(InvalidArgument, match="no session with this nonce"):
        await sessions.require("q", created[2]["nonce"])
    assert await sessions.usable("p", created[1]["id"]) == f"Session {created[1]['id']} has been revoked"
    assert await sessions.usable("p", created[0]["id"]) is None


async def test_the_side_file_of_earlier_versions_is_imported_once(tmp_path: Path):
    """Before the persistence home the embedded store kept this state in ``<stem>-cognite.db``."""
    import sqlite3

    with sqlite3.connect(tmp_path / "gw-cognite.db") as old:
        old.execute("CREATE TABLE cognite_kv (ns TEXT NOT NULL, k TEXT NOT NULL, v TEXT NOT NULL, PRIMARY KEY (ns, k))")
        old.execute("INSERT INTO cognite_kv VALUES ('wf', ?, '{\"v\": 7}')", (key("p", "old"),))
    store = SQLiteStore(tmp_path / "gw.db")
    await store.open()
    try:
        state = create_state(store)
        assert await state.get("wf", key("p", "old")) == {"v": 7}
        assert (tmp_path / "gw-cognite.db.imported").exists() and not (tmp_path / "gw-cognite.db").exists()
    finally:
        await store.close()
