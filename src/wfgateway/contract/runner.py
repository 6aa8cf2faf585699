"""Contract runs: Schemathesis checks one dialect's spec against a live target or an in-process app.

Why Schemathesis' Python API (``schemathesis.openapi.from_path`` + its engine) and not a shell-out
to ``schemathesis run``: the engine is what the CLI itself drives, so the four phases (examples,
coverage, fuzzing, stateful links) and every check behave exactly as in the CLI, while we keep the
structured results -- each failed check with its operation, message and curl reproduction -- to
group, print and write as JUnit without parsing text output.  The same entry point runs the test
suite in process (an ASGI app instead of a URL), so CI and ``wfgateway contract`` check one thing.
"""

from __future__ import annotations

import itertools
import time
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from wfgateway.contract.findings import ContractReport, collect_failures
from wfgateway.contract.guard import DataGuard
from wfgateway.contract.open_mode import open_security
from wfgateway.contract.progress import with_progress
from wfgateway.contract.yaml_documents import load_document

# Every check Schemathesis 4.x has that applies to a single-identity OpenAPI run.
# ``object_level_authorization`` needs two identities and ``max_response_time`` a limit: both are
# left to Schemathesis' own defaults (inactive without that input).
CHECKS = (
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_headers_conformance",
    "response_schema_conformance",
    "negative_data_rejection",
    "positive_data_acceptance",
    "missing_required_header",
    "unsupported_method",
    "allow_header_conformance",
    "use_after_free",
    "ensure_resource_availability",
    "ignored_auth",
)
PHASES = ("examples", "coverage", "fuzzing", "stateful")


@dataclass(frozen=True)
class FuzzProfile:
    """How hard a contract run fuzzes: examples per operation and phase, stateful scenario size.

    ``coverage_cap`` bounds the coverage phase: at most that many cases per operation, scenario kind
    and location (the first, simplest ones).  Coverage enumerates combinations, and a body such as an
    array of workflow definitions whose tasks are an ``anyOf`` of task types yields tens of thousands
    of "valid array" variants; the cap keeps every kind of coverage case (boundaries, wrong types,
    missing fields, unexpected methods...) while dropping that tail.  ``None``: no cap.
    """

    name: str
    max_examples: int
    stateful_examples: int
    stateful_steps: int
    differential_examples: int
    coverage_cap: int | None = None
    positive_coverage_limit: int | None = None  # see _crowded_positive_coverage
    seed: int = 20240611


PROFILES = {
    "ci": FuzzProfile("ci", max_examples=10, stateful_examples=15, stateful_steps=8, differential_examples=5,
                      coverage_cap=40, positive_coverage_limit=2000),
    "deep": FuzzProfile("deep", max_examples=300, stateful_examples=200, stateful_steps=12,
                        differential_examples=150, coverage_cap=None),
}


@dataclass
class ContractRun:
    """What to check and against what.

    ``base_url`` targets a live server; ``app`` an ASGI app in this process (tests).  ``token`` is
    sent the way each security scheme of the spec says (``apiKey`` header or ``Bearer``).
    ``excluded`` maps a check name to the written reason it does not apply to this whole run
    (per-operation reasons live in the spec, see ``operation_rules``).
    """

    dialect: str
    spec_path: Path
    base_url: str | None = None
    app: Any = None
    token: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    profile: FuzzProfile = PROFILES["ci"]
    seed: int | None = None
    phases: tuple[str, ...] = PHASES
    excluded: dict[str, str] = field(default_factory=dict)
    operations: tuple[str, ...] = ()  # operationIds to run; empty = all
    request_timeout: float = 10.0
    max_failures: int | None = None
    document: dict[str, Any] | None = None  # the spec, when it is not read from spec_path
    extra_rules: tuple[OperationRule, ...] = ()  # per-operation exceptions beyond the spec's, each with its reason
    open_target: bool = False  # the target needs no credentials: check the spec as open mode serves it
    allow_destructive: bool = False  # a live target: may the run touch what is already stored there?
    progress: bool | None = False  # progress bars on stderr; None: when stderr is a terminal


@dataclass(frozen=True)
class OperationRule:
    """A check that does not apply to one operation as written, or accepts more statuses, and why."""

    operation_id: str
    check: str
    reason: str
    statuses: tuple[str, ...] = ()  # empty: the check is skipped; else: the statuses it accepts


