"""Where Cognite Data Workflows requests carry what routing needs (read by wfgateway.routing.keys).

``workflow`` is the workflow externalId (the first item's for batch upserts), ``execution_id`` an
execution id, ``created`` where a run's answer carries the new execution id.  The tenant is the
project.  Listing endpoints sent as POST are reads and may be retried upstream.
"""

ROUTE_KEYS: dict[str, dict[str, str | bool]] = {
    "inspectToken": {"local": True},  # inspects the caller's token for this gateway
    "upsertWorkflows": {"workflow": "body.items.0.externalId"},
    "retrieveWorkflow": {"workflow": "path.workflowExternalId"},
    "upsertWorkflowVersions": {"workflow": "body.items.0.workflowExternalId"},
    "retrieveWorkflowVersion": {"workflow": "path.workflowExternalId"},
    "listWorkflowVersions": {"idempotent": True},
    "runWorkflow": {"workflow": "path.workflowExternalId", "created": "body.id"},
    "listWorkflowExecutions": {"idempotent": True},
    "retrieveWorkflowExecution": {"execution_id": "path.executionId"},
    "cancelWorkflowExecution": {"execution_id": "path.executionId"},
    "retryWorkflowExecution": {"execution_id": "path.executionId"},
    "upsertTriggers": {"workflow": "body.items.0.workflowExternalId"},
}

# The canonical Backend operations each Cognite operation's handler uses (docs/compatibility.md).
# () = served by the gateway itself (sessions, tokens, workflow records and triggers are the
# adapter's own state; a trigger's runs start executions through ``start``).
BACKEND_OPERATIONS = {
    "createSessions": (),
    "listSessions": (),
    "getSessionsByIds": (),
    "revokeSessions": (),
    "inspectToken": (),
    "upsertWorkflows": (),
    "listWorkflows": ("list_definitions",),
    "retrieveWorkflow": ("list_definitions",),
    "deleteWorkflows": ("search", "delete_definition"),
    "upsertWorkflowVersions": ("put_definition",),
    "listWorkflowVersionsGet": ("list_definitions",),
    "listWorkflowVersions": ("list_definitions",),
    "deleteWorkflowVersions": ("delete_definition",),
    "retrieveWorkflowVersion": ("get_definition",),
    "runWorkflow": ("get_definition", "start"),
    "listWorkflowExecutions": ("search",),
    "retrieveWorkflowExecution": ("get",),
    "cancelWorkflowExecution": ("get", "terminate"),
    "retryWorkflowExecution": ("get", "retry"),
    "updateTaskStatus": ("get_task", "complete_task"),
    "upsertTriggers": ("get_definition",),
    "listTriggers": (),
    "deleteTriggers": (),
    "listTriggerRuns": (),
    "pauseTrigger": (),
    "resumeTrigger": (),
}
