"""Acceptance through the unmodified conductor-python 2.0.0: checking a WorkflowDef without registering
it (POST /api/metadata/workflow/validate, sent with the SDK's own HTTP client)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from conductor.client.configuration.configuration import Configuration
from conductor.client.http.api_client import ApiClient
from conductor.client.http.models.workflow_def import WorkflowDef
from conductor.client.http.models.workflow_task import WorkflowTask
from conductor.client.http.rest import ApiException
from conductor.client.orkes_clients import OrkesClients

from tests.support.server import RunningGateway


def validate(api: ApiClient, definition: Any) -> None:
    api.call_api("/metadata/workflow/validate", "POST", body=definition, header_params={
        "Content-Type": "application/json"}, _return_http_data_only=True)


def refusal(api: ApiClient, definition: Any) -> dict[str, Any]:
    with pytest.raises(ApiException) as caught:
        validate(api, definition)
    assert caught.value.status == 400
    return dict(json.loads(caught.value.body))


def flow(name: str, *tasks: WorkflowTask) -> WorkflowDef:
    return WorkflowDef(name=name, version=1, timeout_seconds=0, tasks=list(tasks))


def test_validate_answers_as_registering_would_and_stores_nothing(open_gateway: RunningGateway) -> None:
    config = Configuration(server_api_url=f"{open_gateway.url}/api")
    api, metadata = ApiClient(config), OrkesClients(configuration=config).get_metadata_client()
    good = flow("val_flow", WorkflowTask(name="charge", task_reference_name="charge_ref", type="SIMPLE",
                                         input_parameters={"amount": "${workflow.input.amount}"}))
    validate(api, good)
    with pytest.raises(ApiException) as missing:
        metadata.get_workflow_def("val_flow", version=1)
    assert missing.value.status == 404  # validated, not registered
    metadata.register_workflow_def(good, overwrite=True)
    validate(api, good)  # a name and version that exist are no conflict

    twice = flow("val_twice", WorkflowTask(name="a", task_reference_name="same", type="SIMPLE"),
                 WorkflowTask(name="b", task_reference_name="same", type="SIMPLE"))
    error = refusal(api, twice)
    assert error["status"] == 400 and error["retryable"] is False
    assert any("same" in v["message"] for v in error["validationErrors"]), error

    nameless = refusal(api, {"version": 1, "tasks": [{"name": "a", "taskReferenceName": "a", "type": "SIMPLE"}]})
    assert nameless["validationErrors"], nameless

    dangling = flow("val_dangling", WorkflowTask(name="a", task_reference_name="a_ref", type="SIMPLE",
                                                 input_parameters={"x": "${nowhere_ref.output.x}"}))
    with pytest.raises(ApiException) as registered:
        metadata.register_workflow_def(dangling, overwrite=True)
    assert registered.value.status == 400
    checked = refusal(api, dangling)
    assert checked["message"] == json.loads(registered.value.body)["message"]  # the registration's own words
    assert "nowhere_ref" in checked["message"], checked
