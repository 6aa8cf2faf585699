"""Cognite workflow definitions -> canonical task specs (and the definition hash Cognite reports).

Task types map onto engine kinds:

- ``function`` with an endpoint in ``settings.functions[xid].url`` and no ``isAsyncComplete``: an
  ``http`` task POSTing the function's ``data``; otherwise a ``wait`` task that stays IN_PROGRESS
  until ``tasks/{id}/update`` completes it (Cognite's asynchronous completion).
- ``cdf``: an ``http`` request to ``settings.cdf_base_url + resourcePath``; without a configured
  ``cdf_base_url`` a ``wait`` task that tasks update completes (the gateway has no CDF to call).
- ``transformation``: an ``http`` POST to ``settings.transformations[xid].url``; without an
  endpoint a ``wait`` task (completed through tasks update).
- ``dynamic``: a ``dynamic`` task whose ``tasks`` reference resolves at run time to a list of
  Cognite task definitions, expanded by :func:`expand_dynamic` (registered as the "cognite" expander).
- ``subworkflow``: a reference ``{workflowExternalId, version}`` -> ``subworkflow`` by name; inline
  ``tasks`` -> ``subworkflow`` with an embedded definition.

``retries`` (0..10, default 3), ``timeout`` (seconds, default 3600), ``onFailure: skipTask``
(optional task) and ``dependsOn`` (edges) carry over.  The Cognite JSON of each task is kept in
``TaskSpec.extra["cognite"]`` so that versions and executions render back exactly.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

from wfgateway.adapters.cognite import outputs
from wfgateway.adapters.cognite.limits import MAX_EXECUTION_MS

from wfgateway.core.errors import InvalidArgument
from wfgateway.core.model import DYNAMIC, HTTP, SUBWORKFLOW, WAIT, Edge, TaskSpec, WorkflowDefinition
from wfgateway.exact_json import dumps

DIALECT = "cognite"
DEFAULT_RETRIES = 3
DEFAULT_TIMEOUT_S = 3600
NESTED_FORBIDDEN = frozenset({"dynamic", "subworkflow"})
_TEMPLATE = re.compile(r"\$\{([^{}]*)\}")


def normalize_task(task: Mapping[str, Any]) -> dict[str, Any]:
    """A task definition as Cognite answers it: defaults filled in, nulls dropped."""
    out: dict[str, Any] = {"externalId": task["externalId"], "type": task["type"]}
    for opt in ("name", "description"):
        if task.get(opt) is not None:
            out[opt] = task[opt]
    params = dict(task.get("parameters") or {})
    if task["type"] == "function":
        params["isAsyncComplete"] = bool(params.get("isAsyncComplete") or False)
    elif task["type"] == "subworkflow" and "tasks" in (params.get("subworkflow") or {}):
        params["subworkflow"] = {"tasks": [normalize_task(t) for t in params["subworkflow"]["tasks"]]}
    out["parameters"] = params
    out["retries"] = DEFAULT_RETRIES if task.get("retries") is None else int(task["retries"])
    out["timeout"] = DEFAULT_TIMEOUT_S if task.get("timeout") is None else int(task["timeout"])
    out["onFailure"] = task.get("onFailure") or "abortWorkflow"
    out["dependsOn"] = [{"externalId": d["externalId"]} for d in (task.get("dependsOn") or [])]
    return out


def definition_hash(tasks: list[dict[str, Any]], description: str | None) -> str:
    """Uppercase hex SHA-1 of the (normalised) tasks and the description, as Cognite reports it."""
    canonical = dumps({"description": description, "tasks": tasks}, sort_keys=True)
    return hashlib.sha1(canonical).hexdigest().upper()


def normalize_definition(definition: Mapping[str, Any]) -> dict[str, Any]:
    """``workflowDefinition`` as Cognite answers it (with ``hash``)."""
    tasks = [normalize_task(t) for t in definition.get("tasks") or []]
    description = definition.get("description")
    out: dict[str, Any] = {"hash": definition_hash(tasks, description)}
    if description is not None:
        out["description"] = description
    out["tasks"] = tasks
    return out


class Translator:
    """Turns normalised Cognite tasks into engine task specs, with the gateway's endpoints."""

    def __init__(self, settings: Mapping[str, Any]) -> None:
        self.functions: Mapping[str, Any] = settings.get("functions") or {}
        self.transformations: Mapping[str, Any] = settings.get("transformations") or {}
        self.cdf_base_url: str | None = settings.get("cdf_base_url")

    def definition(self, project: str, workflow_xid: str, version: str,
                   normalized: Mapping[str, Any]) -> WorkflowDefinition:
        tasks = list(normalized["tasks"])
        return WorkflowDefinition(
            tenant=project, name=workflow_xid, version=version, tasks=self.tasks(tasks, nested=False),
            description=normalized.get("description"), dialect=DIALECT, timeout_ms=MAX_EXECUTION_MS,
            extra={"cognite": {"workflowDefinition": dict(normalized)}},
        )

    def tasks(self, tasks: list[dict[str, Any]], *, nested: bool,
              outer_backing: Mapping[str, str] | None = None) -> list[TaskSpec]:
        """Specs for one scope (a definition, an inline subworkflow or a dynamic expansion)."""
        seen: set[str] = set()
        for t in tasks:
            if t["externalId"] in seen:
                raise InvalidArgument(f"Task externalId '{t['externalId']}' is duplicated in the workflow definition")
            seen.add(t["externalId"])
            if nested and t["type"] in NESTED_FORBIDDEN:
                raise InvalidArgument(f"Task '{t['externalId']}': {t['type']} tasks cannot be nested in a "
                                      "subworkflow or dynamic task")
        for t in tasks:
            for dep in t["dependsOn"]:
                if dep["externalId"] not in seen:
                    raise InvalidArgument(f"Task '{t['externalId']}' depends on unknown task '{dep['externalId']}'")
        backing = dict(outer_backing or {})
        backing.update({t["externalId"]: self.backing(t) for t in tasks})
        return [self.task(t, backing) for t in tasks]

    def backing(self, task: Mapping[str, Any]) -> str:
        """How the engine runs the task: "http", "wait" or the container kinds."""
        kind = task["type"]
        params = task["parameters"]
        if kind == "function":
            endpoint = self._endpoint(self.functions, params["function"]["externalId"])
            return HTTP if endpoint and not params.get("isAsyncComplete") else WAIT
        if kind == "transformation":
            return HTTP if self._endpoint(self.transformations, params["transformation"]["externalId"]) else WAIT
        if kind == "cdf":
            return HTTP if self.cdf_base_url else WAIT
        if kind == "dynamic":
            return DYNAMIC
        if kind == "subworkflow":
            return SUBWORKFLOW
        raise InvalidArgument(f"Task '{task['externalId']}': task type '{kind}' is not supported by this gateway")

    def task(self, task: dict[str, Any], backing: Mapping[str, str]) -> TaskSpec:
        xid, kind, params = task["externalId"], task["type"], task["parameters"]
        engine_kind = backing[xid]
        rewritten = rewrite_templates(params, backing)
        spec = TaskSpec(
            ref=xid, kind=engine_kind, name=task.get("name") or xid,
            depends_on=[Edge(d["externalId"]) for d in task["dependsOn"]],
            # resolved at schedule time, so executed tasks show their actual input; inline
            # sub-workflow tasks reference their own scope and are rendered from ``extra`` instead
            input={} if kind == "subworkflow" else {"parameters": rewritten},
            # a container is never re-run as a whole: its nested tasks carry their own retries
            retries=0 if engine_kind in (DYNAMIC, SUBWORKFLOW) else task["retries"],
            timeout_ms=task["timeout"] * 1000,
            optional=task["onFailure"] == "skipTask",
            # abortWorkflow: a timeout is not retried and fails the workflow (skipTask retries it)
            timeout_policy="retry" if task["onFailure"] == "skipTask" else "fail",
            extra={"cognite": {"type": kind, "backing": engine_kind, "task": task}},
        )
        if kind == "function":
            spec.params = self._function_params(rewritten) if engine_kind == HTTP else {}
        elif kind == "transformation":
            spec.params = self._transformation_params(rewritten) if engine_kind == HTTP else {}
        elif kind == "cdf":
            spec.params = self._cdf_params(xid, rewritten["cdfRequest"]) if engine_kind == HTTP else {}
        elif kind == "dynamic":
            spec.params = {"tasks": rewritten["dynamic"]["tasks"], "expander": DIALECT}
        elif kind == "subworkflow":
            spec.params = self._subworkflow_params(task)
        return spec

    def _function_params(self, params: Mapping[str, Any]) -> dict[str, Any]:
        fn = params["function"]
        data = fn.get("data")
        return {"method": "POST", "url": self._endpoint(self.functions, fn["externalId"]),
                "headers": {"content-type": "application/json"}, "body": {} if data is None else data}

    def _transformation_params(self, params: Mapping[str, Any]) -> dict[str, Any]:
        tr = params["transformation"]
        return {"method": "POST", "url": self._endpoint(self.transformations, tr["externalId"]),
                "headers": {"content-type": "application/json"}, "body": dict(tr)}

    def _cdf_params(self, xid: str, request: Mapping[str, Any]) -> dict[str, Any]:
        if not self.cdf_base_url:
            raise InvalidArgument(f"Task '{xid}': cdf tasks need dialects.cognite.cdf_base_url in the gateway config")
        url = self.cdf_base_url.rstrip("/") + "/" + str(request["resourcePath"]).lstrip("/")
        query = request.get("queryParameters")
        if isinstance(query, Mapping) and query:
            url += "?" + "&".join(f"{quote(str(k), safe='${}.')}={quote(str(v), safe='${}.')}"
                                  for k, v in query.items())
        out: dict[str, Any] = {"method": str(request["method"]).upper(), "url": url,
                               "headers": {"content-type": "application/json"}}
        if request.get("cdfVersionHeader"):
            out["headers"]["cdf-version"] = request["cdfVersionHeader"]
        body = request.get("body")
        if body is not None and (body != {} or out["method"] not in ("GET", "DELETE")):
            out["body"] = body
        timeout = request.get("requestTimeoutInMillis")
        if isinstance(timeout, int):
            out["timeout_ms"] = timeout
        return out

    def _subworkflow_params(self, task: Mapping[str, Any]) -> dict[str, Any]:
        sub = task["parameters"]["subworkflow"]
        if "tasks" in sub:
            specs = self.tasks(list(sub["tasks"]), nested=True)
            return {"definition": {"name": task["externalId"], "version": "inline",
                                   "tasks": [spec_dict(s) for s in specs], "dialect": DIALECT},
                    "input": "${workflow.input}"}
        return {"name": sub["workflowExternalId"], "version": sub["version"], "input": "${workflow.input}"}

    @staticmethod
    def _endpoint(table: Mapping[str, Any], xid: str) -> str | None:
        entry = table.get(xid)
        if isinstance(entry, Mapping):
            return entry.get("url") or None
        return entry if isinstance(entry, str) and entry else None


