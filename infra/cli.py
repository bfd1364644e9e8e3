"""`prakerja`: the operations CLI (console script, entry point `infra.cli:main`).

    prakerja batch create --id ID --name NAME --seats N   create a batch (idempotent for the same id)
    prakerja batch list [--json]                          batches with seats left
    prakerja funnel [--json]                              funnel counts and share of registrations
    prakerja dlq list [--queue nik|email|photo|stream] [--max N] [--json]
    prakerja dlq redrive [--queue nik|email|photo|stream] [--max N]
                                    (stream: replay the parked batches from the table stream)
    prakerja keys rotate [--purpose token|code]          new current key; the old one stays valid

Target:
- default: the local stack (`make dev`): AWS endpoint http://127.0.0.1:$PRAKERJA_AWS_PORT
  (default 5000), region $AWS_DEFAULT_REGION or ap-southeast-3, dummy credentials when none
  are configured, resource names `prakerja-local-<LogicalId>` (infra.local.names);
- `--stack NAME` (or $PRAKERJA_STACK) with `--region`: a deployed stack; resource names and
  queue URLs come from the CloudFormation stack outputs, credentials from the default chain.

Exit codes: 0 ok; 1 an error (one line on stderr, no traceback); 2 a command-line usage error.
Nothing printed contains personal data: DLQ bodies are never printed, only their ids and kind.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import enum
import json
import os
import sys
from collections.abc import Callable, Sequence
from typing import Any

DEFAULT_REGION = "ap-southeast-3"
DEFAULT_LOCAL_AWS_PORT = 5000
LOCAL_DUMMY_SECRET = "local"  # noqa: S105 - moto accepts any key; not a secret  # nosec B105
TABLE = "RegistrationsTable"
# queue name -> (source queue logical id or None, DLQ logical id)
QUEUES: dict[str, tuple[str | None, str]] = {
    "nik": ("NikQueue", "NikDLQ"),
    "email": ("EmailQueue", "EmailDLQ"),
    "photo": ("PhotoQueue", "PhotoDLQ"),
    "stream": (None, "StreamDLQ"),
}
STACK_OUTPUTS = {
    "RegistrationsTable": "TableName",
    "NikQueue": "NikQueueUrl",
    "NikDLQ": "NikDLQUrl",
    "EmailQueue": "EmailQueueUrl",
    "EmailDLQ": "EmailDLQUrl",
    "PhotoQueue": "PhotoQueueUrl",
    "PhotoDLQ": "PhotoDLQUrl",
    "StreamDLQ": "StreamDLQUrl",
    "TokenSigningSecret": "TokenSigningSecretArn",
    "CodeSecret": "CodeSecretArn",
}
# DLQ messages are hidden this long while being listed, then released at once.
PEEK_VISIBILITY_S = 5
# ... and this long while being moved (a message that could not be sent stays in the DLQ).
REDRIVE_VISIBILITY_S = 60
RECEIVE_WAIT_S = 1
DEFAULT_LIST_MAX = 100


class _Auto(enum.Enum):
    AUTO = "auto"


AUTO = _Auto.AUTO


class CliError(Exception):
    """An expected failure: printed as one line on stderr, exit code 1."""


def physical_name(logical_id: str) -> str:
    """The local stack's name of a template resource."""
    try:
        from infra.local.names import physical_name as local_name
    except ImportError:
        return f"prakerja-local-{logical_id}"
    return str(local_name(logical_id))