def run_contract(run: ContractRun) -> ContractReport:
    """Run every phase and check of ``run`` and collect what failed, grouped by operation."""
    import schemathesis
    from schemathesis.engine import from_schema
    from schemathesis.schemas import BaseSchema

    document = run.document if run.document is not None else load_document(run.spec_path.read_text())
    if run.open_target:
        document = open_security(document)
    rules = operation_rules(document) + list(run.extra_rules)
    crowded = (_crowded_positive_coverage(document, run.profile.positive_coverage_limit)
               if "coverage" in run.phases else [])
    config = schemathesis_config(run, document, rules, negative_coverage_only=crowded)
    schema: BaseSchema = schemathesis.openapi.from_dict(document, config=config)
    if run.app is not None:
        schema.app = run.app  # Schemathesis' ASGI transport: requests go straight into the app
    if run.operations:
        # An exclude, not an include: Schemathesis ORs includes, and per-operation config adds one.
        others = [op for op, _m, _p in spec_operations(document) if op not in run.operations]
        if others:
            schema = schema.exclude(operation_id=others)
    dropped = _cap_coverage(schema, run.profile.coverage_cap)
    _pin_waits(schema, document)
    started = time.monotonic()
    report = ContractReport(
        dialect=run.dialect,
        target=run.base_url or "in-process app",
        spec=str(run.spec_path),
        seed=config.seed,
        excluded={**run.excluded, **{f"{r.check} on {r.operation_id}": r.reason for r in rules if not r.statuses}},
        accepted={f"{r.check} on {r.operation_id} also accepts {', '.join(r.statuses)}": r.reason
                  for r in rules if r.statuses},
    )
    guard = _data_guard(run, document)
    guard_hook = _GuardHook(guard) if guard is not None else None
    try:
        operations = len(run.operations) or sum(1 for _ in spec_operations(document))
        events = with_progress(from_schema(schema).execute(), run.dialect, operations, enabled=run.progress)
        collect_failures(events, report)
    finally:
        if guard is not None:
            guard_hook.release()  # type: ignore[union-attr]
            report.notes += guard.clean_up()
            guard.client.close()
    report.elapsed = time.monotonic() - started
    if crowded:
        report.notes.append(f"coverage phase: positive cases of {', '.join(crowded)} not generated (more than "
                            f"{run.profile.positive_coverage_limit} variants each; profile {run.profile.name} sends "
                            "their negative coverage, examples and fuzzing; a profile without the limit sends all)")
    if dropped:
        report.notes.append(f"coverage phase: {sum(dropped.values())} cases beyond {run.profile.coverage_cap} per "
                            f"operation and scenario not sent (profile {run.profile.name}; a profile without a cap "
                            "sends all, as the command's `deep`)")
    return report


def _pin_waits(schema: Any, document: Mapping[str, Any]) -> None:
    """``x-contract: {pin: {query: {name: value}, header: {name: value}}}`` on an operation: generated
    cases send ``value`` for that query parameter or header whenever they would send a valid one (or
    none), so an operation that waits as long as it is asked (a synchronous execute) answers within the
    run's request timeout.  Cases that send an invalid value (negative data) keep it."""
    pins: dict[str, dict[str, dict[str, Any]]] = {}  # operation label -> location -> name -> value
    limits: dict[tuple[str, str, str], dict[str, Any]] = {}
    for _op_id, method, path in spec_operations(document):
        op = document["paths"][path][method.lower()]
        pinned = ((op.get("x-contract") or {}).get("pin") or {})
        if not pinned:
            continue
        label = f"{method} {path}"
        pins[label] = {where: dict(values) for where, values in pinned.items() if where in ("query", "header")}
        for param in op.get("parameters") or []:
            if isinstance(param, dict) and param.get("name") in pinned.get(param.get("in"), {}):
                limits[(label, param["in"], param["name"])] = param.get("schema") or {}
    if not pins:
        return

    def valid(value: Any, limit: Mapping[str, Any]) -> bool:
        if value is None:
            return True
        try:
            number = int(value)
        except (TypeError, ValueError):
            return False
        return limit.get("minimum", number) <= number <= limit.get("maximum", number)

    def map_case(context: Any, case: Any) -> Any:
        pinned = pins.get(case.operation.label)
        if not pinned:
            return case
        for where, values in pinned.items():
            sent = dict((case.query if where == "query" else case.headers) or {})
            for name, value in values.items():
                if valid(sent.get(name), limits.get((case.operation.label, where, name), {})):
                    sent[name] = value if where == "query" else str(value)
            if where == "query":
                case.query = sent
            else:
                case.headers = sent
        return case

    schema.hook(map_case)


def _data_guard(run: ContractRun, document: Mapping[str, Any]) -> DataGuard | None:
    """The guard of a live run (see guard.py), its inventory taken; None in process or when allowed."""
    if run.base_url is None or run.allow_destructive:
        return None
    headers = dict(run.headers)
    if run.token:
        headers.update(_credential_headers(document, run.token))
    client = httpx.Client(base_url=run.base_url.rstrip("/"), headers=headers, timeout=run.request_timeout)
    guard = DataGuard.for_spec(document, client)
    if guard is None:
        client.close()
        return None
    guard.take_inventory()
    return guard


