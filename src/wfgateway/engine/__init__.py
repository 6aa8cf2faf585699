"""The unified engine: ``Engine`` (a Backend) on a ``Store`` made by ``create_store``."""

from wfgateway.engine.engine import Engine
from wfgateway.engine.events import EngineEvent
from wfgateway.engine.store import create_store

__all__ = ["Engine", "EngineEvent", "create_store"]
