"""Cold-start benchmark, in the Lambda environment (LAMBDA_TASK_ROOT and a sampled X-Ray trace id
set, so Powertools Tracer is on and records subsegments, as in AWS).

For each function, a fresh interpreter:
  1. init: imports the handler module and creates its first AWS client (what Lambda's INIT does);
  2. first call: invokes the handler once with an event from its template trigger (API route,
     SQS queue or DynamoDB stream) that goes through the function's service and adapters to
     their first AWS calls, for a registration that does not exist: an API request with a valid
     bearer token for the path's id and a valid body (FIRST_BODIES; answer 404), a well-formed
     job (the worker finds the registration gone: a stale job), a stream record of no interest
     to the relay. Only register and sessions get `{}` (422): a valid body would time scrypt, a
     per-request cost; their whole stack is imported with the module, but their first real
     request also pays what get_registration's first call shows (Secrets Manager's client and
     the first DynamoDB operation), which their figures here leave out. This call pays every
     fixed cost deferred from import to first use (lazily imported adapters, request-schema
     builds, the extra clients, botocore's first operation of each client, Powertools' handler
     wrappers, the X-Ray subsegments, the EMF flush); its AWS calls go to a loopback stand-in in
     this process that answers at once (Secrets Manager's secret, an absent DynamoDB item, a
     failed condition, an empty query, a deleted object), so network time is not counted.
Ratios compare with `import boto3; boto3.client("dynamodb")` measured in the same run (rounds
interleave the baseline and every function), median of --runs fresh processes each, in the
processes' CPU time (wall time is printed too, but on a shared machine it swings with other
processes' load, even below 1.0, which no function can truly reach). Target: <= 1.5x. INIT flags
a function whose init (Lambda's INIT phase: import + first client) is over it; +CALL one whose init
+ first call is over it.

The package is measured as the layer ships it (src/Makefile `package-code`: bytecode compiled with
unchecked hashes; Lambda's file system is read-only, so nothing is compiled at run time and the
bytecode is what runs), with PYTHONDONTWRITEBYTECODE set as on Lambda. BENCH_PYTHON picks the
interpreter (`make bench-lambda`: python3.13, the runtime's version, with the layer's pins).

    .venv/bin/python -m infra.bench.cold_start [--runs 7] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess  # nosec B404 # runs this interpreter on a fixed snippet
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, NamedTuple

from infra.local.template import SERVERLESS_FUNCTION, load_template
from prakerja.domain.security import issue_token

ROOT = Path(__file__).resolve().parents[2]
# The interpreter measured: this one, or BENCH_PYTHON (`make bench-cold-start` uses a python3.13
# environment with the layer's pinned dependencies, the Lambda runtime's version).
PYTHON = os.path.abspath(os.environ.get("BENCH_PYTHON") or sys.executable)  # not resolved: a venv is a symlink
REGION = "ap-southeast-3"
ACCOUNT = "123456789012"
SECRET = "bench-application-secret-0123456789abcdef"  # noqa: S105  # nosec B105 # the stand-in secret, not a real one
REGISTRATION_ID = "0" * 31 + "1"
DYNAMODB_ERRORS = "com.amazonaws.dynamodb.v20120810"
TRACE_ID = "Root=1-6748a5e0-0123456789abcdef01234567;Parent=0123456789abcdef;Sampled=1"

BASELINE = """
import time
t0, c0 = time.perf_counter(), time.process_time()
import boto3
boto3.client("dynamodb")
print("BENCH", time.perf_counter() - t0, 0.0, time.process_time() - c0, 0.0, "-")
"""

FUNCTION = """
import json, sys, time

class Context:
    function_name = "bench"
    function_version = "$LATEST"
    invoked_function_arn = "arn:aws:lambda:{region}:{account}:function:bench"
    memory_limit_in_mb = 512
    aws_request_id = "00000000-0000-4000-8000-000000000001"
    log_group_name = "/aws/lambda/bench"
    log_stream_name = "bench"

    def get_remaining_time_in_millis(self):
        return 10_000

