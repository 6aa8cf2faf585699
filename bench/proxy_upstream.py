"""The upstream vendor for the proxy benchmark: answers Conductor's GET workflow and POST rerun with
bodies that satisfy openapi/conductor.yaml.  Served by granian so it is never the bottleneck."""

from __future__ import annotations

import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route


def workflow(workflow_id: str) -> bytes:
    return orjson.dumps({
        "workflowId": workflow_id, "workflowName": "order_fulfillment", "workflowVersion": 1, "status": "COMPLETED",
        "input": {"orderId": "o-1"}, "output": {"ok": True}, "correlationId": "corr-1", "priority": 0,
        "createTime": 1700000000000, "startTime": 1700000000000, "endTime": 1700000001000,
        "updateTime": 1700000001000, "tasks": [],
    })


async def get_workflow(request: Request) -> Response:
    return Response(workflow(request.path_params["workflowId"]), media_type="application/json")


async def rerun(request: Request) -> Response:
    await request.body()
    return Response(request.path_params["workflowId"], media_type="text/plain")


async def healthz(request: Request) -> Response:
    return Response(b"ok", media_type="text/plain")


app = Starlette(routes=[
    Route("/api/workflow/{workflowId}", get_workflow, methods=["GET"]),
    Route("/api/workflow/{workflowId}/rerun", rerun, methods=["POST"]),
    Route("/healthz", healthz),
])
