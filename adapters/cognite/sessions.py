"""Sessions and their nonces, and applying a run or retry exactly once per nonce.

A session is created READY with a nonce that must be bound within a minute (CDF: "the nonce is
short-lived, approximately 1 minute"); binding it -- a run, a retry or a trigger upsert presenting
the nonce -- makes the session ACTIVE.  A READY session past that minute is EXPIRED and its nonce is
refused; a REVOKED session's nonce is refused too, and triggers holding it stop starting runs.
One-shot token-exchange sessions are not refreshed: they expire an hour after they were bound.

The SDK creates a session before every run, retry and trigger upsert and re-sends POSTs after
timeouts and 429/502/503/504.  A run or retry re-sent with the same nonce therefore must not run or
retry twice: the first call claims the nonce, stores its answer, and every re-send gets that answer.
Using a nonce for a different operation is refused.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Awaitable, Callable
from typing import Any

from wfgateway.adapters.cognite.clock import now_ms
from wfgateway.adapters.cognite.errors import bad_request
from wfgateway.adapters.cognite.state import KeyValue, key

from wfgateway.core.errors import Unavailable

SESSIONS = "session"       # (project, nonce) -> {"id": ...}: which session a nonce belongs to
SESSION_IDS = "session_id"  # (project, zero-padded id) -> the session record
USES = "nonce_use"
NONCE_TTL_MS = 60_000       # an unbound nonce is good for about a minute (CDF's sessions concept page)
ONESHOT_TTL_MS = 3_600_000  # a one-shot session is not refreshed: its token lasts an hour
TOKEN_REFRESH_MS = 3_600_000  # refreshable sessions report the expiry of their current token
ABANDONED_MS = 60_000  # a claim this old without an answer belongs to a call that died
WAIT_FOR_FIRST_S = 30.0
USABLE = frozenset({"READY", "ACTIVE"})


def session_type(item: dict[str, Any]) -> str:
    """The type CDF reports for a create item (tokenExchange, oneshotTokenExchange or client credentials)."""
    if "clientId" in item:
        return "CLIENT_CREDENTIALS"
    if item.get("oneshotTokenExchange"):
        return "ONESHOT_TOKEN_EXCHANGE"
    return "TOKEN_EXCHANGE"


def id_key(project: str, session_id: int) -> str:
    return key(project, f"{session_id:016d}")


class Sessions:
    def __init__(self, kv: KeyValue, clock: Callable[[], int] = now_ms) -> None:
        self.kv = kv
        self.clock = clock  # tests move it forward to see nonces and one-shot sessions expire

    async def create(self, project: str, item: dict[str, Any]) -> dict[str, Any]:
        """A READY session with a fresh random nonce, answered as CDF's createSessions does."""
        now = self.clock()
        record: dict[str, Any] = {
            "id": secrets.randbelow(2**53 - 1) + 1,
            "type": session_type(item),
            "status": "READY",
            "creationTime": now,
            "expirationTime": now + NONCE_TTL_MS,
        }
        if "clientId" in item:
            record["clientId"] = item["clientId"]
        nonce = secrets.token_urlsafe(24)
        await self.kv.put(SESSION_IDS, id_key(project, record["id"]), record)
        await self.kv.put(SESSIONS, key(project, nonce), {"id": record["id"]})
        answer = {k: record[k] for k in ("id", "type", "status")}
        answer["nonce"] = nonce
        if "clientId" in record:
            answer["clientId"] = record["clientId"]
        return answer

    def view(self, record: dict[str, Any]) -> dict[str, Any]:
        """The session as CDF shows it now: an unbound nonce past its minute, or a one-shot session
        past its hour, is EXPIRED; a refreshable session reports its current token's expiry."""
        now = self.clock()
        out = dict(record)
        out.pop("boundTime", None)
        status, expires = record["status"], int(record.get("expirationTime") or 0)
        if status == "READY" and now > expires:
            out["status"] = "EXPIRED"
        elif status == "ACTIVE" and record["type"] == "ONESHOT_TOKEN_EXCHANGE" and now > expires:
            out["status"] = "EXPIRED"
        elif status == "ACTIVE" and now > expires:
            periods = (now - expires) // TOKEN_REFRESH_MS + 1
            out["expirationTime"] = expires + periods * TOKEN_REFRESH_MS
        return out

    async def by_id(self, project: str, session_id: int) -> dict[str, Any] | None:
        record = await self.kv.get(SESSION_IDS, id_key(project, session_id))
        return self.view(record) if record is not None else None

    async def by_ids(self, project: str, ids: list[int], *, ignore_unknown: bool = False) -> list[dict[str, Any]]:
        """The sessions of ``ids`` in order; 400 with ``missing`` for unknown ids unless ignored."""
        found = {i: await self.by_id(project, i) for i in dict.fromkeys(ids)}
        missing = [{"id": i} for i, s in found.items() if s is None]
        if missing and not ignore_unknown:
            raise bad_request("Sessions not found", missing=missing)
        return [s for s in found.values() if s is not None]

    async def page(self, project: str, status: str | None, after: str | None,
                   limit: int) -> tuple[list[dict[str, Any]], str | None]:
        """Up to ``limit`` sessions (optionally of one status) after the key ``after``, and the key to
        continue from when more may follow."""
        out: list[dict[str, Any]] = []
        last = after
        while True:
            rows = await self.kv.scan(SESSION_IDS, key(project, ""), after=last, limit=limit + 1)
            for k, record in rows:
                session = self.view(record)
                if status is None or session["status"] == status:
                    if len(out) == limit:
                        return out, last
                    out.append(session)
                last = k
            if len(rows) <= limit:
                return out, None

    async def revoke(self, project: str, ids: list[int], *, ignore_unknown: bool = False) -> list[dict[str, Any]]:
        """Revoke sessions (idempotent); 400 with ``missing`` for unknown ids unless ignored."""
        await self.by_ids(project, ids, ignore_unknown=ignore_unknown)
        out = []
        for i in dict.fromkeys(ids):
            k = id_key(project, i)
            while True:
                record = await self.kv.get(SESSION_IDS, k)
                if record is None:
                    break
                if record["status"] == "REVOKED" or await self.kv.replace(
                        SESSION_IDS, k, record, {**record, "status": "REVOKED"}):
                    out.append(self.view({**record, "status": "REVOKED"}))
                    break
        return out

    async def require(self, project: str, nonce: str) -> dict[str, Any]:
        """Bind the session of ``nonce`` in ``project`` (READY -> ACTIVE) and answer it; 400 when the
        nonce was not issued there, has expired unbound, or its session was revoked."""
        pointer = await self.kv.get(SESSIONS, key(project, nonce))
        if pointer is None:
            raise bad_request("Failed to bind session using nonce: no session with this nonce exists in the project")
        k = id_key(project, int(pointer["id"]))
        while True:
            record = await self.kv.get(SESSION_IDS, k)
            if record is None:  # a session row written before sessions were kept by id
                return dict(pointer)
            session = self.view(record)
            if session["status"] == "REVOKED":
                raise bad_request(f"Failed to bind session using nonce: session {record['id']} has been revoked")
            if session["status"] not in USABLE:
                raise bad_request(f"Failed to bind session using nonce: session {record['id']} has expired "
                                  "(a nonce must be used within a minute of creating its session)")
            if record["status"] == "ACTIVE":
                return session
            now = self.clock()
            ttl = ONESHOT_TTL_MS if record["type"] == "ONESHOT_TOKEN_EXCHANGE" else TOKEN_REFRESH_MS
            bound = {**record, "status": "ACTIVE", "boundTime": now, "expirationTime": now + ttl}
            if await self.kv.replace(SESSION_IDS, k, record, bound):
                return self.view(bound)

    async def usable(self, project: str, session_id: int | None) -> str | None:
        """Why the session a trigger holds can no longer start runs (None when it can)."""
        if session_id is None:
            return None
        session = await self.by_id(project, session_id)
        if session is None:
            return f"Session {session_id} no longer exists"
        if session["status"] == "REVOKED":
            return f"Session {session_id} has been revoked"
        if session["status"] not in USABLE:
            return f"Session {session_id} has expired"
        return None

    async def once(self, project: str, nonce: str, op: str, target: str,
                   action: Callable[[], Awaitable[dict[str, Any]]]) -> dict[str, Any]:
        """Run ``action`` for the first call with ``nonce``; later calls get the first answer."""
        await self.require(project, nonce)
        k = key(project, nonce)
        claim = {"op": op, "target": target, "state": "pending", "at": now_ms()}
        deadline = asyncio.get_running_loop().time() + WAIT_FOR_FIRST_S
        while True:
            if await self.kv.insert(USES, k, claim):
                return await self._run_claimed(k, claim, action)
            use = await self.kv.get(USES, k)
            if use is None:
                continue
            if use["op"] != op or use["target"] != target:
                raise bad_request("Invalid nonce: the session nonce has already been used")
            if use["state"] == "done":
                return use["result"]
            if now_ms() - int(use["at"]) > ABANDONED_MS and await self.kv.replace(USES, k, use, claim):
                return await self._run_claimed(k, claim, action)
            if asyncio.get_running_loop().time() > deadline:
                raise Unavailable("The first request with this nonce is still being processed; try again")
            await asyncio.sleep(0.05)

    async def _run_claimed(self, k: str, claim: dict[str, Any],
                           action: Callable[[], Awaitable[dict[str, Any]]]) -> dict[str, Any]:
        try:
            result = await action()
        except BaseException:
            await self.kv.delete(USES, k)  # a refused call leaves the nonce usable
            raise
        await self.kv.put(USES, k, {**claim, "state": "done", "result": result})
        return result