event = json.loads({event!r})
sys.path[:0] = [{src!r}, {fn!r}]
t0, c0 = time.perf_counter(), time.process_time()
import app
from prakerja.runtime import aws_client
aws_client("dynamodb")  # as the baseline does; every function's first call uses DynamoDB
t1, c1 = time.perf_counter(), time.process_time()
result = app.handler(event, Context())
t2, c2 = time.perf_counter(), time.process_time()
outcome = result.get("statusCode") if "statusCode" in result else "failures=%d" % len(result["batchItemFailures"])
print("BENCH", t1 - t0, t2 - t1, c1 - c0, c2 - c1, outcome)
"""

# Body of the first call per API route ("{}" unless listed): valid, so the call reaches the service.
FIRST_BODIES = {
    ("POST", "/registrations/{id}/nik"): {
        "nik": "3273052107900001",
        "full_name": "Budi Santoso",
        "birth_date": "1990-07-21",
        "gender": "M",
    },
    ("POST", "/registrations/{id}/photo"): {"content_type": "image/jpeg"},
    ("POST", "/registrations/{id}/email-verification"): {"code": "123456"},
    ("POST", "/registrations/{id}/batch"): {"batch_id": "B2026-01"},
}


class _AwsStandIn(BaseHTTPRequestHandler):
    """Answers the JSON-protocol calls a first call may make, at once (no network time counted)."""

    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        target = self.headers.get("X-Amz-Target", "")
        operation = target.rpartition(".")[2]
        if target.startswith("secretsmanager."):
            body: dict[str, Any] = {"ARN": _secret_arn(), "Name": "bench", "SecretString": SECRET}
        elif target.startswith("TrentService."):  # KMS: a MAC or a ciphertext of the right shape
            body = {"KeyId": "bench", "Mac": "AAAA", "CiphertextBlob": "AAAA", "MacAlgorithm": "HMAC_SHA_256"}
        elif target.startswith("AmazonSQS.") and operation == "GetQueueAttributes":
            body = {"Attributes": {"ApproximateNumberOfMessages": "0", "ApproximateNumberOfMessagesNotVisible": "0"}}
        elif target.startswith("DynamoDB_") and operation in {"Query", "Scan"}:
            body = {"Items": [], "Count": 0, "ScannedCount": 0}
        elif target.startswith("DynamoDB_") and operation == "BatchGetItem":
            body = {"Responses": {}, "UnprocessedKeys": {}}
        elif target.startswith("DynamoDB_") and operation == "GetItem":
            body = {}
        elif target.startswith("DynamoDB_") and operation in {"UpdateItem", "PutItem", "TransactWriteItems"}:
            self._send(400, {"__type": f"{DYNAMODB_ERRORS}#ConditionalCheckFailedException", "message": "failed"})
            return
        else:
            self._send(400, {"__type": "UnknownOperationException", "message": f"bench stand-in: {target}"})
            return
        self._send(200, body)

    def do_DELETE(self) -> None:  # noqa: N802 - S3 DeleteObject
        self.send_response(204)
        self.end_headers()

    def _send(self, status: int, body: dict[str, Any]) -> None:
        raw = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/x-amz-json-1.1")
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - signature of the base class
        return


def _secret_arn() -> str:
    return f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:bench"


def first_events() -> dict[str, dict[str, Any]]:
    """Function folder -> the event of its first call, built from the template's trigger."""
    template = load_template(ROOT / "template.yaml")
    token = issue_token(SECRET.encode(), REGISTRATION_ID, now=int(time.time()), ttl_s=3600)
    events: dict[str, dict[str, Any]] = {}
    for resource in template.of_type(SERVERLESS_FUNCTION).values():
        props = resource.get("Properties") or {}
        folder = Path(str(props.get("CodeUri", ""))).name
        for trigger in (props.get("Events") or {}).values():
            kind, spec = trigger.get("Type"), trigger.get("Properties") or {}
            if kind == "Api":
                events[folder] = _api_event(str(spec["Method"]).upper(), str(spec["Path"]), token)
            elif kind == "SQS":
                events[folder] = _sqs_event(_job(folder))
            elif kind == "DynamoDB":
                events[folder] = _stream_event()
            else:
                continue
            break
    return events


def _api_event(method: str, path: str, token: str) -> dict[str, Any]:
    params = {name: REGISTRATION_ID for name in re.findall(r"{(\w+)}", path)}
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {token}"}
    return {
        "resource": path,
        "path": re.sub(r"{\w+}", REGISTRATION_ID, path),
        "httpMethod": method,
        "headers": headers,
        "pathParameters": params or None,
        "queryStringParameters": None,
        "body": json.dumps(FIRST_BODIES.get((method, path), {})) if method in {"POST", "PUT", "PATCH"} else None,
        "isBase64Encoded": False,
        "requestContext": {"requestId": "bench-request", "stage": "v1", "httpMethod": method, "resourcePath": path},
    }


