"""Acceptance through the unmodified conductor-python 2.0.0: checking a WorkflowDef without registering
it (POST /api/metadata/workflow/validate, sent with the SDK's own HTTP client) and Orkes' tags on
workflow and task definitions (OrkesMetadataClient, TagsApi)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from conductor.client.configuration.configuration import Configuration
from conductor.client.http.api.metadata_resource_api import MetadataResourceApi
from conductor.client.http.api_client import ApiClient
from conductor.client.http.models import TaskDef
from conductor.client.http.models.rate_limit import RateLimit
from conductor.client.http.models.workflow_def import WorkflowDef
from conductor.client.http.models.workflow_tag import WorkflowTag
from conductor.client.http.models.workflow_task import WorkflowTask
from conductor.client.http.rest import ApiException
from conductor.client.orkes.api.tags_api import TagsApi
from conductor.client.orkes.models.metadata_tag import MetadataTag
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


def test_orkes_tags_on_workflow_and_task_definitions(open_gateway: RunningGateway) -> None:
    """OrkesMetadataClient's tag methods (and its rate limit, a RATE_LIMIT tag), as conductor-python sends them."""
    clients = OrkesClients(configuration=Configuration(server_api_url=f"{open_gateway.url}/api"))
    metadata = clients.get_metadata_client()
    metadata.register_workflow_def(flow("tag_flow", WorkflowTask(name="tag_task", task_reference_name="t",
                                                                 type="SIMPLE")), overwrite=True)
    metadata.register_task_def(TaskDef(name="tag_task"))

    def pairs(tags: list[Any]) -> list[tuple[str, Any]]:
        return sorted((t.key, t.value) for t in tags)

    assert metadata.get_workflow_tags("tag_flow") == []
    metadata.add_workflow_tag(MetadataTag("env", "test"), "tag_flow")
    metadata.add_workflow_tag(MetadataTag("env", "prod"), "tag_flow")  # same key: the value is replaced
    metadata.add_workflow_tag(MetadataTag("team", "payments"), "tag_flow")
    assert pairs(metadata.get_workflow_tags("tag_flow")) == [("env", "prod"), ("team", "payments")]
    assert {t.type for t in metadata.get_workflow_tags("tag_flow")} == {"METADATA"}
    metadata.delete_workflow_tag(MetadataTag("team", "payments"), "tag_flow")
    assert pairs(metadata.get_workflow_tags("tag_flow")) == [("env", "prod")]
    with pytest.raises(ApiException) as gone:
        metadata.delete_workflow_tag(MetadataTag("team", "payments"), "tag_flow")
    assert gone.value.status == 404
    metadata.set_workflow_tags([MetadataTag("owner", "ada")], "tag_flow")
    assert pairs(metadata.get_workflow_tags("tag_flow")) == [("owner", "ada")]

    metadata.setWorkflowRateLimit(5, "tag_flow")
    assert metadata.getWorkflowRateLimit("tag_flow") == 5
    metadata.setWorkflowRateLimit(7, "tag_flow")
    assert metadata.getWorkflowRateLimit("tag_flow") == 7
    metadata.removeWorkflowRateLimit("tag_flow")
    assert metadata.getWorkflowRateLimit("tag_flow") is None
    assert pairs(metadata.get_workflow_tags("tag_flow")) == [("owner", "ada")]

    metadata.addTaskTag(MetadataTag("tier", "gold"), "tag_task")
    assert pairs(metadata.getTaskTags("tag_task")) == [("tier", "gold")]
    metadata.setTaskTags([MetadataTag("tier", "silver"), MetadataTag("zone", "eu")], "tag_task")
    metadata.deleteTaskTag(MetadataTag("zone", "eu"), "tag_task")
    assert pairs(metadata.getTaskTags("tag_task")) == [("tier", "silver")]
    assert metadata.get_workflow_tags("tag_flow") != metadata.getTaskTags("tag_task")  # kept apart
    every = TagsApi(ApiClient(clients.configuration)).get_tags1()
    assert {("owner", "ada"), ("tier", "silver")} <= {(t.key, t.value) for t in every}

    for call in (lambda: metadata.add_workflow_tag(MetadataTag("env", "x"), "no_such_flow"),
                 lambda: metadata.get_workflow_tags("no_such_flow"),
                 lambda: metadata.addTaskTag(MetadataTag("env", "x"), "no_such_task")):
        with pytest.raises(ApiException) as unknown:
            call()
        assert unknown.value.status == 404 and json.loads(unknown.value.body)["message"].startswith("No such")
    # a definition removed takes its tags along: registered again, it starts untagged
    metadata.unregister_workflow_def("tag_flow", 1)
    metadata.unregister_task_def("tag_task")
    metadata.register_workflow_def(flow("tag_flow", WorkflowTask(name="tag_task", task_reference_name="t",
                                                                 type="SIMPLE")), overwrite=True)
    metadata.register_task_def(TaskDef(name="tag_task"))
    assert metadata.get_workflow_tags("tag_flow") == [] and metadata.getTaskTags("tag_task") == []
    assert not {("owner", "ada"), ("tier", "silver")} & {(t.key, t.value) for t in TagsApi(
        ApiClient(clients.configuration)).get_tags1()}

    with pytest.raises(ApiException) as keyless:
        metadata.add_workflow_tag(MetadataTag(None, "x"), "tag_flow")  # type: ignore[arg-type]
    assert keyless.value.status == 400


def test_workflow_metadata_keeps_a_rate_limit_per_version(open_gateway: RunningGateway) -> None:
    """MetadataResourceApi.create/get/delete_workflow_metadata (/api/metadata/tags/workflow/{name})."""
    config = Configuration(server_api_url=f"{open_gateway.url}/api")
    OrkesClients(configuration=config).get_metadata_client().register_workflow_def(
        flow("wm_flow", WorkflowTask(name="wm_task", task_reference_name="t", type="SIMPLE")), overwrite=True)
    api = MetadataResourceApi(ApiClient(config))
    assert api.get_workflow_metadata("wm_flow", version=1).rate_limit is None
    api.create_workflow_metadata(WorkflowTag(rate_limit=RateLimit(rate_limit_key="${workflow.input.customer}",
                                                                  concurrent_exec_limit=3)), "wm_flow", version=1)
    kept = api.get_workflow_metadata("wm_flow", version=1).rate_limit
    assert (kept.rate_limit_key, kept.concurrent_exec_limit) == ("${workflow.input.customer}", 3)
    assert api.get_workflow_metadata("wm_flow").rate_limit is None  # kept for version 1 only
    api.delete_workflow_metadata("wm_flow", 1)
    assert api.get_workflow_metadata("wm_flow", version=1).rate_limit is None
    with pytest.raises(ApiException) as unknown:
        api.get_workflow_metadata("no_such_flow")
    assert unknown.value.status == 404