class _GuardHook:
    """The guard as Schemathesis' ``before_call`` hook: the one hook every phase's requests pass,
    the stateful phase's included (``filter_case`` is not consulted there)."""

    def __init__(self, guard: DataGuard) -> None:
        from schemathesis.hooks import GLOBAL_HOOK_DISPATCHER

        def before_call(context: Any, case: Any, kwargs: Any) -> None:
            guard.guard_case(case)

        self._dispatcher = GLOBAL_HOOK_DISPATCHER
        self._hook = before_call
        self._dispatcher.register_hook_with_name(before_call, "before_call")

    def release(self) -> None:
        self._dispatcher.unregister(self._hook)


def _credential_headers(document: Mapping[str, Any], token: str) -> dict[str, str]:
    """The token as request headers, the way the spec's security schemes take it."""
    schemes = (document.get("components") or {}).get("securitySchemes") or {}
    for scheme in schemes.values():
        if scheme.get("type") == "apiKey" and scheme.get("in") == "header":
            return {str(scheme["name"]): token}
    return {"Authorization": f"Bearer {token}"}


def _cap_coverage(schema: Any, cap: int | None) -> Counter[str]:
    """Install the coverage cap on ``schema``; returns the (live) count of dropped cases per operation."""
    dropped: Counter[str] = Counter()
    if cap is None:
        return dropped
    seen: Counter[tuple[str, str, str]] = Counter()

    def filter_case(context: Any, case: Any) -> bool:
        meta = case.meta
        if meta is None or str(meta.phase.name) != "coverage":
            return True
        data = meta.phase.data
        key = (case.operation.label, str(getattr(data, "scenario", "")), str(getattr(data, "parameter_location", "")))
        seen[key] += 1
        if seen[key] > cap:
            dropped[case.operation.label] += 1
            return False
        return True

    schema.hook(filter_case)
    return dropped


def _crowded_positive_coverage(document: Mapping[str, Any], limit: int | None) -> list[str]:
    """Operation ids whose coverage phase would generate more than ``limit`` positive cases.

    A body whose arrays hold an ``anyOf`` of many object shapes (a workflow definition's tasks) yields
    tens of thousands of positive variants; the coverage cap sends 40 of them per scenario, but every one
    is still built as a Schemathesis case first -- most of a CI run's time.  Counting stops at
    ``limit + 1`` (milliseconds per operation).  The count uses Schemathesis' coverage generator, an
    internal module: if it moves, nothing is limited and the run is only slower."""
    if limit is None:
        return []
    try:
        import schemathesis
        from schemathesis import GenerationMode
        from schemathesis.config import GenerationConfig
        from schemathesis.specs.openapi.coverage._operation import iter_coverage_cases
    except ImportError:
        return []
    crowded = []
    from schemathesis.core.result import Ok

    for result in schemathesis.openapi.from_dict(dict(document)).get_all_operations():
        if not isinstance(result, Ok):
            continue  # an operation Schemathesis cannot read is reported by the run itself
        operation = result.ok()
        cases = iter_coverage_cases(operation=operation, generation_modes=[GenerationMode.POSITIVE],
                                    generate_duplicate_query_parameters=False, unexpected_methods=set(),
                                    generation_config=GenerationConfig())
        if sum(1 for _ in itertools.islice(cases, limit + 1)) > limit:
            crowded.append(str(operation.definition.raw.get("operationId") or operation.label))
    return crowded


def schemathesis_config(run: ContractRun, document: Mapping[str, Any], rules: Iterable[OperationRule] = (),
                        negative_coverage_only: Iterable[str] = ()) -> Any:
    """The Schemathesis configuration of a run (the same dict a ``schemathesis.toml`` would hold)."""
    from schemathesis.config import SchemathesisConfig

    profile = run.profile
    checks: dict[str, Any] = {name: {"enabled": name not in run.excluded} for name in CHECKS}
    data: dict[str, Any] = {
        "seed": run.seed if run.seed is not None else profile.seed,
        "workers": 1,
        "request-timeout": run.request_timeout,
        "checks": checks,
        "generation": {"mode": "all", "max-examples": profile.max_examples, "database": "none"},
        "phases": {
            **{p: {"enabled": p in run.phases} for p in PHASES if p != "stateful"},
            "stateful": {
                "enabled": "stateful" in run.phases,
                "max-steps": profile.stateful_steps,
                # Only the links the spec declares: the issue asks for sequences through OpenAPI links.
                "inference": {"algorithms": []},
                "generation": {"max-examples": profile.stateful_examples},
            },
        },
        "warnings": False,
        "analysis": {"constants": {"enabled": False}},
        # Schemathesis would otherwise replay observations it cached from earlier runs (in ./.schemathesis):
        # a seeded run must send the same requests every time.
        "cache": {"enabled": False},
    }
    if run.max_failures:
        data["max-failures"] = run.max_failures
    if run.base_url:
        data["base-url"] = run.base_url.rstrip("/")
    if run.headers:
        data["headers"] = dict(run.headers)
    if run.token:
        data["auth"] = {"openapi": _credentials(document, run.token)}
    per_operation: dict[str, dict[str, Any]] = {}
    for rule in rules:
        checks_of = per_operation.setdefault(rule.operation_id, {}).setdefault("checks", {})
        checks_of[rule.check] = {"expected-statuses": list(rule.statuses)} if rule.statuses else {"enabled": False}
    for op in negative_coverage_only:
        per_operation.setdefault(op, {})["phases"] = {"coverage": {"generation": {"mode": "negative"}}}
    if per_operation:
        data["operations"] = [{"include-operation-id": op, **c} for op, c in per_operation.items()]
    return SchemathesisConfig.from_dict(data)


