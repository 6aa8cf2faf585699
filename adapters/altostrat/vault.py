"""The vault: secrets encrypted at rest (Fernet: AES-128-CBC + HMAC-SHA256), usable only by nodes.

The key comes from the environment variable named by ``vault_key_env`` (a Fernet key, or any
passphrase, which is stretched with SHA-256), else from a key file generated beside the store.
Secret values are never returned by an endpoint and never logged; ``redact`` scrubs them from
anything rendered (a webhook target might echo one back).
"""

from __future__ import annotations

import base64
import builtins
import hashlib
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet, InvalidToken
from wfgateway.adapters.altostrat import ids
from wfgateway.adapters.altostrat.store import Duplicate, Tables

from wfgateway.client_auth import secret_from_env
from wfgateway.core.errors import InvalidArgument, NotFound

log = logging.getLogger("wfgateway.altostrat")

KEY_FILE = "altostrat-vault.key"
REDACTED = "[REDACTED]"
API_KEY_PREFIX = "api-key:"


@dataclass
class VaultItem:
    id: str
    name: str
    created_ms: int
    expires_ms: int | None
    api_key: str | None = None  # the generated key, only right after creating an api-key: item


def load_key(env_name: str | None, key_dir: Path) -> bytes:
    """The Fernet key: from ``env_name`` if set, else the key file in ``key_dir`` (created once)."""
    value = secret_from_env(env_name)
    if value is not None:
        return _as_fernet_key(value)
    path = key_dir / KEY_FILE
    if not path.exists():
        key = Fernet.generate_key()
        fd = os.open(str(path), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            os.write(fd, key)
        finally:
            os.close(fd)
    return path.read_bytes().strip()


def _as_fernet_key(value: str) -> bytes:
    try:
        raw = base64.urlsafe_b64decode(value.encode())
        if len(raw) == 32:
            return value.encode()
    except (ValueError, TypeError):
        pass
    return base64.urlsafe_b64encode(hashlib.sha256(value.encode()).digest())


class Vault:
    def __init__(self, tables: Tables, key: bytes | Callable[[], bytes]) -> None:
        """``key`` or a function that loads it on first use (so building the dialect writes nothing)."""
        self.tables = tables
        self._key = key
        self._fernet_obj: Fernet | None = None

    @property
    def _fernet(self) -> Fernet:
        if self._fernet_obj is None:
            self._fernet_obj = Fernet(self._key() if callable(self._key) else self._key)
        return self._fernet_obj

    def check_key(self) -> None:
        """Load the key now (a missing or malformed key fails here, not on first use)."""
        _ = self._fernet

    # -- CRUD (async, for handlers) ---------------------------------------------------------
    async def create(self, tenant: str, name: str, secret: str | None, expires_ms: int | None, now_ms: int) -> VaultItem:
        api_key = None
        if name.startswith(API_KEY_PREFIX):
            api_key = ids.secret_token(ids.API_KEY)
            secret = api_key
        if secret is None:
            raise InvalidArgument("The 'secret' parameter is required for this request.", details={"code": "parameter_missing"})
        item = VaultItem(ids.new_id(ids.VAULT), name, now_ms, expires_ms, api_key)
        try:
            await self.tables.execute(
                "INSERT INTO altostrat_vault (id, tenant, name, ciphertext, created_ms, updated_ms, expires_ms)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                (item.id, tenant, name, self._encrypt(secret), now_ms, now_ms, expires_ms),
            )
        except Duplicate as exc:
            raise InvalidArgument("The name has already been taken.", details={"code": "parameter_invalid"}) from exc
        return item

    async def list(self, tenant: str) -> list[VaultItem]:
        rows = await self.tables.query(
            "SELECT id, name, created_ms, expires_ms FROM altostrat_vault WHERE tenant = ? ORDER BY created_ms, id",
            (tenant,),
        )
        return [VaultItem(*row) for row in rows]

    async def get(self, tenant: str, item_id: str) -> VaultItem:
        rows = await self.tables.query(
            "SELECT id, name, created_ms, expires_ms FROM altostrat_vault WHERE tenant = ? AND id = ?", (tenant, item_id)
        )
        if not rows:
            raise NotFound(f"Vault item '{item_id}' not found.")
        return VaultItem(*rows[0])

    async def update(self, tenant: str, item_id: str, changes: dict[str, Any], now_ms: int) -> VaultItem:
        await self.get(tenant, item_id)
        sets = ["updated_ms = ?"]
        args: list[Any] = [now_ms]
        if "name" in changes:
            sets.append("name = ?")
            args.append(changes["name"])
        if "secret" in changes:
            sets.append("ciphertext = ?")
            args.append(self._encrypt(changes["secret"]))
        if "expires_ms" in changes:
            sets.append("expires_ms = ?")
            args.append(changes["expires_ms"])
        try:
            await self.tables.execute(
                f"UPDATE altostrat_vault SET {', '.join(sets)} WHERE tenant = ? AND id = ?", (*args, tenant, item_id)
            )
        except Duplicate as exc:
            raise InvalidArgument("The name has already been taken.", details={"code": "parameter_invalid"}) from exc
        return await self.get(tenant, item_id)

    async def delete(self, tenant: str, item_id: str) -> None:
        if not await self.tables.execute("DELETE FROM altostrat_vault WHERE tenant = ? AND id = ?", (tenant, item_id)):
            raise NotFound(f"Vault item '{item_id}' not found.")

    # -- use by nodes (the engine calls it while resolving templates) -------------------------
    async def resolve(self, tenant: str, name: str, now_ms: int | None = None) -> str | None:
        """The plaintext of ``name`` for ``tenant``; None if unknown or expired."""
        import time

        now = int(time.time() * 1000) if now_ms is None else now_ms
        rows = await self.tables.query(
            "SELECT ciphertext, expires_ms FROM altostrat_vault WHERE tenant = ? AND name = ?", (tenant, name)
        )
        if not rows:
            return None
        ciphertext, expires_ms = rows[0]
        if expires_ms is not None and expires_ms <= now:
            return None
        return self._decrypt(ciphertext)

    async def secrets_of(self, tenant: str) -> builtins.list[str]:  # ``list`` here is Vault.list
        """Every plaintext of ``tenant`` (to scrub them from rendered output)."""
        rows = await self.tables.query("SELECT ciphertext FROM altostrat_vault WHERE tenant = ?", (tenant,))
        out = []
        for (ciphertext,) in rows:
            value = self._decrypt(ciphertext)
            if value:
                out.append(value)
        return sorted(out, key=len, reverse=True)

    async def redactor(self, tenant: str) -> Redactor:
        return Redactor(await self.secrets_of(tenant))

    def _encrypt(self, plaintext: str) -> str:
        return self._fernet.encrypt(plaintext.encode()).decode()

    def _decrypt(self, ciphertext: str) -> str | None:
        try:
            return self._fernet.decrypt(ciphertext.encode()).decode()
        except InvalidToken:
            log.error("a vault item cannot be decrypted with the configured key")
            return None


MIN_SCRUBBED = 4  # a shorter secret ("1", "ok") is ordinary text: scrubbing it garbled every output and key


class Redactor:
    """Replaces every known secret value (of MIN_SCRUBBED characters or more) inside strings of a JSON value."""

    def __init__(self, secrets: list[str]) -> None:
        self.secrets = [s for s in secrets if len(s) >= MIN_SCRUBBED]

    def run(self, body: dict[str, Any]) -> dict[str, Any]:
        """A rendered run with secrets scrubbed from what nodes produced (payload, outputs, errors);
        ids, statuses and timestamps are never touched."""
        if not self.secrets:
            return body
        out = dict(body)
        for key in ("trigger_payload", "error_message"):
            if key in out:
                out[key] = self(out[key])
        if "logs" in out:
            out["logs"] = self.logs(out["logs"])
        return out

    def logs(self, entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
        if not self.secrets:
            return entries
        return [{**e, "output": self(e.get("output"))} for e in entries]

    def __call__(self, value: Any) -> Any:
        if not self.secrets:
            return value
        if isinstance(value, str):
            for s in self.secrets:
                if s in value:
                    value = value.replace(s, REDACTED)
            return value
        if isinstance(value, dict):
            return {self(k) if isinstance(k, str) else k: self(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self(v) for v in value]
        return value
