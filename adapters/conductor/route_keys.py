"""Where Conductor requests carry what routing needs (read by wfgateway.routing.keys).

``workflow`` is the workflow (definition) name, ``execution_id`` the workflowId of an existing
execution, ``created`` where a start's answer carries the new workflowId (text/plain).  A task
update names its execution (``workflowInstanceId``), so it reaches the backend that owns it.
``related``: the executions an answer mentions (sub-workflows a workflow started, the workflows of
polled tasks, search results), remembered as the answering backend's.
"""

ROUTE_KEYS = {
    "generateToken": {"local": True},  # tokens authenticate clients of this gateway
    "registerWorkflowDef": {"workflow": "body.name"},
    "updateWorkflowDefs": {"workflow": "body.0.name"},
    "getWorkflowDef": {"workflow": "path.name"},
    "unregisterWorkflowDef": {"workflow": "path.name"},
    "startWorkflow": {"workflow": "body.name", "correlation_id": "body.correlationId", "created": "text"},
    "startWorkflowByName": {"workflow": "path.name", "correlation_id": "query.correlationId", "created": "text"},
    "executeWorkflow": {"workflow": "path.name", "correlation_id": "body.correlationId",
                        "created": "body.targetWorkflowId"},
    "getWorkflow": {"execution_id": "path.workflowId", "related": "body.tasks.*.subWorkflowId"},
    "searchWorkflows": {"related": "body.results.*.workflowId"},
    "pollTask": {"related": "body.workflowInstanceId"},
    "batchPollTasks": {"related": "body.*.workflowInstanceId"},
    "getTask": {"related": "body.workflowInstanceId"},
    "terminateWorkflow": {"execution_id": "path.workflowId"},
    "getWorkflowStatusSummary": {"execution_id": "path.workflowId"},
    "pauseWorkflow": {"execution_id": "path.workflowId"},
    "resumeWorkflow": {"execution_id": "path.workflowId"},
    "rerunWorkflow": {"execution_id": "path.workflowId"},
    "retryWorkflow": {"execution_id": "path.workflowId"},
    "restartWorkflow": {"execution_id": "path.workflowId"},
    "deleteWorkflow": {"execution_id": "path.workflowId"},
    "getCorrelatedWorkflows": {"workflow": "path.name", "correlation_id": "path.correlationId"},
    "getCorrelatedWorkflowsBatch": {"workflow": "path.name", "idempotent": True},
    "updateTask": {"execution_id": "body.workflowInstanceId"},
    **{op: {"split": True} for op in ("bulkPauseWorkflows", "bulkResumeWorkflows", "bulkRestartWorkflows",
                                      "bulkRetryWorkflows", "bulkTerminateWorkflows", "bulkRemoveWorkflows",
                                      "bulkTerminateRemoveWorkflows")},
    "updateTaskV2": {"execution_id": "body.workflowInstanceId"},
}

# The canonical Backend operations each Conductor operation's handler uses (docs/compatibility.md).
# () = served by the gateway itself.  "task_definitions": Conductor's TaskDefs (kept as definitions in a
# namespace of their own on the engine; another vendor has none).
BACKEND_OPERATIONS = {
    "generateToken": (),
    "registerWorkflowDef": ("task_definitions", "put_definition"),
    "updateWorkflowDefs": ("task_definitions", "put_definition"),
    "getAllWorkflowDefs": ("list_definitions",),
    "getWorkflowDef": ("get_definition",),
    "unregisterWorkflowDef": ("delete_definition",),
    "registerTaskDefs": ("task_definitions",),
    "updateTaskDef": ("task_definitions",),
    "getTaskDefs": ("task_definitions",),
    "getTaskDef": ("task_definitions",),
    "unregisterTaskDef": ("task_definitions",),
    "startWorkflow": ("get_definition", "start"),
    "startWorkflowByName": ("get_definition", "start"),
    "executeWorkflow": ("get_definition", "start", "get"),
    "searchWorkflows": ("search",),
    "bulkPauseWorkflows": ("get", "pause"),
    "bulkResumeWorkflows": ("get", "resume"),
    "bulkRestartWorkflows": ("get", "restart"),
    "bulkRetryWorkflows": ("get", "retry"),
    "bulkTerminateWorkflows": ("get", "terminate"),
    "bulkRemoveWorkflows": ("get", "delete_execution"),
    "bulkTerminateRemoveWorkflows": ("get", "terminate", "delete_execution"),
    "getWorkflow": ("get",),
    "terminateWorkflow": ("get", "terminate"),
    "getWorkflowStatusSummary": ("get",),
    "pauseWorkflow": ("get", "pause"),
    "resumeWorkflow": ("get", "resume"),
    "rerunWorkflow": ("get", "rerun"),
    "retryWorkflow": ("get", "retry"),
    "restartWorkflow": ("get", "restart"),
    "deleteWorkflow": ("get", "delete_execution"),
    "getCorrelatedWorkflows": ("search", "get"),
    "getCorrelatedWorkflowsBatch": ("search", "get"),
    "pollTask": ("poll", "get"),
    "batchPollTasks": ("poll", "get"),
    "updateTask": ("complete_task",),
    "updateTaskV2": ("complete_task", "poll"),
    "getTask": ("get_task", "get"),
    "logTask": ("add_task_log",),
    "getTaskLogs": ("get_task",),
}
