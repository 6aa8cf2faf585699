"""A Conductor run that has every shape the console draws: a switch that took a branch, a dynamic
fan-out, a loop's iterations and a sub-workflow whose worker failed (so the run is FAILED).  Used by
the DAG test and by the README's screenshots (``python -m tests.console.screenshots``)."""

from __future__ import annotations

import time

import httpx

OWNER = {"schemaVersion": 2, "ownerEmail": "ops@example.com"}


def inline(ref: str, expression: str) -> dict:
    return {"name": ref, "taskReferenceName": ref, "type": "INLINE",
            "inputParameters": {"evaluatorType": "javascript", "expression": expression}}


ORDERS = {"name": "orders", "version": 1, "description": "switch, dynamic fan-out, loop, sub-workflow", **OWNER, "tasks": [
    {"name": "prepare", "taskReferenceName": "prepare", "type": "SET_VARIABLE", "inputParameters": {"stage": "ready"}},
    {"name": "route", "taskReferenceName": "route", "type": "SWITCH", "evaluatorType": "value-param",
     "expression": "kind", "inputParameters": {"kind": "${workflow.input.kind}"},
     "decisionCases": {"express": [inline("express_fee", "5")], "standard": [inline("standard_fee", "1")]}},
    {"name": "ship", "taskReferenceName": "ship", "type": "FORK_JOIN_DYNAMIC",
     "dynamicForkTasksParam": "parcels", "dynamicForkTasksInputParamName": "parcelInput",
     "inputParameters": {"parcels": "${workflow.input.parcels}", "parcelInput": "${workflow.input.parcel_input}"}},
    {"name": "ship_join", "taskReferenceName": "ship_join", "type": "JOIN"},
    {"name": "count", "taskReferenceName": "count", "type": "DO_WHILE",
     "loopCondition": "$.count['iteration'] < 2", "loopOver": [inline("tick", "1")]},
    {"name": "notify", "taskReferenceName": "notify", "type": "SUB_WORKFLOW",
     "subWorkflowParam": {"name": "notify_customer", "version": 1}},
]}
NOTIFY = {"name": "notify_customer", "version": 1, **OWNER, "tasks": [
    {"name": "send_email", "taskReferenceName": "send_email", "type": "SIMPLE"}]}


def work(api: httpx.Client, task_type: str, status: str, reason: str = "") -> dict:
    """Poll one ``task_type`` task like a worker and report ``status``."""
    for _ in range(400):
        r = api.get(f"/api/tasks/poll/{task_type}", params={"workerid": "showcase-worker"})
        if r.status_code == 200 and r.content:
            task = r.json()
            api.post("/api/tasks", json={"taskId": task["taskId"], "workflowInstanceId": task["workflowInstanceId"],
                                         "status": status, "reasonForIncompletion": reason or None,
                                         "outputData": {"by": "showcase-worker"}, "workerId": "showcase-worker"}
                     ).raise_for_status()
            return task
        time.sleep(0.05)
    raise AssertionError(f"no {task_type} task to work on")


def failed_order(api: httpx.Client) -> str:
    """Register the workflows and run one order whose notification fails: its id."""
    for task_type in ("pack", "send_email"):
        api.post("/api/metadata/taskdefs", json=[{"name": task_type, "retryCount": 0, **OWNER}])
    api.put("/api/metadata/workflow", json=[NOTIFY, ORDERS]).raise_for_status()
    run_id = api.post("/api/workflow/orders", json={
        "kind": "express",
        "parcels": [{"name": "pack", "taskReferenceName": f"pack_{n}", "type": "SIMPLE"} for n in (1, 2, 3)],
        "parcel_input": {f"pack_{n}": {"parcel": n} for n in (1, 2, 3)},
    }).raise_for_status().text
    for _ in range(3):
        work(api, "pack", "COMPLETED")
    work(api, "send_email", "FAILED", "mail server refused the message")
    for _ in range(200):
        if api.get(f"/api/workflow/{run_id}/status").json()["status"] == "FAILED":
            return run_id
        time.sleep(0.05)
    raise AssertionError(f"order {run_id} did not fail")
