"""What a contract run found: failed checks grouped by operation, each with a curl reproduction.

Built from Schemathesis engine events, independent of how they are printed (report.py).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

STATEFUL_LABEL = "Stateful tests"


@dataclass(frozen=True)
class Finding:
    """One distinct failed check: the operation, the check, what was wrong and how to reproduce it."""

    operation: str  # "METHOD /path" (Schemathesis' label)
    check: str
    title: str
    message: str
    curls: tuple[str, ...]  # every request needed to reproduce, oldest first
    phase: str
    status_code: int | None = None
    response: str = ""  # the start of the response body that failed the check

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.operation, self.check, self.title)


@dataclass
class ContractReport:
    dialect: str
    target: str
    spec: str
    seed: int | None = None
    findings: list[Finding] = field(default_factory=list)
    occurrences: Counter[tuple[str, str, str]] = field(default_factory=Counter)
    operations: set[str] = field(default_factory=set)
    checks_passed: Counter[str] = field(default_factory=Counter)
    passed_by_operation: Counter[str] = field(default_factory=Counter)  # "METHOD /path" -> checks passed
    errors: Counter[str] = field(default_factory=Counter)  # message -> times
    phases: dict[str, str] = field(default_factory=dict)
    excluded: dict[str, str] = field(default_factory=dict)  # check (on operation) not run -> why
    accepted: dict[str, str] = field(default_factory=dict)  # check with widened statuses -> why
    stateful_links: str = ""
    notes: list[str] = field(default_factory=list)
    stop_reason: str = ""
    elapsed: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.findings and not self.errors

    def add(self, finding: Finding) -> None:
        if finding.key not in self.occurrences:
            self.findings.append(finding)
        self.occurrences[finding.key] += 1

    def by_operation(self) -> dict[str, list[Finding]]:
        grouped: dict[str, list[Finding]] = {}
        for f in sorted(self.findings, key=lambda f: (f.operation, f.check)):
            grouped.setdefault(f.operation, []).append(f)
        return grouped


def collect_failures(events: Iterable[Any], report: ContractReport) -> None:
    """Consume the engine's event stream into ``report``."""
    from schemathesis.engine import Status
    from schemathesis.engine import events as ev

    for event in events:
        if isinstance(event, ev.ScenarioFinished):
            _scenario(event.recorder, str(event.phase), report)
            if event.status == Status.ERROR and not event.recorder.checks:
                report.errors[f"{event.recorder.label}: scenario error"] += 1
        elif isinstance(event, ev.NonFatalError):
            report.errors[f"{event.label}: {_error_text(event)}"] += 1
        elif isinstance(event, ev.FatalError):
            report.errors[f"fatal: {type(event.exception).__name__}: {event.exception}"] += 1
        elif isinstance(event, ev.PhaseStarted) and event.payload is not None:
            p = event.payload
            report.stateful_links = (f"{p.transitions_selected} of {p.transitions_total} links selected "
                                     f"({p.inferred_transitions} inferred)")
        elif isinstance(event, ev.PhaseFinished):
            report.phases[str(event.phase.name)] = str(event.status)
        elif isinstance(event, ev.EngineFinished):
            report.stop_reason = str(event.stop_reason)


def _scenario(recorder: Any, phase: str, report: ContractReport) -> None:
    label = recorder.label
    if label != STATEFUL_LABEL:
        report.operations.add(label)
    for case_id, checks in recorder.checks.items():
        for check in checks:
            info = check.failure_info
            if info is None:
                if check.status == "success":
                    report.checks_passed[check.name] += 1
                    report.passed_by_operation[_case_label(recorder, case_id) or label] += 1
                continue
            failure = info.failure
            operation = failure.operation or _case_label(recorder, case_id) or label
            curls = tuple(step.curl for step in info.steps) or (info.code_sample,)
            report.add(Finding(
                operation=operation,
                check=check.name,
                title=failure.title or type(failure).__name__,
                message=(failure.message or "").strip(),
                curls=curls,
                phase=phase,
                status_code=_status(recorder, failure.case_id or case_id),
                response=_body(recorder, failure.case_id or case_id),
            ))


def _case_label(recorder: Any, case_id: str) -> str | None:
    node = recorder.cases.get(case_id)
    return node.value.operation.label if node is not None else None


def _status(recorder: Any, case_id: str) -> int | None:
    interaction = recorder.interactions.get(case_id)
    if interaction is None or interaction.response is None:
        return None
    return int(interaction.response.status_code)


def _body(recorder: Any, case_id: str, limit: int = 400) -> str:
    interaction = recorder.interactions.get(case_id)
    if interaction is None or interaction.response is None:
        return ""
    content = interaction.response.content or b""
    text = content[:limit].decode("utf-8", "replace")
    return text + ("..." if len(content) > limit else "")


def _error_text(event: Any) -> str:
    info = getattr(event, "info", None)
    for attr in ("message", "title"):
        text = getattr(info, attr, None)
        if text:
            return str(text).splitlines()[0][:300]
    return repr(getattr(event, "value", event))[:300]
