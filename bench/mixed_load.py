"""A steady mixed load of the three dialects against one running gateway (open mode, tenant default).

Shared by bench/memory.py and the soak test (tests/foundation/test_memory_soak.py).  Each round starts
and reads one execution per dialect -- a Conductor INLINE workflow (finishes on start), a Cognite
function task completed through tasks update, an Altostrat manual run -- plus a list/search per
dialect and two requests the gateway refuses (an invalid body, an unknown path), so every part
of a request's life runs: validation, routing, the engine, the store, error rendering.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import itertools
from collections.abc import Awaitable
from dataclasses import dataclass, field

import httpx

COGNITE = "/api/v1/projects/default"
CONDUCTOR_DEF = {
    "name": "soak_conductor", "version": 1, "schemaVersion": 2, "timeoutSeconds": 0,
    "tasks": [{"name": "calc", "taskReferenceName": "calc", "type": "INLINE",
               "inputParameters": {"evaluatorType": "javascript", "expression": "$.a + 1",
                                   "a": "${workflow.input.a}"}}],
}
COGNITE_VERSION = {"items": [{"workflowExternalId": "soak_cognite", "version": "1", "workflowDefinition": {
    "tasks": [{"externalId": "fn", "type": "function", "parameters": {"function": {"externalId": "soak-fn"}}}]}}]}


def _altostrat_workflow(auth_id: str) -> dict[str, object]:
    def node(nid: str, component: str, **data: object) -> dict[str, object]:
        return {"id": nid, "type": component, "position": {"x": 0, "y": 0}, "data": {"componentId": component, **data}}

    return {"name": "soak_altostrat", "authorization_id": auth_id,
            "nodes": [node("n1", "manual_trigger"),
                      node("n2", "condition", left="{{ n1.run_id }}", operator="equals", right="x")],
            "edges": [{"id": "e1", "source": "n1", "target": "n2"}]}


@dataclass
class LoadReport:
    requests: int = 0
    statuses: collections.Counter[int] = field(default_factory=collections.Counter)
    unexpected: list[str] = field(default_factory=list)  # first few answers that were not what the round expects

    def note(self, response: httpx.Response, expected: int) -> httpx.Response:
        self.requests += 1
        self.statuses[response.status_code] += 1
        if response.status_code != expected:
            what = (f"{response.request.method} {response.request.url.path} -> "
                    f"{response.status_code} (expected {expected}): {response.text[:200]}")
            if len(self.unexpected) < 10:
                self.unexpected.append(what)
            raise Unexpected(what)
        return response

    async def call(self, request: Awaitable[httpx.Response], expected: int) -> httpx.Response:
        return self.note(await request, expected)


class Unexpected(Exception):
    """An answer the round did not expect (recorded in the report); the dialect's round stops."""


class MixedLoad:
    """Sets up one workflow per dialect, then runs rounds from ``concurrency`` clients."""

    def __init__(self, base_url: str, concurrency: int = 4) -> None:
        self.base_url = base_url
        self.concurrency = concurrency
        self.report = LoadReport()
        self._altostrat_workflow = ""
        self._counter = itertools.count()

    async def setup(self) -> None:
        async with httpx.AsyncClient(base_url=self.base_url, timeout=30) as c:
            note = self.report.note
            note(await c.post("/api/metadata/workflow", json=CONDUCTOR_DEF, params={"overwrite": "true"}), 200)
            note(await c.post(f"{COGNITE}/workflows", json={"items": [{"externalId": "soak_cognite"}]}), 200)
            note(await c.post(f"{COGNITE}/workflows/versions", json=COGNITE_VERSION), 200)
            auth = note(await c.post("/workflows/authorization"), 200).json()["id"]
            created = note(await c.post("/workflows", json=_altostrat_workflow(auth)), 201)
            self._altostrat_workflow = created.json()["id"]

    async def run(self, seconds: float) -> LoadReport:
        """Rounds until ``seconds`` have passed; the report counts every answer."""
        deadline = asyncio.get_running_loop().time() + seconds
        limits = httpx.Limits(max_connections=self.concurrency)
        async with httpx.AsyncClient(base_url=self.base_url, timeout=30, limits=limits) as c:
            await asyncio.gather(*(self._client(c, deadline) for _ in range(self.concurrency)))
        return self.report

    async def _client(self, c: httpx.AsyncClient, deadline: float) -> None:
        loop = asyncio.get_running_loop()
        while loop.time() < deadline:
            await self.round(c)

    async def round(self, c: httpx.AsyncClient) -> None:
        """One round of all three dialects; a dialect's steps stop at its first unexpected answer."""
        for steps in (self._conductor, self._cognite, self._altostrat):
            with contextlib.suppress(Unexpected):
                await steps(c, next(self._counter))

    async def _conductor(self, c: httpx.AsyncClient, i: int) -> None:
        call = self.report.call
        wid = (await call(c.post("/api/workflow/soak_conductor", json={"a": i}), 200)).text
        await call(c.get(f"/api/workflow/{wid}"), 200)
        await call(c.get("/api/workflow/search", params={"query": "workflowType = 'soak_conductor'", "size": 5}), 200)
        await call(c.post("/api/metadata/workflow", json={"name": 7}), 400)

    async def _cognite(self, c: httpx.AsyncClient, i: int) -> None:
        call = self.report.call
        nonce = (await call(c.post(f"{COGNITE}/sessions", json={"items": [{"tokenExchange": True}]}), 200)).json()
        body = {"authentication": {"nonce": nonce["items"][0]["nonce"]}, "input": {"i": i}}
        run = (await call(c.post(f"{COGNITE}/workflows/soak_cognite/versions/1/run", json=body), 200)).json()
        waiting: list[dict[str, str]] = []
        for _ in range(300):  # the function task waits for tasks update once it is scheduled
            execution = (await call(c.get(f"{COGNITE}/workflows/executions/{run['id']}"), 200)).json()
            waiting = [t for t in execution.get("executedTasks", []) if t.get("status") == "IN_PROGRESS"]
            if waiting or execution.get("status") != "RUNNING":
                break
            await asyncio.sleep(0.05)
        if not waiting:
            self.report.unexpected.append(f"cognite execution {run['id']}: no task to complete: {execution}"[:300])
        for task in waiting:
            await call(c.post(f"{COGNITE}/workflows/tasks/{task['id']}/update",
                              json={"status": "COMPLETED", "output": {"i": i}}), 200)
        await call(c.post(f"{COGNITE}/workflows/executions/list", json={"limit": 5}), 200)

    async def _altostrat(self, c: httpx.AsyncClient, i: int) -> None:
        call = self.report.call
        started = (await call(c.post(f"/workflows/{self._altostrat_workflow}/execute"), 202)).json()
        await call(c.get(f"/workflows/runs/{started['id']}"), 200)
        await call(c.get(f"/workflows/{self._altostrat_workflow}/executions"), 200)
        await call(c.get("/nothing/here"), 404)