class Target:
    """Where the commands act: the local stack or a deployed CloudFormation stack."""

    def __init__(self, *, session: Any, endpoint_url: str | None, stack: str | None, region: str) -> None:
        self.session = session
        self.endpoint_url = endpoint_url
        self.stack = stack
        self.region = region
        self._clients: dict[str, Any] = {}
        self._outputs: dict[str, str] | None = None

    @property
    def local(self) -> bool:
        return self.stack is None

    def describe(self) -> str:
        if self.stack:
            return f"stack {self.stack} ({self.region})"
        return f"the local stack at {self.endpoint_url}" if self.endpoint_url else "the local stack"

    def client(self, service: str) -> Any:
        if service not in self._clients:
            from botocore.config import Config

            config = Config(connect_timeout=3, read_timeout=30, retries={"mode": "standard", "max_attempts": 3})
            kwargs: dict[str, Any] = {"region_name": self.region, "config": config}
            if self.endpoint_url:
                kwargs["endpoint_url"] = self.endpoint_url
            self._clients[service] = self.session.client(service, **kwargs)
        return self._clients[service]

    def _output(self, logical_id: str) -> str:
        if self._outputs is None:
            try:
                stacks = self.client("cloudformation").describe_stacks(StackName=self.stack)["Stacks"]
            except Exception as exc:
                if _error_code(exc) == "ValidationError":
                    raise CliError(f"stack {self.stack} not found in {self.region}") from None
                raise
            self._outputs = {o["OutputKey"]: o["OutputValue"] for o in stacks[0].get("Outputs", [])}
        key = STACK_OUTPUTS[logical_id]
        if key not in self._outputs:
            raise CliError(f"stack {self.stack} has no output {key}")
        return self._outputs[key]

    def table_name(self) -> str:
        return self._output(TABLE) if self.stack else physical_name(TABLE)

    def secret_id(self, logical_id: str) -> str:
        return self._output(logical_id) if self.stack else physical_name(logical_id)

    def queue_url(self, logical_id: str) -> str:
        if self.stack:
            return self._output(logical_id)
        name = physical_name(logical_id)
        try:
            return str(self.client("sqs").get_queue_url(QueueName=name)["QueueUrl"])
        except Exception as exc:
            if _error_code(exc) in {"AWS.SimpleQueueService.NonExistentQueue", "QueueDoesNotExist"}:
                raise CliError(f"queue {name} not found in {self.describe()}") from None
            raise


def _error_code(exc: BaseException) -> str:
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        return str(response.get("Error", {}).get("Code", ""))
    return ""


def make_target(args: argparse.Namespace, session: Any, endpoint_url: str | _Auto | None) -> Target:
    stack = args.stack or os.environ.get("PRAKERJA_STACK") or None
    if stack:
        # A deployed stack: the default credential chain, and the region from the flag, the
        # environment or the profile.
        region = args.region or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
        if session is None:
            import boto3

            session = boto3.session.Session(region_name=region)
        region = region or session.region_name or DEFAULT_REGION
        url = None if endpoint_url is AUTO else endpoint_url
        return Target(session=session, endpoint_url=args.endpoint_url or url, stack=stack, region=region)
    # The local stack: its region (never a profile's), keys from the environment or dummy
    # ones (moto accepts any; no credential-chain lookup, so no metadata-service probe).
    region = args.region or os.environ.get("AWS_DEFAULT_REGION") or DEFAULT_REGION
    if endpoint_url is AUTO:
        port = os.environ.get("PRAKERJA_AWS_PORT") or str(DEFAULT_LOCAL_AWS_PORT)
        endpoint_url = f"http://127.0.0.1:{port}"
    if session is None:
        import boto3

        key_id, secret = os.environ.get("AWS_ACCESS_KEY_ID"), os.environ.get("AWS_SECRET_ACCESS_KEY")
        token = os.environ.get("AWS_SESSION_TOKEN")
        if not (key_id and secret):
            key_id, secret, token = "local", LOCAL_DUMMY_SECRET, None
        session = boto3.session.Session(
            aws_access_key_id=key_id, aws_secret_access_key=secret, aws_session_token=token, region_name=region
        )
    return Target(session=session, endpoint_url=args.endpoint_url or endpoint_url, stack=None, region=region)


# -- output helpers -----------------------------------------------------------------------------------
def _out(text: str = "") -> None:
    sys.stdout.write(text + "\n")


def _json(value: Any) -> None:
    _out(json.dumps(value, indent=2, ensure_ascii=False))


