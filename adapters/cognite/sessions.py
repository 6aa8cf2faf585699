"""Sessions and their nonces, and applying a run or retry exactly once per nonce.

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

SESSIONS = "session"
USES = "nonce_use"
ABANDONED_MS = 60_000  # a claim this old without an answer belongs to a call that died
WAIT_FOR_FIRST_S = 30.0


class Sessions:
    def __init__(self, kv: KeyValue) -> None:
        self.kv = kv

    async def create(self, project: str, item: dict[str, Any]) -> dict[str, Any]:
        """A READY session with a fresh random nonce."""
        session: dict[str, Any] = {
            "id": secrets.randbelow(2**53 - 1) + 1,
            "type": "CLIENT_CREDENTIALS" if "clientId" in item else "TOKEN_EXCHANGE",
            "status": "READY",
            "nonce": secrets.token_urlsafe(24),
            "creationTime": now_ms(),
        }
        if "clientId" in item:
            session["clientId"] = item["clientId"]
        await self.kv.put(SESSIONS, key(project, session["nonce"]), {k: v for k, v in session.items() if k != "nonce"})
        return session

    async def require(self, project: str, nonce: str) -> dict[str, Any]:
        """The session of ``nonce`` in ``project``; 400 when the nonce was not issued there."""
        session = await self.kv.get(SESSIONS, key(project, nonce))
        if session is None:
            raise bad_request("Invalid nonce: no session with this nonce exists in the project")
        return session

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
