"""Issue bar: a validated request answered by a trivial backend reaches >= 50% of a hello-JSON
Starlette app's requests/s, both under the same server settings and load generator, in one run.

    .venv/bin/python -m bench.gateway_vs_hello [--seconds 10]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
from pathlib import Path

from bench.load import Result, free_port, serve, table, wrk

RERUN_LUA = """
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"reRunFromTaskId":"t-1","taskInput":{"a":1}}'
"""


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    lua = Path(tempfile.mkstemp(suffix=".lua")[1])
    lua.write_text(RERUN_LUA)
    results: dict[str, list[Result]] = {}
    with serve("hello", free_port()) as hello, serve("gateway", free_port()) as gw:
        cases = [
            ("hello-JSON Starlette, GET", hello + "/api/workflow/wf-1", None),
            ("gateway GET /api/workflow/{id} (validated, trivial backend)", gw + "/api/workflow/wf-1", None),
            ("hello-JSON Starlette, POST", hello + "/api/workflow/wf-1/rerun", lua),
            ("gateway POST /api/workflow/{id}/rerun (validated body)", gw + "/api/workflow/wf-1/rerun", lua),
        ]
        for label, url, script in cases:  # warm-up
            wrk(label, url, 2, script=script)
        for _ in range(args.rounds):
            for label, url, script in cases:
                results.setdefault(label, []).append(wrk(label, url, args.seconds, script=script))
    merged = [Result(k, statistics.mean(r.rps for r in v), statistics.mean(r.p50_ms for r in v),
                     statistics.mean(r.p99_ms for r in v), sum(r.non_2xx for r in v)) for k, v in results.items()]
    print(table(merged))
    by = {r.label: r.rps for r in merged}
    labels = list(by)
    print(f"\nratio GET  gateway/hello: {by[labels[1]] / by[labels[0]]:.2f}")
    print(f"ratio POST gateway/hello: {by[labels[3]] / by[labels[2]]:.2f}")


if __name__ == "__main__":
    main()