def _credentials(document: Mapping[str, Any], token: str) -> dict[str, Any]:
    """The token for every security scheme of the spec, in the form that scheme takes."""
    schemes = (document.get("components") or {}).get("securitySchemes") or {}
    out: dict[str, Any] = {}
    for name, scheme in schemes.items():
        kind = scheme.get("type")
        if kind == "apiKey":
            out[name] = {"api_key": token}
        elif kind == "http" and str(scheme.get("scheme", "")).lower() == "bearer":
            out[name] = {"bearer": token}
        elif kind in ("oauth2", "openIdConnect"):
            out[name] = {"bearer": token}
    if not out:
        raise ValueError("the spec declares no apiKey or bearer security scheme to send --token with")
    return out


def spec_operations(document: Mapping[str, Any]) -> Iterable[tuple[str, str, str]]:
    """(operationId, METHOD, path) of every operation of a spec document."""
    for path, item in (document.get("paths") or {}).items():
        for method, op in item.items():
            if method in ("get", "put", "post", "delete", "patch", "head", "options") and isinstance(op, dict):
                yield op.get("operationId", f"{method} {path}"), method.upper(), path


def operation_rules(document: Mapping[str, Any]) -> list[OperationRule]:
    """Per-operation check rules: written in the spec, plus one the gateway's routing implies.

    In the spec, an operation may carry (each entry with its reason; a skipped ``use_after_free`` on
    a DELETE is skipped on the GETs of the same path and of the paths below it too, where
    Schemathesis evaluates it: ``/status`` of a terminated workflow is as readable as the workflow)::

        x-contract:
          skip: {use_after_free: "DELETE terminates; the execution stays readable, as at the vendor"}
          accept: {positive_data_acceptance: {statuses: ["2xx", "400"], reason: "..."}}

    Routing: when a literal path (``/api/workflow/search``) is also matched by a sibling template
    (``/api/workflow/{workflowId}``), the ``Allow`` header of a 405 rightly lists the sibling's
    methods too (they do serve that URL, as at the vendor), so ``allow_header_conformance``, which
    compares ``Allow`` with one path item only, does not apply to it.
    """
    rules: list[OperationRule] = []
    methods = _methods_by_path(document)
    for op_id, _method, path in spec_operations(document):
        op = document["paths"][path][_method.lower()]
        spec_rules = op.get("x-contract") or {}
        for check, reason in (spec_rules.get("skip") or {}).items():
            rules.append(OperationRule(op_id, check, str(reason)))
            if check == "use_after_free":
                # Schemathesis judges it on the read that follows the DELETE: skip it there too.
                rules += [OperationRule(other, check, f"{reason} (the read after {op_id})")
                          for other, m, p in spec_operations(document)
                          if m == "GET" and (p == path or p.startswith(path + "/"))]
        for check, accept in (spec_rules.get("accept") or {}).items():
            rules.append(OperationRule(op_id, check, str(accept.get("reason", "")),
                                       tuple(str(s) for s in accept.get("statuses", []))))
        shadows = [other for other in methods if other != path and _matches(other, path)
                   and not methods[other] <= methods[path]]
        if shadows:
            rules.append(OperationRule(
                op_id, "allow_header_conformance",
                f"its URLs are also served by {', '.join(shadows)}, whose methods Allow rightly lists",
            ))
    return rules


def _methods_by_path(document: Mapping[str, Any]) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for _op_id, method, path in spec_operations(document):
        out.setdefault(path, set()).add(method)
    return out


def _matches(template: str, path: str) -> bool:
    """Whether every URL of ``path`` (a template too) is also matched by ``template``."""
    a, b = template.strip("/").split("/"), path.strip("/").split("/")
    if len(a) != len(b):
        return False
    return all(t.startswith("{") or t == p for t, p in zip(a, b, strict=True))
