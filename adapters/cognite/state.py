"""Durable state of the Cognite dialect that the engine has no place for: workflows (the entity that
owns versions), sessions and their nonces, triggers and their run history.

A namespaced key-value table (``cognite_kv``) in the engine's store -- the persistence home, so the
same SQLite file or PostgreSQL database, waits, reconnects and health as the engine's own tables.
Keys start with the project, so one project never lists another's rows.
"""

from __future__ import annotations

from wfgateway.engine.store.kv import KeyValue
from wfgateway.engine.store.tables import StoreHome

__all__ = ["SEP", "KeyValue", "create_state", "key"]

SEP = "\x1f"  # between the parts of a key; never part of a project name or a valid externalId


def key(*parts: str) -> str:
    return SEP.join(parts)


def create_state(home: StoreHome) -> KeyValue:
    """The dialect's state in the engine's store."""
    return KeyValue(home, "cognite", side_file="-cognite{ext}")  # where earlier versions kept it