def render_table(headers: Sequence[str], rows: Sequence[Sequence[Any]], right: Sequence[int] = ()) -> str:
    """An aligned text table; columns whose index is in `right` are right-aligned."""
    cells = [[str(h) for h in headers]] + [[str(c) for c in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]

    def line(row: list[str]) -> str:
        parts = [c.rjust(w) if i in right else c.ljust(w) for i, (c, w) in enumerate(zip(row, widths, strict=True))]
        return "  ".join(parts).rstrip()

    return "\n".join([line(cells[0]), "  ".join("-" * w for w in widths)] + [line(r) for r in cells[1:]])


# -- batch ------------------------------------------------------------------------------------------------
def _batch_service(target: Target) -> Any:
    from prakerja import composition

    return composition.batch_service_of(target.client("dynamodb"), target.table_name())


def cmd_batch_create(target: Target, args: argparse.Namespace) -> int:
    from prakerja.domain.batch import allotments, shard_count

    outcome = _batch_service(target).create_batch(args.id, args.name, args.seats)
    if outcome == "created":
        shards = shard_count(args.seats)
        _out(
            f"created batch {args.id}: {args.seats} seats in {shards} shard(s) "
            f"of {max(allotments(args.seats, shards))} at most"
        )
    else:
        _out(f"batch {args.id} already exists with the same name and seats: nothing changed")
    return 0


def cmd_batch_list(target: Target, args: argparse.Namespace) -> int:
    from prakerja.http.views import batch_body

    batches = [batch_body(b) for b in _batch_service(target).list_batches()]
    if args.json:
        _json({"batches": batches})
        return 0
    if not batches:
        _out("no batches")
        return 0
    rows = [(b["batch_id"], b["name"], b["seats_total"], b["seats_left"]) for b in batches]
    _out(render_table(("Batch", "Name", "Seats", "Left"), rows, right=(2, 3)))
    return 0


# -- funnel -------------------------------------------------------------------------------------------------
def cmd_funnel(target: Target, args: argparse.Namespace) -> int:
    from prakerja import composition
    from prakerja.domain.funnel import funnel_table

    counts = composition.funnel_store_of(target.client("dynamodb"), target.table_name()).totals()
    rows = funnel_table(counts)
    if args.json:
        _json(
            {
                "funnel": [
                    {"step": r["step"], "label": r["label"], "count": r["count"], "share": r["share"]} for r in rows
                ]
            }
        )
        return 0
    base = int(counts.get("registered", 0))
    table = [(r["label"], r["count"], f"{100 * r['count'] / base:.1f}%" if base else "-") for r in rows]
    _out(render_table(("Step", "Count", "Share"), table, right=(1, 2)))
    return 0


# -- dlq ----------------------------------------------------------------------------------------------------
def _iso_ms(value: Any) -> str | None:
    try:
        return dt.datetime.fromtimestamp(int(value) / 1000, tz=dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    except (TypeError, ValueError, OverflowError):
        return None


def describe_body(body: str) -> tuple[str | None, str | None]:
    """(registration id, kind) of a parked message; never anything else from the body."""
    try:
        doc = json.loads(body)
    except ValueError:
        return None, None
    if not isinstance(doc, dict):
        return None, None
    if "registration_id" in doc or "kind" in doc:
        rid, kind = doc.get("registration_id"), doc.get("kind")
        return (str(rid) if rid else None), (str(kind) if kind else None)
    records = doc.get("Records")
    if isinstance(records, list) and records and isinstance(records[0], dict) and "s3" in records[0]:
        key = str(records[0].get("s3", {}).get("object", {}).get("key", ""))
        parts = key.split("/")
        return (parts[1] if len(parts) >= 3 and parts[0] == "uploads" else None), "PHOTO_UPLOAD"
    if "DDBStreamBatchInfo" in doc:
        return None, "STREAM_BATCH"
    return None, None


def _receive(sqs: Any, url: str, count: int, visibility_s: int) -> list[dict[str, Any]]:
    resp = sqs.receive_message(
        QueueUrl=url,
        MaxNumberOfMessages=max(1, min(10, count)),
        VisibilityTimeout=visibility_s,
        WaitTimeSeconds=RECEIVE_WAIT_S,
        MessageSystemAttributeNames=["ApproximateReceiveCount", "SentTimestamp"],
        MessageAttributeNames=["All"],
    )
    return list(resp.get("Messages", []))


def _release(sqs: Any, url: str, receipt_handles: list[str]) -> None:
    """Make received messages visible again at once (failures are harmless: they reappear anyway)."""
    for start in range(0, len(receipt_handles), 10):
        entries = [
            {"Id": str(i), "ReceiptHandle": h, "VisibilityTimeout": 0}
            for i, h in enumerate(receipt_handles[start : start + 10])
        ]
        # best effort: a message not released reappears by itself a few seconds later
        with contextlib.suppress(Exception):
            sqs.change_message_visibility_batch(QueueUrl=url, Entries=entries)


def peek(sqs: Any, url: str, limit: int) -> list[dict[str, Any]]:
    """Up to `limit` messages of a queue, without consuming them."""
    seen: dict[str, dict[str, Any]] = {}
    handles: list[str] = []
    try:
        while len(seen) < limit:
            messages = _receive(sqs, url, limit - len(seen), PEEK_VISIBILITY_S)
            handles.extend(m["ReceiptHandle"] for m in messages)
            fresh = [m for m in messages if m["MessageId"] not in seen]
            if not fresh:
                break
            for m in fresh:
                seen[m["MessageId"]] = m
    finally:
        _release(sqs, url, handles)
    return list(seen.values())


def _approximate_count(sqs: Any, url: str) -> int:
    attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])
    return int(attrs.get("Attributes", {}).get("ApproximateNumberOfMessages", 0))


