"""The error examples the served spec shows (/openapi/altostrat.yaml, what /docs/altostrat renders)
are the bodies the gateway answers, so a reader of the docs is not told of a message never sent.
httpx against the real gateway."""

from __future__ import annotations

import yaml

from tests.altostrat.conftest import checked, new_authorization
from tests.altostrat.graphs import node


def served_examples(client, response: str) -> dict:
    spec = yaml.safe_load(client.get("/openapi/altostrat.yaml").text)
    return spec["components"]["responses"][response]["content"]["application/json"]["examples"]


def test_the_401_example_is_the_answer_to_a_missing_token(anonymous):
    (example,) = served_examples(anonymous, "Unauthorized").values()
    assert checked(anonymous.get("/workflows"), "listWorkflows", 401) == example["value"]


def test_the_422_example_is_the_answer_to_a_missing_name(org1):
    (example,) = served_examples(org1, "UnprocessableEntity").values()
    body = {"authorization_id": new_authorization(org1), "nodes": [node("n1", "manual_trigger")], "edges": []}
    assert checked(org1.post("/workflows", json=body), "createWorkflow", 422) == example["value"]
