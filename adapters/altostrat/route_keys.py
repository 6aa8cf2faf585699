"""Where Altostrat SDX requests carry what routing needs (read by wfgateway.routing.keys).

Altostrat addresses workflows by id, so ``workflow`` is the workflowId (the name only when a
workflow is created); ``execution_id`` is a run id.  A rerun and a resume-from create a new run,
whose id the registry remembers with the backend that owns the original.
"""

ROUTE_KEYS: dict[str, dict[str, str | bool]] = {
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
    "deleteWorkflow": ("search", "delete_execution", "delete_definition"),  # its runs go with it
    "executeSyncWorkflow": ("get_definition", "start", "get"),
    "executeWorkflow": ("get_definition", "start"),
    "listWorkflowRuns": ("search",),
    "getWorkflowRun": ("get",),
    "rerunWorkflowRun": ("get", "clone"),
    "resumeWorkflowRun": ("get", "clone_from_task"),  # clone with resume_from_ref
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

# What the handlers themselves change when the backend is another vendor, whose workflows are never
# Altostrat workflows (workflows.foreign_view): (level at least, note) for docs/compatibility.md.
CROSS_VENDOR = {
    "listWorkflows": ("translated", "the vendor's workflows are listed read-only, each name once (latest version)"),
    "getWorkflow": ("translated", "the vendor's workflow is read-only and shown without nodes and edges"),
    "updateWorkflow": ("refused", "the vendor's workflows cannot be edited as nodes and edges"),
    "deleteWorkflow": ("refused", "the vendor's workflows are deleted through its own API (Altostrat would "
                                  "delete their runs too)"),
    "executeWorkflow": ("translated", "the context is the workflow input; the vendor chooses the run id"),
    "executeSyncWorkflow": ("translated", "the payload is the workflow input; the vendor chooses the run id"),
    "listTriggerableWorkflows": ("translated", "only Altostrat workflows are triggerable: the vendor's are not listed"),
    "listRecentWorkflowLogs": ("translated", "only runs of Altostrat workflows: the vendor's runs are left out"),
    "triggerWorkflowWebhook": ("refused", "webhook tokens belong to Altostrat workflows, none of which live at "
                                          "another vendor"),
    "testWorkflowNode": ("refused", "a test node runs an inline Altostrat definition, which another vendor "
                                    "cannot run"),
}
