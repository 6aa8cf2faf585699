"""Where Altostrat SDX requests carry what routing needs (read by wfgateway.routing.keys).

Altostrat addresses workflows by id, so ``workflow`` is the workflowId (the name only when a
workflow is created); ``execution_id`` is a run id.  A rerun and a resume-from create a new run,
whose id the registry remembers with the backend that owns the original.
"""

ROUTE_KEYS = {
    "createWorkflow": {"workflow": "body.name"},
    "getWorkflow": {"workflow": "path.workflowId"},
    "updateWorkflow": {"workflow": "path.workflowId"},
    "deleteWorkflow": {"workflow": "path.workflowId"},
    "executeWorkflow": {"workflow": "path.workflowId", "created": "body.id"},
    "executeSyncWorkflow": {"workflow": "path.workflowId"},
    "listWorkflowRuns": {"workflow": "path.workflowId"},
    "listWorkflowLogs": {"workflow": "path.workflowId"},
    "getWorkflowLogStats": {"workflow": "path.workflowId"},
    "getWorkflowRun": {"execution_id": "path.runId"},
    "rerunWorkflowRun": {"execution_id": "path.runId", "created": "body.new_run.id"},
    "resumeWorkflowRun": {"execution_id": "path.runId", "created": "body.new_run.id"},
}

# The canonical Backend operations each Altostrat operation's handler uses (docs/compatibility.md).
# () = served by the gateway itself (vault, authorizations, validation are the adapter's own state).
BACKEND_OPERATIONS = {
    "listWorkflows": ("list_definitions",),
    "createWorkflow": ("put_definition",),
    "validateWorkflow": (),
    "listTriggerableWorkflows": ("list_definitions",),
    "getWorkflow": ("get_definition",),
    "updateWorkflow": ("put_definition",),
    "deleteWorkflow": ("delete_definition",),
    "executeSyncWorkflow": ("get_definition", "start", "get"),
    "executeWorkflow": ("get_definition", "start"),
    "listWorkflowRuns": ("search",),
    "getWorkflowRun": ("get",),
    "rerunWorkflowRun": ("get", "clone"),
    "resumeWorkflowRun": ("get", "clone"),
    "listWorkflowLogs": ("search", "get"),
    "getWorkflowLogStats": ("search", "get"),
    "listRecentWorkflowLogs": ("search", "get"),
    "testWorkflowNode": ("start", "get"),  # an inline one-node definition
    "triggerWorkflowWebhook": ("get_definition", "start"),
    "listVaultItems": (),
    "createVaultItem": (),
    "getVaultItem": (),
    "updateVaultItem": (),
    "deleteVaultItem": (),
    "listWorkflowAuthorizations": (),
    "createWorkflowAuthorizationUrl": (),
    "deleteWorkflowAuthorization": (),
}