def cmd_dlq_list(target: Target, args: argparse.Namespace) -> int:
    sqs = target.client("sqs")
    url = target.queue_url(QUEUES[args.queue][1])
    count = _approximate_count(sqs, url)
    messages = []
    for m in peek(sqs, url, args.max):
        rid, kind = describe_body(str(m.get("Body", "")))
        attrs = m.get("Attributes", {})
        messages.append(
            {
                "message_id": m["MessageId"],
                "registration_id": rid,
                "kind": kind,
                "receive_count": int(attrs.get("ApproximateReceiveCount", 0)),
                "first_sent_at": _iso_ms(attrs.get("SentTimestamp")),
            }
        )
    messages.sort(key=lambda x: (x["first_sent_at"] or "", x["message_id"]))
    if args.json:
        _json({"queue": args.queue, "approximate_count": count, "messages": messages})
        return 0
    _out(f"{args.queue} DLQ: {count} message(s) (approximate)")
    if messages:
        rows = [
            (
                m["message_id"],
                m["registration_id"] or "-",
                m["kind"] or "-",
                m["receive_count"],
                m["first_sent_at"] or "-",
            )
            for m in messages
        ]
        _out(render_table(("Message id", "Registration id", "Kind", "Receives", "First sent"), rows, right=(3,)))
        if len(messages) >= args.max:
            _out(f"(first {args.max} shown; use --max for more)")
    return 0