def _sqs_event(body: str) -> dict[str, Any]:
    return {
        "Records": [
            {
                "messageId": "00000000-0000-4000-8000-000000000002",
                "receiptHandle": "bench-receipt",
                "body": body,
                "attributes": {"ApproximateReceiveCount": "1", "SentTimestamp": "0"},
                "messageAttributes": {},
                "md5OfBody": "",
                "eventSource": "aws:sqs",
                "eventSourceARN": f"arn:aws:sqs:{REGION}:{ACCOUNT}:bench",
                "awsRegion": REGION,
            }
        ]
    }


def _job(folder: str) -> str:
    """A well-formed message for the worker (an S3 event for the photo queue, an outbox job else)."""
    if folder == "inspect_photo":
        key = f"uploads/{REGISTRATION_ID}/bench-upload"
        return json.dumps({"Records": [{"eventName": "ObjectCreated:Post", "s3": {"object": {"key": key}}}]})
    payload = {"nik_seq": 1, "template": "verify"}
    return json.dumps({"outbox_id": "bench", "kind": "JOB", "registration_id": REGISTRATION_ID, "payload": payload})


def _stream_event() -> dict[str, Any]:
    image = {"pk": {"S": "BENCH#1"}, "sk": {"S": "BENCH"}, "n": {"N": "1"}}
    return {
        "Records": [
            {
                "eventID": "bench-1",
                "eventName": "MODIFY",
                "eventSource": "aws:dynamodb",
                "awsRegion": REGION,
                "dynamodb": {
                    "Keys": {"pk": image["pk"], "sk": image["sk"]},
                    "OldImage": image,
                    "NewImage": image,
                    "SequenceNumber": "100",
                    "StreamViewType": "NEW_AND_OLD_IMAGES",
                },
            }
        ]
    }


class Sample(NamedTuple):
    init_s: float  # wall clock
    call_s: float
    init_cpu_s: float  # CPU time of the process (less sensitive to the machine's load)
    call_cpu_s: float
    outcome: str


def run(code: str, endpoint: str) -> Sample:
    env = {
        **os.environ,
        "AWS_DEFAULT_REGION": REGION,
        "AWS_ACCESS_KEY_ID": "x",
        "AWS_SECRET_ACCESS_KEY": "x",  # nosec B105 # dummy credential for a loopback stand-in
        "AWS_ENDPOINT_URL": endpoint,
        "TABLE_NAME": "t",
        "TOKEN_SECRET_ARN": _secret_arn(),  # one stand-in secret serves both rings (a plain key)
        "CODE_SECRET_ARN": _secret_arn(),
        "EMAIL_QUEUE_URL": f"{endpoint}/{ACCOUNT}/email",
        "NIK_QUEUE_URL": f"{endpoint}/{ACCOUNT}/nik",
        "STREAM_DLQ_URL": f"{endpoint}/{ACCOUNT}/stream-dlq",
        "CONFIGURATION_SET": "bench",
        "NIK_MAC_KEY_ID": "alias/bench-mac",
        "SENDER_EMAIL": "noreply@example.com",
        "PHOTO_BUCKET": "bench-photos",
        "NIK_KMS_KEY_ID": "alias/bench",
        "REGISTRY_URL": "http://127.0.0.1:9/registry",
        # The Lambda runtime's environment: with LAMBDA_TASK_ROOT set, Powertools Tracer is on and
        # the X-Ray SDK uses Lambda's sampling decision (the trace header) for its segments.
        "LAMBDA_TASK_ROOT": str(ROOT),
        "AWS_LAMBDA_FUNCTION_NAME": "bench",
        "_X_AMZN_TRACE_ID": TRACE_ID,
        "AWS_XRAY_CONTEXT_MISSING": "IGNORE_ERROR",
        "PYDANTIC_DISABLE_PLUGINS": "__all__",  # as template.yaml's Globals set it
    }
    # Lambda's file system is read-only: nothing it imports gets compiled bytecode written back.
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    out = subprocess.run([PYTHON, "-c", code], env=env, capture_output=True, text=True, check=False)  # nosec B603 # fixed argv: this interpreter and our own code
    lines = [line for line in out.stdout.splitlines() if line.startswith("BENCH ")]
    if out.returncode != 0 or not lines:
        raise RuntimeError(f"benchmark process failed:\n{out.stderr[-3000:]}")
    _, init_s, call_s, init_cpu_s, call_cpu_s, outcome = lines[-1].split(" ", 5)
    return Sample(float(init_s), float(call_s), float(init_cpu_s), float(call_cpu_s), outcome)


def _ms(seconds: float) -> float:
    return round(seconds * 1000, 1)


