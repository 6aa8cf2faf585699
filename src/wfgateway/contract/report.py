"""A contract report for people (text, failures grouped by operation) and for CI (JUnit XML)."""

from __future__ import annotations

import textwrap
import xml.etree.ElementTree as ET
from pathlib import Path

from wfgateway.contract.findings import STATEFUL_LABEL, ContractReport, Finding

_RULE = "-" * 78


def render_text(report: ContractReport, *, max_message_lines: int = 12) -> str:
    """The readable report: a summary, then each failing operation with its checks and curl lines."""
    lines = [
        f"wfgateway contract: {report.dialect} against {report.target}",
        f"spec {report.spec}, seed {report.seed}, {len(report.operations)} operations, "
        f"{sum(report.checks_passed.values())} checks passed, {report.elapsed:.1f}s",
    ]
    if report.phases:
        lines.append("phases: " + ", ".join(f"{name} {status}" for name, status in report.phases.items()))
    if report.stateful_links:
        lines.append(f"stateful: {report.stateful_links}")
    for check, reason in sorted(report.excluded.items()):
        lines.append(f"not run: {check} -- {reason}")
    for check, reason in sorted(report.accepted.items()):
        lines.append(f"per spec: {check} -- {reason}")
    lines += [f"note: {n}" for n in report.notes]
    grouped = report.by_operation()
    lines += summary_table(report)
    if not grouped and not report.errors:
        lines.append("result: PASS (no failures)")
        return "\n".join(lines) + "\n"
    count = len(report.findings)
    lines.append(f"result: FAIL -- {count} distinct failure(s) in {len(grouped)} operation(s)"
                 + (f", {len(report.errors)} error(s)" if report.errors else ""))
    if any("[Filtered]" in c for f in report.findings for c in f.curls):
        lines.append("(credentials in the curl commands are shown as [Filtered]: put your token back to replay them)")
    for operation, findings in grouped.items():
        lines += ["", _RULE, operation, _RULE]
        for f in findings:
            lines += _finding_lines(f, report.occurrences[f.key], max_message_lines)
    if report.errors:
        lines += ["", _RULE, "errors (the run could not check these)", _RULE]
        lines += [f"  {e}" + (f" ({n}x)" if n > 1 else "") for e, n in report.errors.items()]
    return "\n".join(lines) + "\n"


def summary_table(report: ContractReport) -> list[str]:
    """Per operation: checks passed and distinct failures (rich's table, as plain text)."""
    from io import StringIO

    from rich import box
    from rich.console import Console
    from rich.table import Table

    grouped = report.by_operation()
    operations = sorted(report.operations | set(grouped), key=lambda o: (o.split(" ", 1)[-1], o))
    if not operations:
        return []
    table = Table(title=f"{report.dialect}: {len(operations)} operations", title_justify="left", box=box.SIMPLE_HEAD)
    table.add_column("operation")
    table.add_column("checks passed", justify="right")
    table.add_column("failures", justify="right")
    for operation in operations:
        failures = len(grouped.get(operation, []))
        table.add_row(operation, str(report.passed_by_operation.get(operation, 0)), str(failures) if failures else "-")
    out = StringIO()
    Console(file=out, width=110, color_system=None, force_terminal=False).print(table)
    return out.getvalue().rstrip("\n").splitlines()


def _finding_lines(f: Finding, times: int, max_lines: int) -> list[str]:
    status = f" (HTTP {f.status_code})" if f.status_code is not None else ""
    head = f"  [{f.check}] {f.title}{status}, {f.phase} phase" + (f", seen {times}x" if times > 1 else "")
    message = f.message.splitlines()[:max_lines]
    out = [head]
    out += [textwrap.indent(m, "      ") if m else "" for m in message]
    if f.response:
        out.append(f"    response: {f.response}")
    out.append("    reproduce:" if len(f.curls) == 1 else f"    reproduce ({len(f.curls)} requests, in order):")
    out += [f"      {c}" for c in f.curls]
    return out


def write_junit(report: ContractReport, path: Path) -> None:
    """One <testsuite> per dialect, one <testcase> per operation (plus the stateful link run)."""
    grouped = report.by_operation()
    cases = sorted(report.operations | set(grouped))
    if report.phases.get("stateful") or STATEFUL_LABEL in grouped:
        cases = [c for c in cases if c != STATEFUL_LABEL] + [STATEFUL_LABEL]
    suite = ET.Element("testsuite", {
        "name": f"wfgateway-contract-{report.dialect}",
        "tests": str(len(cases)),
        "failures": str(sum(1 for c in cases if c in grouped)),
        "errors": str(1 if report.errors else 0),
        "time": f"{report.elapsed:.3f}",
    })
    properties = ET.SubElement(suite, "properties")
    for name, value in (("target", report.target), ("spec", report.spec), ("seed", str(report.seed))):
        ET.SubElement(properties, "property", {"name": name, "value": value})
    for check, reason in sorted(report.excluded.items()):
        ET.SubElement(properties, "property", {"name": f"not-run:{check}", "value": reason})
    for check, reason in sorted(report.accepted.items()):
        ET.SubElement(properties, "property", {"name": f"per-spec:{check}", "value": reason})
    for case in cases:
        element = ET.SubElement(suite, "testcase", {"classname": f"contract.{report.dialect}", "name": case})
        for f in grouped.get(case, []):
            failure = ET.SubElement(element, "failure", {"type": f.check, "message": f.title})
            response = [f"response (HTTP {f.status_code}): {f.response}"] if f.response else []
            failure.text = "\n".join([f.message, *response, "", "reproduce:", *f.curls])
    if report.errors:
        element = ET.SubElement(suite, "testcase", {"classname": f"contract.{report.dialect}", "name": "run"})
        error = ET.SubElement(element, "error", {"message": "the run could not check everything"})
        error.text = "\n".join(f"{e} ({n}x)" for e, n in report.errors.items())
    suites = ET.Element("testsuites")
    suites.append(suite)
    ET.indent(suites)
    path.parent.mkdir(parents=True, exist_ok=True)
    ET.ElementTree(suites).write(path, encoding="utf-8", xml_declaration=True)
