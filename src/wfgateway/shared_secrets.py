"""Keys every gateway process must agree on, kept in the store when no environment variable names one.

The cursor key and Conductor's token secret used to be random per process, so with several workers
(or replicas) a cursor or token issued by one process was refused by the next.  At start-up
``StoreSecrets.load`` reads them from the persistence home's key-value table (the first process to
start inserts a random value, insert-if-absent; everyone then reads the stored one), so every worker
signs and verifies with the same key.
"""

from __future__ import annotations

import secrets
from typing import Protocol

from wfgateway.engine.store.kv import KeyValue
from wfgateway.engine.store.tables import StoreHome

SHARED = ("cursor_key", "conductor_token_secret")  # the names load() fetches before serving


class SecretSource(Protocol):
    def get(self, name: str) -> str:
        """The value of secret ``name``, the same in every process sharing the store."""


class ProcessSecrets:
    """Random per process: for a gateway that serves nothing (``wfgateway check``) or shares no store."""

    def __init__(self) -> None:
        self._values: dict[str, str] = {}

    def get(self, name: str) -> str:
        return self._values.setdefault(name, secrets.token_urlsafe(32))


class StoreSecrets:
    """Secrets in the ``gateway_kv`` table; ``get`` answers from memory once ``load`` has run."""

    def __init__(self, home: StoreHome) -> None:
        self.kv = KeyValue(home, "gateway")
        self._values: dict[str, str] = {}
        self._fallback = ProcessSecrets()

    async def load(self, names: tuple[str, ...] = SHARED) -> None:
        for name in names:
            await self.kv.insert("secret", name, secrets.token_urlsafe(32))
            value = await self.kv.get("secret", name)
            if isinstance(value, str):
                self._values[name] = value

    def get(self, name: str) -> str:
        # before load (an app never started, as in `wfgateway check`) a process-local value
        return self._values.get(name) or self._fallback.get(name)