def spec_dict(s: TaskSpec) -> dict[str, Any]:
    """A spec as the plain dict an embedded (inline) sub-workflow definition carries."""
    return {"ref": s.ref, "kind": s.kind, "name": s.name, "depends_on": [[e.ref, e.branch] for e in s.depends_on],
            "input": s.input, "params": s.params, "retries": s.retries, "timeout_ms": s.timeout_ms,
            "optional": s.optional, "timeout_policy": s.timeout_policy, "extra": s.extra}


def rewrite_templates(value: Any, backing: Mapping[str, str]) -> Any:
    """Cognite ``${ref.output.response...}`` of an http-backed task -> the engine's http output path.

    ``${workflow.input...}`` and references to wait-backed tasks (whose output is what tasks update
    stored) keep their form: the engine's syntax is the same."""
    if isinstance(value, str):
        if "${" not in value:
            return value
        return _TEMPLATE.sub(lambda m: "${" + _rewrite_expr(m.group(1), backing) + "}", value)
    if isinstance(value, dict):
        return {k: rewrite_templates(v, backing) for k, v in value.items()}
    if isinstance(value, list):
        return [rewrite_templates(v, backing) for v in value]
    return value


def _rewrite_expr(expr: str, backing: Mapping[str, str]) -> str:
    parts = expr.strip().split(".")
    if len(parts) >= 3 and parts[1] == "output" and backing.get(parts[0]) == HTTP:
        mapped = outputs.engine_path(parts[2])
        if mapped is not None:
            return ".".join([parts[0], "output", *mapped, *parts[3:]])
    return expr.strip()


