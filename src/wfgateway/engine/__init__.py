"""The unified engine: ``Engine`` (a Backend) on a ``Store`` made by ``create_store``.

    store = create_store({"kind": "sqlite", "path": "wfgateway.db"}, base_dir=config_dir)
    engine = Engine(store, http_allow=[...], http_timeout_ms=30000, worker_lease_ms=60000)
    await engine.startup()   # migrations, timer loop, re-dispatch of left-over work
    ...
    await engine.stop()

Inside: ``engine.py`` is the façade -- each Backend operation is one call into the module that does it
(``ops_definitions``, ``ops_executions``, ``ops_read``, ``ops_replay``, ``ops_retry``, ``tasks``).  Those
modules, the timer loop and the HTTP task runner see the engine only as ``context.EngineContext``
(store, definition snapshots, hooks, ``run(op)`` for a unit of work, wake-ups); ``runtime.Runtime``
implements it.  A new operation is a function ``async def op(ctx: EngineContext, ...)`` whose writes go
through ``ctx.run(lambda-of-a-Unit)``, plus one line on the façade.  Nothing in engine/ imports engine.py.

What adapters can rely on beyond core/backend.py:
- Nested (dynamic) attempts: ``ref`` is ``"<container ref>:<expander ref>"`` (unique in the execution),
  ``extra["local_ref"]`` the expander's own ref, ``parent_attempt_id`` the container attempt's id.
  Expanders: ``engine.register_expander(dialect, fn(resolved_params, spec, execution) -> [TaskSpec])``;
  depends_on and ``${ref...}`` templates of expanded specs name sibling (local) refs.
- Compute tasks, evaluated switch values and loop conditions call the evaluator their params name
  (``params["evaluator"]``): ``engine.register_evaluator(name, fn(resolved_params, data) -> value)``;
  ``fn`` raises ``EvaluationFailed(message, output=...)`` to fail the task and must bound its own time.
- HTTP tasks read method/url/headers/body/timeout_ms from ``params`` and fall back to the attempt's
  input for keys params leave out (so a rerun's task_input can replace the request).  Output:
  ``{"status", "headers", "body"}``; secrets (``${secrets.x}``) are resolved only when sending and
  redacted (``***``) from what is stored.
- A failed execution has ``extra["failed_task"] = {"id", "ref", "status", "reason"}`` (plus ``"child"``
  when that task is a sub-workflow's); one ended by a terminate task has ``extra["terminated_by"] =
  {"id", "ref"}``. A sub-workflow task its child ended has ``extra["child"] = {"id", "name", "version",
  "status", "reason", "failed_task"}``.
- Execution ids default to time-ordered UUIDs (version 7); pass ``execution_id`` to choose another.
- Listeners (``register_listener``) get an ``EngineEvent`` after each commit.  Treat returned model
  objects as read-only; ``Execution.definition`` in particular is a snapshot shared between calls.
- ``wait_until(execution_id, statuses_or_predicate, timeout_s)`` for tests and synchronous APIs.
"""

from wfgateway.engine.engine import Engine
from wfgateway.engine.events import EngineEvent
from wfgateway.engine.store import create_store

__all__ = ["Engine", "EngineEvent", "create_store"]
