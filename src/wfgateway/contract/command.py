"""``wfgateway contract``: run a dialect's contract checks against any live target and report.

The target can be this gateway, the real vendor or a staging server: the checks only need a base
URL, the dialect's spec and, when the target requires them, credentials.  Exit status: 0 when every
check passed, 1 when something failed, 2 when the run could not start (bad arguments, no spec).
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
from pathlib import Path

from wfgateway.contract.runner import CHECKS, PHASES, PROFILES, ContractRun, OperationRule

OPEN_TARGET_REASON = ("--open: the target accepts requests without credentials, so checks that expect "
                      "a 401 without them do not apply")


def add_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = sub.add_parser(
        "contract",
        help="check a live target (this gateway, a vendor, a staging server) against a dialect's spec",
        description="Runs Schemathesis (examples, coverage, fuzzing and stateful phases, every check) "
                    "against --url and prints failures grouped by operation, each with a curl command.",
    )
    p.add_argument("--dialect", help="conductor, cognite or altostrat (selects the spec)")
    p.add_argument("--url", help="base URL of the target, e.g. http://127.0.0.1:8080")
    p.add_argument("--print-config", action="store_true",
                   help="print the specs' x-contract notes as a schemathesis.toml (every dialect of --config, "
                        "or --dialect) and exit: plain `schemathesis run` then judges as this command does")
    p.add_argument("--token", help="credential sent as each security scheme of the spec requires "
                                   "(Conductor: X-Authorization token; Cognite, Altostrat: Bearer)")
    p.add_argument("--token-env", metavar="VAR", help="read the credential from this environment variable")
    p.add_argument("--header", action="append", default=[], metavar="'NAME: VALUE'", help="extra header (repeatable)")
    p.add_argument("--open", action="store_true", help="the target runs without credentials: skip the auth checks")
    p.add_argument("--allow-destructive", action="store_true",
                   help="let the run write over and delete what the target already stores (by default it keeps off "
                        "the stored objects the spec's x-contract-data lists, or runs in a throwaway project, and "
                        "deletes what it created)")
    p.add_argument("--skip", action="append", default=[], metavar="CHECK[@OPERATION_ID]=REASON",
                   help="do not run a check (on one operation); the reason is required and printed in the report")
    p.add_argument("--spec", type=Path, help="spec file (default: the dialect's spec from --config)")
    p.add_argument("--config", default="config.yaml", help="config that names the dialect's spec (default config.yaml)")
    p.add_argument("--profile", choices=sorted(PROFILES), default="ci", help="fuzzing depth (default ci)")
    p.add_argument("--max-examples", type=int, help="examples per operation and phase (overrides the profile)")
    p.add_argument("--seed", type=int, help="Hypothesis seed (default: fixed, so runs repeat)")
    p.add_argument("--phases", default=",".join(PHASES), help=f"comma-separated subset of {','.join(PHASES)}")
    p.add_argument("--operation", action="append", default=[], metavar="OPERATION_ID", help="only this operation (repeatable)")
    p.add_argument("--request-timeout", type=float, default=10.0, help="seconds per request (default 10)")
    p.add_argument("--junit", type=Path, metavar="FILE", help="also write JUnit XML here")
    return p


MISSING_SCHEMATHESIS = ("wfgateway contract: Schemathesis is not installed in this environment; install it with "
                        "`pip install 'wfgateway[contract]'` (in a clone of the repository: `make install-test`)")


def run(args: argparse.Namespace) -> int:
    from wfgateway.contract.report import render_text, write_junit
    from wfgateway.contract.runner import run_contract

    try:
        import schemathesis  # noqa: F401 -- an optional dependency (the `contract` extra)
    except ImportError:
        print(MISSING_SCHEMATHESIS, file=sys.stderr)
        return 2
    if args.print_config:
        return _print_config(args)
    if not args.dialect or not args.url:
        print("wfgateway contract: --dialect and --url are required (or --print-config)", file=sys.stderr)
        return 2
    try:
        contract_run = _contract_run(args)
    except ValueError as exc:
        print(f"wfgateway contract: {exc}", file=sys.stderr)
        return 2
    report = run_contract(contract_run)
    print(render_text(report), end="")
    if args.junit:
        write_junit(report, args.junit)
        print(f"JUnit report: {args.junit}")
    return 0 if report.ok else 1


def _print_config(args: argparse.Namespace) -> int:
    from wfgateway.contract.toml_config import schemathesis_toml
    from wfgateway.contract.yaml_documents import load_document

    dialects = [args.dialect] if args.dialect else _configured_dialects(Path(args.config))
    try:
        documents = [load_document(_spec_path(argparse.Namespace(**{**vars(args), "dialect": d})).read_text())
                     for d in dialects]
    except ValueError as exc:
        print(f"wfgateway contract: {exc}", file=sys.stderr)
        return 2
    print(schemathesis_toml(documents), end="")
    return 0


def _configured_dialects(config_path: Path) -> list[str]:
    from wfgateway.config import ConfigError, load_config

    try:
        return list(load_config(config_path).enabled_dialects()) if config_path.is_file() else []
    except ConfigError:
        return []


def _contract_run(args: argparse.Namespace) -> ContractRun:
    phases = tuple(p.strip() for p in args.phases.split(",") if p.strip())
    unknown = [p for p in phases if p not in PHASES]
    if unknown or not phases:
        raise ValueError(f"--phases: choose from {', '.join(PHASES)}")
    token = args.token
    if args.token_env:
        token = os.environ.get(args.token_env)
        if not token:
            raise ValueError(f"--token-env: environment variable {args.token_env} is not set")
    headers: dict[str, str] = {}
    for raw in args.header:
        name, sep, value = raw.partition(":")
        if not sep or not name.strip():
            raise ValueError(f"--header {raw!r}: expected 'Name: value'")
        headers[name.strip()] = value.strip()
    profile = PROFILES[args.profile]
    if args.max_examples:
        profile = dataclasses.replace(profile, max_examples=args.max_examples, stateful_examples=args.max_examples)
    excluded: dict[str, str] = {}
    if args.open:
        excluded = {"ignored_auth": OPEN_TARGET_REASON, "missing_required_header": OPEN_TARGET_REASON}
    extra_rules: list[OperationRule] = []
    for raw in args.skip:
        target, sep, reason = raw.partition("=")
        check, _, operation = target.partition("@")
        if not sep or not reason.strip() or check.strip() not in CHECKS:
            raise ValueError(f"--skip {raw!r}: expected CHECK[@OPERATION_ID]=REASON with a check from "
                             f"{', '.join(CHECKS)} and a reason")
        if operation.strip():
            extra_rules.append(OperationRule(operation.strip(), check.strip(), reason.strip()))
        else:
            excluded[check.strip()] = reason.strip()
    return ContractRun(
        dialect=args.dialect,
        spec_path=_spec_path(args),
        base_url=args.url,
        token=token,
        headers=headers,
        profile=profile,
        seed=args.seed,
        phases=phases,
        excluded=excluded,
        operations=tuple(args.operation),
        extra_rules=tuple(extra_rules),
        request_timeout=args.request_timeout,
        open_target=args.open,
        allow_destructive=args.allow_destructive,
        progress=None,
    )


def _spec_path(args: argparse.Namespace) -> Path:
    """--spec, else the spec config.yaml names for the dialect, else openapi/<dialect>.yaml here, else the
    copy shipped with wfgateway (an installed wheel run from any folder)."""
    if args.spec is not None:
        if not args.spec.is_file():
            raise ValueError(f"--spec {args.spec}: no such file")
        return args.spec
    from wfgateway.config import ConfigError, load_config

    config_path = Path(args.config)
    if config_path.is_file():
        try:
            config = load_config(config_path)
        except ConfigError as exc:
            raise ValueError(str(exc)) from exc
        settings = config.dialects.get(args.dialect)
        if settings is not None:
            path = config.spec_path(args.dialect)
            if path.is_file():
                return path
    fallback = Path("openapi") / f"{args.dialect}.yaml"
    if fallback.is_file():
        return fallback
    from wfgateway.shipped import shipped_file

    shipped = shipped_file(f"openapi/{args.dialect}.yaml")
    if shipped is not None:
        return shipped
    raise ValueError(f"no spec for dialect {args.dialect!r}: pass --spec FILE (or --config naming it)")
