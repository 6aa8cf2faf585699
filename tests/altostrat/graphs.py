"""Altostrat workflow bodies the tests share."""

from __future__ import annotations

from typing import Any


def node(nid: str, component: str, **data: Any) -> dict[str, Any]:
    return {"id": nid, "type": component, "position": {"x": 0, "y": 0}, "data": {"componentId": component, **data}}


def edge(src: str, dst: str, handle: str | None = None) -> dict[str, Any]:
    e: dict[str, Any] = {"id": f"e-{src}-{dst}", "source": src, "target": dst}
    if handle is not None:
        e["sourceHandle"] = handle
    return e


def branching(target: str, *, auth_id: str = "auth_x", secret_header: bool = False) -> dict[str, Any]:
    """manual_trigger n1 -> webhook n2 -> condition n3 -> webhook n4 (true) / webhook n5 (false)."""
    headers = {"X-Run": "{{ n1.run_id }}"}
    if secret_header:
        headers["Authorization"] = "Bearer {{ vault.api_token }}"
    return {
        "name": "Branching",
        "description": "checks a service and reports",
        "authorization_id": auth_id,
        "nodes": [
            node("n1", "manual_trigger"),
            node("n2", "webhook", method="POST", url=f"{target}/check",
                 body='{"user": "{{ n1.user_id }}", "run": "{{ n1.run_id }}"}', headers=headers),
            node("n3", "condition", left="{{ n2.body.healthy }}", operator="equals", right=True),
            node("n4", "webhook", method="POST", url=f"{target}/healthy", body={"from": "{{ n2.body.name }}"}),
            node("n5", "webhook", method="POST", url=f"{target}/unhealthy", body={"from": "{{ n2.body.name }}"}),
        ],
        "edges": [edge("n1", "n2"), edge("n2", "n3"), edge("n3", "n4", "true"), edge("n3", "n5", "false")],
    }
