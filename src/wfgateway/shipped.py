"""The default config and the three specs that ship inside the wheel.

The repository keeps them where users see them (config.yaml and openapi/ at the top); pyproject.toml maps
that folder in as the data package ``wfgateway.defaults``, so an installed wheel has them under
wfgateway/defaults/.  In a source checkout (or an editable install) they are read from the repository.
"""

from __future__ import annotations

from pathlib import Path

_INSTALLED = Path(__file__).resolve().parent / "defaults"
_CHECKOUT = Path(__file__).resolve().parents[2]  # src/wfgateway -> the repository


def shipped_root() -> Path:
    """The folder holding the shipped config.yaml and openapi/."""
    return _INSTALLED if (_INSTALLED / "config.yaml").is_file() else _CHECKOUT


def shipped_file(relative: str) -> Path | None:
    """The shipped copy of ``relative`` (e.g. ``openapi/conductor.yaml``), or None when nothing by that name ships."""
    path = Path(relative)
    if path.is_absolute() or ".." in path.parts:
        return None
    candidate = shipped_root() / path
    return candidate if candidate.is_file() else None
