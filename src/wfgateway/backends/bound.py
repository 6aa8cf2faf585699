"""A backend as one route sees it: metrics, the route's deadline, and the run registry.

Handlers get one of these as ``call.backend``.  It delegates every operation to the real backend
(the engine, or an adapter's client half for a cross-vendor upstream), counts it for the route and
backend, cuts it at the route's timeout, and remembers the owner of every execution that a start
or a clone creates.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import TYPE_CHECKING, Any

from wfgateway.backends.transport import DEADLINE
from wfgateway.core.errors import GatewayError, NotImplementedByBackend, Unavailable, UpstreamTimeout

if TYPE_CHECKING:
    from wfgateway.routing.metrics import RouteStats
    from wfgateway.routing.registry import RunRegistry

_CREATING = frozenset({"start", "clone"})


log = logging.getLogger("wfgateway.routing")

class BoundBackend:
    def __init__(self, inner: Any, name: str, stats: RouteStats, registry: RunRegistry, dialect: str,
                 timeout_ms: int | None) -> None:
        self._inner = inner
        self.name = name
        self._stats = stats
        self._registry = registry
        self._dialect = dialect
        self._timeout_s = timeout_ms / 1000 if timeout_ms else None

    @property
    def inner(self) -> Any:
        return self._inner

    def __getattr__(self, item: str) -> Any:
        attr = getattr(self._inner, item)
        if item.startswith("_") or not asyncio.iscoroutinefunction(attr):
            return attr
        wrapped = self._wrap(item, attr)
        self.__dict__[item] = wrapped  # resolved once per bound backend, a plain attribute afterwards
        return wrapped

    def _wrap(self, op: str, method: Any) -> Any:
        stats, registry, name, dialect = self._stats, self._registry, self.name, self._dialect
        timeout_s = self._timeout_s
        creating = op in _CREATING

        async def call(*args: Any, **kwargs: Any) -> Any:
            stats.requests.inc()
            started = time.perf_counter()
            token = None
            try:
                if timeout_s is None:
                    result = await method(*args, **kwargs)
                else:
                    token = DEADLINE.set(asyncio.get_running_loop().time() + timeout_s)
                    try:
                        async with asyncio.timeout(timeout_s):
                            result = await method(*args, **kwargs)
                    except TimeoutError:
                        raise UpstreamTimeout(f"backend {name} did not answer within {timeout_s:g} s") from None
            except NotImplementedByBackend:
                stats.error("not_translatable")
                raise
            except GatewayError as exc:
                if exc.status >= 500:
                    stats.error(exc.code)
                raise
            except Exception as exc:
                stats.error(type(exc).__name__)
                raise
            finally:
                if token is not None:
                    DEADLINE.reset(token)
                stats.latency.observe(time.perf_counter() - started)
            if creating:
                tenant = kwargs.get("tenant") or (args[0] if op == "start" and args else "")
                try:  # start and clone answer an Execution
                    await registry.record(result.id, name, dialect, str(tenant or ""))
                except Unavailable as exc:  # it exists: acknowledge it rather than invite a duplicate
                    log.warning("execution %s was created on backend %s but the run registry could not "
                                "record it (%s); calls about it follow the routes", result.id, name, exc.message)
            return result

        call.__name__ = op
        return call


class MissingClient:
    """Stands for an upstream whose adapter has no client half: every call is refused, by name."""

    def __init__(self, name: str, dialect: str, reason: str) -> None:
        self.name = name
        self._dialect = dialect
        self._reason = reason

    def __getattr__(self, item: str) -> Any:
        if item.startswith("_"):
            raise AttributeError(item)

        async def refuse(*args: Any, **kwargs: Any) -> Any:
            raise NotImplementedByBackend(
                f"backend {self.name} is a {self._dialect} upstream and {self._reason}; "
                f"'{item}' cannot be translated for it"
            )

        return refuse
