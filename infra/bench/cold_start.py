"""Cold-start benchmark: for each function, a fresh interpreter imports the handler module and
creates its first AWS client; compared with `import boto3; boto3.client("dynamodb")` measured
in the same run. Target: ratio <= 1.5.

    .venv/bin/python -m infra.bench.cold_start [--runs 7]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess  # nosec B404 # runs this interpreter on a fixed snippet
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]

BASELINE = """
import time
t0 = time.perf_counter()
import boto3
boto3.client("dynamodb")
print(time.perf_counter() - t0)
"""

FUNCTION = """
import sys, time
sys.path[:0] = [{src!r}, {fn!r}]
t0 = time.perf_counter()
import app
from prakerja.runtime import aws_client
aws_client({client!r})
print(time.perf_counter() - t0)
"""

FIRST_CLIENT = {"upload_photo": "s3", "inspect_photo": "s3", "send_email": "dynamodb", "health": "dynamodb"}


def run(code: str) -> float:
    # The Lambda runtime's environment: with LAMBDA_TASK_ROOT set, the X-Ray SDK behind Powertools
    # Tracer uses Lambda's sampling decision instead of building a centralised-sampling client.
    env = {
        **os.environ,
        "AWS_DEFAULT_REGION": "ap-southeast-3",
        "AWS_ACCESS_KEY_ID": "x",
        "AWS_SECRET_ACCESS_KEY": "x",  # nosec B105 # dummy credential for a process that calls no AWS
        "TABLE_NAME": "t",
        "LAMBDA_TASK_ROOT": str(ROOT),
        "AWS_LAMBDA_FUNCTION_NAME": "bench",
        "AWS_XRAY_CONTEXT_MISSING": "IGNORE_ERROR",
    }
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)  # nosec B603 # fixed argv: this interpreter and our own code
    return float(out.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    functions = sorted(p.parent.name for p in (ROOT / "functions").glob("*/app.py"))
    # Warm the bytecode caches once so every measurement compares like with like.
    run(BASELINE)
    for name in functions:
        run(
            FUNCTION.format(
                src=str(ROOT / "src"), fn=str(ROOT / "functions" / name), client=FIRST_CLIENT.get(name, "dynamodb")
            )
        )
    rows: list[dict[str, Any]] = []
    baseline = [run(BASELINE) for _ in range(args.runs)]
    base = statistics.median(baseline)
    for name in functions:
        code = FUNCTION.format(
            src=str(ROOT / "src"), fn=str(ROOT / "functions" / name), client=FIRST_CLIENT.get(name, "dynamodb")
        )
        samples = [run(code) for _ in range(args.runs)]
        med = statistics.median(samples)
        rows.append({"function": name, "median_ms": round(med * 1000, 1), "ratio": round(med / base, 2)})
    if args.json:
        print(json.dumps({"baseline_ms": round(base * 1000, 1), "functions": rows}, indent=2))
    else:
        print(
            f"baseline (import boto3 + boto3.client('dynamodb')): median {base * 1000:.1f} ms "
            f"over {args.runs} fresh processes"
        )
        print(f"{'function':<18}{'median ms':>10}{'ratio':>8}  target <= 1.5")
        for r in rows:
            flag = "" if r["ratio"] <= 1.5 else "  OVER"
            print(f"{r['function']:<18}{r['median_ms']:>10}{r['ratio']:>8}{flag}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
