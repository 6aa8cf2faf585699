"""Where Cognite Data Workflows requests carry what routing needs (read by wfgateway.routing.keys).

``workflow`` is the workflow externalId (the first item's for batch upserts), ``execution_id`` an
execution id, ``created`` where a run's answer carries the new execution id.  The tenant is the
project.  Listing endpoints sent as POST are reads and may be retried upstream.
"""

ROUTE_KEYS = {
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
