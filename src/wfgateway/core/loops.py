"""Supervised background loops: the engine's timers, each dialect's schedules and triggers.

A loop's body runs its passes forever and calls ``beat()`` after each one.  If a pass raises (the
store is down, a bug), the supervisor logs the cause -- when it differs from the last one logged, or
a minute after it -- backs off (50 ms doubling to 5 s) and starts the body again; a body that
returns is started again too.  Every restart is counted for /metrics, and /readyz shows each loop's last
heartbeat, so a loop that stops making progress is visible instead of silently dead.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable

log = logging.getLogger("wfgateway.loops")

MAX_BACKOFF_S = 5.0
LOG_EVERY_S = 60.0  # the same failure is logged again after this long


class LoopState:
    """What /readyz and /metrics show of one loop."""

    def __init__(self, name: str, stale_after_s: float) -> None:
        self.name = name
        self.stale_after_s = stale_after_s  # no heartbeat for this long: the loop is stuck
        self.last_beat = time.monotonic()
        self.restarts = 0
        self.failing: str | None = None  # the cause of the running failure episode
        self.logged: tuple[str, float] | None = None  # the last cause logged, and when

    def beat(self) -> None:
        self.last_beat = time.monotonic()
        self.failing = None

    def status(self) -> str:
        age = time.monotonic() - self.last_beat
        if self.failing is not None and age > self.stale_after_s:
            return f"failing for {age:.0f} s: {self.failing}"
        if age > self.stale_after_s:
            return f"no heartbeat for {age:.0f} s"
        return "ok"


LIVE: dict[int, LoopState] = {}  # every running supervised loop of this process (by id)
RESTARTS: dict[str, int] = {}  # loop name -> restarts, including loops that have stopped since


class Supervised:
    """Runs ``body(state)`` under supervision from ``start()`` to ``stop()``."""

    def __init__(self, name: str, body: Callable[[LoopState], Awaitable[None]], *, stale_after_s: float = 30.0) -> None:
        self.state = LoopState(name, stale_after_s)
        self._body = body
        self._task: asyncio.Task[None] | None = None

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    def start(self) -> None:
        if self.running:
            return
        self.state.last_beat = time.monotonic()
        LIVE[id(self)] = self.state
        self._task = asyncio.get_running_loop().create_task(self._run(), name=self.state.name)

    async def stop(self) -> None:
        LIVE.pop(id(self), None)
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _run(self) -> None:
        state = self.state
        backoff = 0.05
        while True:
            started = state.last_beat
            try:
                await self._body(state)
                cause = "the loop ended"
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                cause = f"{type(exc).__name__}: {exc}"
                now = time.monotonic()
                if state.logged is None or state.logged[0] != cause or now - state.logged[1] > LOG_EVERY_S:
                    state.logged = (cause, now)
                    log.warning("background loop %s failed (%s); retrying with backoff", state.name, cause,
                                exc_info=not _expected(exc))
            if state.failing is None:
                state.failing = cause
            state.restarts += 1
            RESTARTS[state.name] = RESTARTS.get(state.name, 0) + 1
            if state.last_beat != started:
                backoff = 0.05  # it made progress before failing: start over gently
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, MAX_BACKOFF_S)


class Periodic(Supervised):
    """``tick(clock())`` every ``interval_s``, supervised: the schedulers of the dialects (Altostrat
    schedules, Cognite triggers) are this loop with their own tick."""

    def __init__(self, name: str, tick: Callable[[int], Awaitable[object]], *, interval_s: float,
                 clock: Callable[[], int], stale_after_s: float = 30.0) -> None:
        super().__init__(name, self._ticks, stale_after_s=stale_after_s)
        self._tick, self.interval_s, self.clock = tick, interval_s, clock

    async def _ticks(self, state: LoopState) -> None:
        while True:
            await self._tick(self.clock())
            state.beat()
            await asyncio.sleep(self.interval_s)


class Ticking:
    """A component that runs its ``tick(now)`` every ``interval_s`` under supervision -- each dialect's
    scheduler (Conductor schedules, Cognite triggers, Altostrat schedules) is one, with its own tick and
    its own compare-and-set claim of a due slot; start() and stop() are its loop's."""

    def __init__(self, name: str, *, interval_s: float, clock: Callable[[], int]) -> None:
        self.clock = clock
        self._loop = Periodic(name, self.tick, interval_s=interval_s, clock=clock,
                              stale_after_s=max(30.0, 10 * interval_s))

    async def tick(self, now: int) -> object:
        """One pass over what is due at ``now``."""
        raise NotImplementedError

    def start(self) -> None:
        self._loop.start()

    async def stop(self) -> None:
        await self._loop.stop()


def _expected(exc: Exception) -> bool:
    """Outages with a cause already logged by the store: no traceback needed."""
    from wfgateway.core.errors import Unavailable

    return isinstance(exc, Unavailable)


def readiness() -> dict[str, str]:
    """``loop:<name>`` -> ``ok`` or why not, for /readyz."""
    return {f"loop:{s.name}": s.status() for s in LIVE.values()}


def heartbeats() -> dict[str, float]:
    """Seconds since each live loop's last heartbeat."""
    now = time.monotonic()
    return {s.name: round(now - s.last_beat, 3) for s in LIVE.values()}
