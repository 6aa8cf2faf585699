"""Keeping a contract run off the data a live target already holds.

Fuzzing a live gateway writes, overwrites and deletes; the user's own definitions must come out of
it unchanged.  Each spec says, in its root ``x-contract-data`` (no vendor vocabulary lives here):

``isolate: {parameter: project}``
    the path parameter that names a tenant: the whole run uses a throwaway value of its own
    (Cognite's project), so it cannot see the user's objects at all;
``stored: [{list, items, key, delete}]``
    how to list what is stored (``GET list``; the array at ``items``, the body itself when empty),
    which fields identify an object (``key``; a list of plain names is read as that one key) and how to delete one (``{method, path, body}``,
    ``{field}`` placeholders filled from the object).

Before the run the guard lists the stored objects; every request the run sends (every phase, the
stateful one included) has each string naming one of them rewritten to a throwaway name, so the
user's objects are never written, deleted, started or leased.  After the run it lists again and
deletes what the run created.  ``--allow-destructive`` turns the guard off.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import httpx

MAX_PAGES = 50  # per list, when the list pages with a cursor


@dataclass(frozen=True)
class StoredKind:
    """One kind of stored object, as the spec's ``x-contract-data.stored`` declares it."""

    list_path: str
    key: tuple[str, ...]
    delete: Mapping[str, Any]
    items: str = ""
    cursor: str | None = None  # response field holding the next cursor (sent back as ?cursor=)

    @classmethod
    def from_spec(cls, entry: Mapping[str, Any]) -> StoredKind:
        return cls(list_path=str(entry["list"]), key=tuple(entry["key"]), delete=dict(entry["delete"]),
                   items=str(entry.get("items") or ""), cursor=entry.get("cursor"))


@dataclass
class DataGuard:
    """The guard of one run: the throwaway tenant value, the protected names, what was rewritten."""

    client: httpx.Client
    kinds: list[StoredKind]
    isolate: str | None = None  # the path parameter naming a tenant, if the spec has one
    tenant: str | None = None  # its throwaway value
    suffix: str = field(default_factory=lambda: f"-wfgc{secrets.token_hex(3)}")
    protected: set[str] = field(default_factory=set)
    before: set[tuple[Any, ...]] = field(default_factory=set)
    rewritten: int = 0

    @classmethod
    def for_spec(cls, document: Mapping[str, Any], client: httpx.Client) -> DataGuard | None:
        data = document.get("x-contract-data")
        if not isinstance(data, Mapping):
            return None
        isolate = (data.get("isolate") or {}).get("parameter")
        guard = cls(client, [StoredKind.from_spec(e) for e in data.get("stored") or []], isolate)
        if isolate:
            guard.tenant = f"wfgateway-contract{guard.suffix}"
        return guard

    # -- before the run ---------------------------------------------------------------------------
    def take_inventory(self) -> None:
        """Remember every stored object; its identifying strings become protected names."""
        for kind in self.kinds:
            for obj in self._list(kind):
                ident = self._ident(kind, obj)
                self.before.add(ident)
                self.protected.update(v for v in ident[1:] if isinstance(v, str) and v)

    # -- during the run -----------------------------------------------------------------------------
    def guard_case(self, case: Any) -> None:
        """Point one request away from the user's data (a Schemathesis ``before_call`` hook)."""
        if self.isolate and case.path_parameters and self.isolate in case.path_parameters:
            case.path_parameters[self.isolate] = self.tenant
        for attr in ("path_parameters", "query"):
            value = getattr(case, attr, None)
            if isinstance(value, dict):
                setattr(case, attr, self._rewrite(value))
        body = getattr(case, "body", None)
        if isinstance(body, (dict, list, str)):
            case.body = self._rewrite(body)

    def _rewrite(self, value: Any) -> Any:
        if isinstance(value, str):
            if value in self.protected:
                self.rewritten += 1
                return value + self.suffix
            return value
        if isinstance(value, dict):
            return {k: self._rewrite(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self._rewrite(v) for v in value]
        return value

    # -- after the run -------------------------------------------------------------------------------
    def clean_up(self) -> list[str]:
        """Delete what the run created; notes for the report."""
        removed, kept = 0, 0
        for kind in reversed(self.kinds):  # dependents (declared later) first
            for obj in self._list(kind):
                if self._ident(kind, obj) in self.before:
                    continue
                answer = self._send_delete(kind, obj)
                if answer is not None and answer.status_code < 300:
                    removed += 1
                else:
                    kept += 1
        notes = []
        if self.tenant:
            notes.append(f"data: the run used its own {self.isolate} {self.tenant!r}, not yours")
        notes.append(f"data: {len(self.before)} stored objects protected ({self.rewritten} requests naming them "
                     f"were pointed at throwaway names); {removed} objects the run created deleted"
                     + (f", {kept} could not be deleted (e.g. with executions still running)" if kept else ""))
        return notes

    # -- helpers --------------------------------------------------------------------------------------
    def _fill(self, template: str, values: Mapping[str, Any], *, in_path: bool = True) -> str:
        if self.tenant and self.isolate:
            values = {self.isolate: self.tenant, **values}
        for name, value in values.items():
            text = quote(str(value), safe="") if in_path else str(value)
            template = template.replace("{" + name + "}", text)
        return template

    def _list(self, kind: StoredKind) -> Iterable[Mapping[str, Any]]:
        params: dict[str, str] = {}
        for _ in range(MAX_PAGES):
            try:
                answer = self.client.get(self._fill(kind.list_path, {}), params=params)
            except httpx.HTTPError:
                return
            if answer.status_code != 200:
                return
            body = answer.json()
            items = body.get(kind.items) if kind.items and isinstance(body, dict) else body
            for item in items or []:
                if isinstance(item, Mapping):
                    yield item
                elif isinstance(item, str) and len(kind.key) == 1:  # a list of names: the name is the key
                    yield {kind.key[0]: item}
            nxt = body.get(kind.cursor) if kind.cursor and isinstance(body, dict) else None
            if not nxt:
                return
            params = {"cursor": nxt}

    def _ident(self, kind: StoredKind, obj: Mapping[str, Any]) -> tuple[Any, ...]:
        return (kind.list_path, *(obj.get(k) for k in kind.key))

    def _send_delete(self, kind: StoredKind, obj: Mapping[str, Any]) -> httpx.Response | None:
        values = {k: obj.get(k) for k in kind.key}
        body = _fill_body(kind.delete.get("body"), lambda s: self._fill(s, values, in_path=False))
        try:
            return self.client.request(kind.delete.get("method", "DELETE"), self._fill(kind.delete["path"], values),
                                       json=body)
        except (httpx.HTTPError, httpx.InvalidURL):
            return None


def _fill_body(body: Any, fill: Callable[[str], str]) -> Any:
    if isinstance(body, str):
        return fill(body)
    if isinstance(body, dict):
        return {k: _fill_body(v, fill) for k, v in body.items()}
    if isinstance(body, list):
        return [_fill_body(v, fill) for v in body]
    return body