def _message_attributes(message: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for name, attr in (message.get("MessageAttributes") or {}).items():
        value = {k: attr[k] for k in ("DataType", "StringValue", "BinaryValue") if k in attr}
        if "DataType" in value:
            out[name] = value
    return out


def redrive(sqs: Any, dlq_url: str, source_url: str, limit: int | None) -> tuple[int, int]:
    """Move messages DLQ -> source: send first, then delete, so a crash can only duplicate.
    Returns (moved, not sent). A message that could not be sent stays (hidden a minute) in the DLQ."""
    moved = failed = 0
    while limit is None or moved + failed < limit:
        want = 10 if limit is None else limit - moved - failed
        messages = _receive(sqs, dlq_url, want, REDRIVE_VISIBILITY_S)
        if not messages:
            break
        entries = []
        for i, m in enumerate(messages):
            entry: dict[str, Any] = {"Id": str(i), "MessageBody": m["Body"]}
            attributes = _message_attributes(m)
            if attributes:
                entry["MessageAttributes"] = attributes
            entries.append(entry)
        sent = sqs.send_message_batch(QueueUrl=source_url, Entries=entries)
        ok = {e["Id"] for e in sent.get("Successful", [])}
        failed += len(messages) - len(ok)
        done = [{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages) if str(i) in ok]
        if done:
            sqs.delete_message_batch(QueueUrl=dlq_url, Entries=done)
        moved += len(done)
    return moved, failed


def cmd_stream_redrive(target: Target, args: argparse.Namespace) -> int:
    import logging

    from infra.stream_replay import StreamReplayer
    from prakerja import composition
    from prakerja.composition.workers import outbox_relay_of

    sqs, ddb, table = target.client("sqs"), target.client("dynamodb"), target.table_name()
    dlq_url = target.queue_url("StreamDLQ")
    urls = {"EMAIL": target.queue_url("EmailQueue"), "NIK_CHECK": target.queue_url("NikQueue"), "PARKING": dlq_url}
    log = logging.getLogger("prakerja.replay")
    replayer = StreamReplayer(
        sqs=sqs,
        streams=target.client("dynamodbstreams"),
        dlq_url=dlq_url,
        relay=outbox_relay_of(sqs, ddb, table, urls, log),
        funnel=composition.funnel_store_of(ddb, table),
        region=target.region,
    )
    report = replayer.run(args.max)
    _out(
        f"replayed {report.replayed_batches} stream batch(es) ({report.replayed_records} record(s)), "
        f"counted {report.counted} parked funnel step(s)"
    )
    if report.expired:
        _out(f"{len(report.expired)} message(s) name records past the stream's retention; left in the DLQ")
    if report.failed:
        raise CliError(f"{len(report.failed)} message(s) could not be replayed; they stay in the DLQ (retry later)")
    return 1 if report.expired else 0


def cmd_dlq_redrive(target: Target, args: argparse.Namespace) -> int:
    source, dlq = QUEUES[args.queue]
    if args.queue == "stream":
        return cmd_stream_redrive(target, args)
    if source is None:
        raise CliError(f"the {args.queue} DLQ cannot be redriven to a queue")
    sqs = target.client("sqs")
    moved, failed = redrive(sqs, target.queue_url(dlq), target.queue_url(source), args.max)
    _out(f"moved {moved} message(s) from the {args.queue} DLQ back to its queue")
    if failed:
        raise CliError(f"{failed} message(s) could not be sent back; they stay in the DLQ (retry later)")
    return 0


# -- keys ---------------------------------------------------------------------------------------------------
def cmd_keys_rotate(target: Target, args: argparse.Namespace) -> int:
    from infra import keys

    secret = keys.PURPOSES[args.purpose]
    try:
        done = keys.rotate(target.client("secretsmanager"), target.secret_id(secret), args.purpose)
    except ValueError as exc:
        raise CliError(f"{secret} does not hold a key ring: {exc}") from None
    _out(f"rotated the {done.purpose} key: current {done.new_kid}, previous {done.previous_kid} (still accepted)")
    if done.dropped_kid:
        _out(f"key {done.dropped_kid} is no longer accepted")
    _out("running functions pick the new key up on their next unknown kid (<= 30 s) or cold start")
    return 0


# -- parsing & main -----------------------------------------------------------------------------------------
def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError("must be a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def build_parser() -> argparse.ArgumentParser:
    def target_options(p: argparse.ArgumentParser, default: Any) -> None:
        p.add_argument(
            "--stack",
            default=default,
            help="a deployed CloudFormation stack (or $PRAKERJA_STACK); default: the local stack",
        )
        p.add_argument("--region", default=default, help="AWS region (default: $AWS_DEFAULT_REGION or ap-southeast-3)")
        p.add_argument(
            "--endpoint-url",
            default=default,
            help="AWS endpoint (default for the local stack: http://127.0.0.1:$PRAKERJA_AWS_PORT, port 5000)",
        )

    parser = argparse.ArgumentParser(
        prog="prakerja", description="Operations CLI of the Prakerja registration backend (local stack by default)."
    )
    target_options(parser, None)
    common = argparse.ArgumentParser(add_help=False)
    target_options(common, argparse.SUPPRESS)  # also accepted after the subcommand
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    batch = sub.add_parser("batch", help="batches and seats").add_subparsers(
        dest="action", required=True, metavar="ACTION"
    )
    create = batch.add_parser("create", parents=[common], help="create a batch (idempotent for the same id)")
    create.add_argument("--id", required=True, help="batch id: 1-64 of A-Z a-z 0-9 _ . : -")
    create.add_argument("--name", required=True, help="display name, 1-100 characters")
    create.add_argument("--seats", required=True, type=_positive, help="seats, 1 to 1,000,000")
    create.set_defaults(run=cmd_batch_create)
    blist = batch.add_parser("list", parents=[common], help="batches with seats left")
    blist.add_argument("--json", action="store_true", help="JSON output")
    blist.set_defaults(run=cmd_batch_list)

    funnel = sub.add_parser("funnel", parents=[common], help="funnel counts and share of registrations")
    funnel.add_argument("--json", action="store_true", help="JSON output (share as a fraction 0..1)")
    funnel.set_defaults(run=cmd_funnel)

    dlq = sub.add_parser("dlq", help="dead-letter queues").add_subparsers(
        dest="action", required=True, metavar="ACTION"
    )
    dlist = dlq.add_parser("list", parents=[common], help="parked messages (left in place)")
    dlist.add_argument("--queue", choices=sorted(QUEUES), default="nik", help="which DLQ (default: nik)")
    dlist.add_argument("--max", type=_positive, default=DEFAULT_LIST_MAX, help="show at most N (default 100)")
    dlist.add_argument("--json", action="store_true", help="JSON output")
    dlist.set_defaults(run=cmd_dlq_list)
    dredrive = dlq.add_parser("redrive", parents=[common], help="move parked messages back to their queue")
    dredrive.add_argument(
        "--queue",
        choices=sorted(QUEUES),
        default="nik",
        help="which DLQ (default: nik); stream replays the parked stream batches and funnel counts",
    )
    dredrive.add_argument("--max", type=_positive, default=None, help="move at most N (default: all)")
    dredrive.set_defaults(run=cmd_dlq_redrive)

    keys = sub.add_parser("keys", help="token and verification-code keys").add_subparsers(
        dest="action", required=True, metavar="ACTION"
    )
    rotate = keys.add_parser("rotate", parents=[common], help="new current key; the previous one stays valid")
    rotate.add_argument("--purpose", choices=("token", "code"), default="token", help="which key (default: token)")
    rotate.set_defaults(run=cmd_keys_rotate)

    from infra import capacity  # the capacity plan lives in its own module

    capacity.add_parser(sub, common)
    return parser


def _explain(exc: BaseException, target: Target | None) -> str | None:
    """A one-line message for an expected failure; None for a real bug."""
    from botocore import exceptions as bx

    from prakerja.domain.errors import DomainError

    if isinstance(exc, CliError):
        return str(exc)
    if isinstance(exc, DomainError):
        return exc.detail or exc.slug
    if isinstance(exc, bx.ConnectionError | bx.HTTPClientError):
        if target is not None and target.local:
            return f"cannot reach {target.describe()}: is `make dev` running?"
        return f"cannot reach AWS: {exc}"
    if isinstance(exc, bx.NoCredentialsError):
        return "no AWS credentials found: configure a profile or the AWS_* environment variables"
    if isinstance(exc, bx.NoRegionError):
        return "no AWS region: pass --region or set AWS_DEFAULT_REGION"
    code = _error_code(exc)
    if code == "ResourceNotFoundException" and target is not None:
        hint = "is `make dev` running?" if target.local else "is the stack deployed?"
        return f"table {target.table_name()} not found in {target.describe()}: {hint}"
    if code:
        message = getattr(exc, "response", {}).get("Error", {}).get("Message", "")
        return f"AWS refused the request ({code}): {message}".rstrip(": ")
    return None


def main(argv: Sequence[str] | None = None, *, session: Any = None, endpoint_url: str | _Auto | None = AUTO) -> int:
    """Run the CLI; returns the exit code. `session` (a boto3 Session) and `endpoint_url`
    (None: boto3's default endpoints) let tests point it at an in-process moto."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help (0) or a usage error (2), already printed by argparse
        return int(exc.code or 0) if not isinstance(exc.code, str) else 2
    target: Target | None = None
    try:
        target = make_target(args, session, endpoint_url)
        run: Callable[[Target, argparse.Namespace], int] = args.run
        return run(target, args)
    except KeyboardInterrupt:
        sys.stderr.write("prakerja: interrupted\n")
        return 130
    except Exception as exc:
        try:
            message = _explain(exc, target)
        except Exception:
            message = None
        if message is None:
            raise
        sys.stderr.write(f"prakerja: {message}\n")
        return 1


if __name__ == "__main__":
    sys.exit(main())