def _row(name: str, samples: list[Sample], base: float, base_cpu: float) -> dict[str, Any]:
    init = statistics.median(s.init_s for s in samples)
    total = statistics.median(s.init_s + s.call_s for s in samples)
    total_cpu = statistics.median(s.init_cpu_s + s.call_cpu_s for s in samples)
    init_cpu = statistics.median(s.init_cpu_s for s in samples)
    return {
        "function": name,
        "init_ms": _ms(init),
        "init_ratio": round(init / base, 2),
        "init_cpu_ms": _ms(init_cpu),
        "init_cpu_ratio": round(init_cpu / base_cpu, 2),
        "first_call_ms": _ms(statistics.median(s.call_s for s in samples)),
        "first_call": sorted({s.outcome for s in samples}),
        "with_first_call_ms": _ms(total),
        "with_first_call_ratio": round(total / base, 2),
        "with_first_call_cpu_ms": _ms(total_cpu),
        "with_first_call_cpu_ratio": round(total_cpu / base_cpu, 2),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--only", nargs="*", help="function folders to measure (default: all)")
    args = parser.parse_args(argv)
    events = first_events()
    functions = sorted(p.parent.name for p in (ROOT / "functions").glob("*/app.py"))
    if args.only:
        functions = [f for f in functions if f in args.only]
    missing = [f for f in functions if f not in events]
    if missing:
        raise SystemExit(f"no template trigger found for: {', '.join(missing)}")
    # The package as the layer ships it (src/Makefile package-code: bytecode for this interpreter).
    layer = Path(tempfile.mkdtemp(prefix="cold-start-layer-"))
    make = ["make", "-s", "-C", str(ROOT / "src"), "package-code", f"PYTHON={PYTHON}", f"DEST={layer}"]
    subprocess.run(make, check=True)  # nosec B603 B607 # fixed argv: the project's own Makefile
    server = ThreadingHTTPServer(("127.0.0.1", 0), _AwsStandIn)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    endpoint = f"http://127.0.0.1:{server.server_address[1]}"

    def code_for(name: str) -> str:
        return FUNCTION.format(
            region=REGION,
            account=ACCOUNT,
            event=json.dumps(events[name]),
            src=str(layer),
            fn=str(ROOT / "functions" / name),
        )

    try:
        # One unmeasured run each first: the file cache is warm for every measured one.
        run(BASELINE, endpoint)
        for name in functions:
            run(code_for(name), endpoint)
        # Rounds interleave the baseline and every function, so a change in the machine's load
        # during the run weighs on all of them alike.
        baseline: list[Sample] = []
        samples: dict[str, list[Sample]] = {name: [] for name in functions}
        for _ in range(args.runs):
            baseline.append(run(BASELINE, endpoint))
            for name in functions:
                samples[name].append(run(code_for(name), endpoint))
        base = statistics.median(s.init_s for s in baseline)
        base_cpu = statistics.median(s.init_cpu_s for s in baseline)
        rows = [_row(name, samples[name], base, base_cpu) for name in functions]
    finally:
        server.shutdown()
        shutil.rmtree(layer, ignore_errors=True)
    if args.json:
        doc = {"baseline_ms": _ms(base), "baseline_cpu_ms": _ms(base_cpu), "runs": args.runs, "functions": rows}
        print(json.dumps(doc, indent=2))
        return 0
    print(
        f"baseline (import boto3 + boto3.client('dynamodb')): median {_ms(base)} ms wall, {_ms(base_cpu)} ms CPU, "
        f"over {args.runs} fresh processes"
    )
    print(
        "init = import + first client (Lambda's INIT); 1st call = first invocation (see --help); ratios\n"
        "to the baseline's CPU time (wall times swing with the machine's load). Target 1.5x: INIT flags\n"
        "an init over it, +CALL an init + first call over it (a first call that makes further AWS\n"
        "clients, e.g. S3 or KMS, pays their service models here)"
    )
    print(
        f"{'function':<24}{'init ms':>8}{'CPU ratio':>10}{'1st call':>9}{'answer':>12}"
        f"{'init+call':>10}{'CPU ratio':>10}"
    )
    for r in rows:
        flags = " ".join(
            flag
            for flag, ratio in (("INIT", r["init_cpu_ratio"]), ("+CALL", r["with_first_call_cpu_ratio"]))
            if ratio > 1.5
        )
        print(
            f"{r['function']:<24}{r['init_ms']:>8}{r['init_cpu_ratio']:>10}{r['first_call_ms']:>9}"
            f"{','.join(r['first_call']):>12}{r['with_first_call_ms']:>10}{r['with_first_call_cpu_ratio']:>10}"
            f"  {flags}".rstrip()
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
