"""Integers past 64 bits, with conductor-python 2.0.0: the OSS server keeps them exact (Jackson reads them
as BigInteger), so a run's input, the tasks that read it, a worker's output and the search summary give
back the same integer -- never a float, never a 500."""

from __future__ import annotations

from conductor.client.http.models import StartWorkflowRequest, TaskResult
from conductor.client.http.models.workflow_def import WorkflowDef
from conductor.client.http.models.workflow_task import WorkflowTask
from conductor.client.orkes_clients import OrkesClients

from tests.conductor.sdk_support import wait_status

BIG = 123456789012345678901234567890
NEGATIVE = -99999999999999999999999
U64_MAX = 18446744073709551615  # the largest integer orjson itself keeps


def _register(clients: OrkesClients) -> None:
    clients.get_metadata_client().register_workflow_def(WorkflowDef(
        name="big_ints", version=1, timeout_seconds=0,
        output_parameters={"n": "${workflow.input.n}", "echo": "${echo_ref.output.echo}",
                           "text": "${note_ref.output.text}"},
        tasks=[WorkflowTask(name="note", task_reference_name="note_ref", type="SET_VARIABLE",
                            input_parameters={"n": "${workflow.input.n}", "text": "n=${workflow.input.n}"}),
               WorkflowTask(name="big_ints_echo", task_reference_name="echo_ref", type="SIMPLE",
                            input_parameters={"n": "${workflow.input.n}"})]), overwrite=True)


def test_an_integer_past_64_bits_comes_back_as_the_same_integer(clients: OrkesClients) -> None:
    _register(clients)
    wc, tc = clients.get_workflow_client(), clients.get_task_client()
    given = {"n": BIG, "neg": NEGATIVE, "u64": U64_MAX, "nested": [{"deep": BIG}], "f": 1.5e300}
    wid = wc.start_workflow(StartWorkflowRequest(name="big_ints", version=1, input=given))
    polled = tc.poll_task("big_ints_echo", worker_id="w")
    assert polled is not None and polled.input_data == {"n": BIG}
    assert type(polled.input_data["n"]) is int
    tc.update_task(TaskResult(workflow_instance_id=wid, task_id=polled.task_id, status="COMPLETED",
                              output_data={"echo": BIG + 1}))
    done = wait_status(clients, wid, "COMPLETED")
    assert done.input == given and type(done.input["n"]) is int
    assert done.output == {"n": BIG, "echo": BIG + 1, "text": f"n={BIG}"}
    note = next(t for t in done.tasks if t.reference_task_name == "note_ref")
    assert note.input_data == {"n": BIG, "text": f"n={BIG}"} and done.variables["n"] == BIG
    again = wc.get_workflow(wid, include_tasks=True)  # answered from the kept rendering this time
    assert again.input == given and again.output == done.output
    found = wc.search(query="workflowType IN (big_ints)")
    summary = next(s for s in found.results if s.workflow_id == wid)
    assert str(BIG) in summary.input and str(NEGATIVE) in summary.input and str(BIG + 1) in summary.output