def expand_dynamic(translator: Translator, value: Any, outer: list[TaskSpec] | None = None) -> list[TaskSpec]:
    """The "cognite" dynamic expander: a resolved list of Cognite task definitions -> task specs.

    ``outer`` (the definition's specs) tells how the tasks a nested template may reference run."""
    if not isinstance(value, list):
        raise InvalidArgument("The dynamic task's tasks reference did not resolve to a list of task definitions")
    normalized = []
    for i, t in enumerate(value):
        if not isinstance(t, Mapping) or not isinstance(t.get("externalId"), str) or "type" not in t:
            raise InvalidArgument(f"Dynamic task definition #{i} needs at least externalId and type")
        if not isinstance(t.get("parameters"), Mapping):
            raise InvalidArgument(f"Dynamic task '{t['externalId']}' needs parameters")
        try:
            normalized.append(normalize_task(t))
        except (KeyError, TypeError, ValueError) as exc:
            raise InvalidArgument(f"Dynamic task '{t['externalId']}' is malformed: {exc!r}") from exc
    outer_backing = {s.ref: s.extra.get("cognite", {}).get("backing", s.kind) for s in outer or []}
    try:
        return translator.tasks(normalized, nested=True, outer_backing=outer_backing)
    except (KeyError, TypeError, AttributeError) as exc:
        raise InvalidArgument(f"A dynamic task definition lacks a required parameter: {exc!r}") from exc
