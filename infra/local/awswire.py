"""What an AWS request to the local moto server is (service, operation, parameters), and AWS's
error responses in each wire protocol, shared by the fault injector and the IAM enforcer.

Protocols of the services the stack uses (botocore's service models):
- json 1.0/1.1 with `X-Amz-Target` (DynamoDB, DynamoDB Streams, SQS, KMS, Secrets Manager): errors are
  `{"__type": ..., "message": ...}`; SQS is `awsQueryCompatible`, so it adds `x-amzn-query-error:
  <Code>;<Sender|Receiver>` and botocore takes the error code from that header.
- query (SES v1, STS...): a form body with `Action=`; errors are `<ErrorResponse><Error><Type>
  <Code><Message></Error><RequestId></ErrorResponse>` XML.
- rest-xml (S3): the operation is the method + path; errors are `<Error><Code><Message>...</Error>`.
"""

from __future__ import annotations

import io
import json
import re
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, unquote
from xml.sax.saxutils import escape

StartResponse = Callable[..., Any]
WsgiApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]

# X-Amz-Target prefix -> (service as in IAM actions and fault rules, json version)
_TARGETS = {
    "DynamoDB_20120810": ("dynamodb", "1.0"),
    "DynamoDBStreams_20120810": ("dynamodbstreams", "1.0"),
    "AmazonSQS": ("sqs", "1.0"),
    "TrentService": ("kms", "1.1"),
    "secretsmanager": ("secretsmanager", "1.1"),
}
_QUERY_NAMESPACES = {
    "ses": "http://ses.amazonaws.com/doc/2010-12-01/",
    "sts": "https://sts.amazonaws.com/doc/2011-06-15/",
    "sns": "http://sns.amazonaws.com/doc/2010-03-31/",
    "iam": "https://iam.amazonaws.com/doc/2010-05-08/",
}
_SCOPE = re.compile(r"Credential=[^/]+/\d{8}/[^/]+/([^/]+)/aws4_request")


@dataclass
class AwsCall:
    """One request as the services see it."""

    service: str  # dynamodb, dynamodbstreams, sqs, kms, secretsmanager, ses, s3, ...
    operation: str  # the API operation name (GetItem, SendMessage, SendEmail, GetObject, ...)
    protocol: str  # json | query | rest-xml | rest-json
    params: dict[str, Any] = field(default_factory=dict)
    json_version: str = "1.0"
    bucket: str = ""  # S3 only
    key: str = ""  # S3 only


def read_body(environ: dict[str, Any]) -> bytes:
    """The request body, read once; `environ` gets a fresh stream with the same bytes."""
    cached = environ.get("prakerja.body")
    if isinstance(cached, bytes):
        return cached
    length = int(environ.get("CONTENT_LENGTH") or 0)
    body = bytes(environ["wsgi.input"].read(length)) if length > 0 else b""
    environ["wsgi.input"] = io.BytesIO(body)
    environ["CONTENT_LENGTH"] = str(len(body))
    environ["prakerja.body"] = body
    return body


def rewind(environ: dict[str, Any]) -> None:
    body = environ.get("prakerja.body")
    if isinstance(body, bytes):
        environ["wsgi.input"] = io.BytesIO(body)


def describe(environ: dict[str, Any]) -> AwsCall | None:
    """The service and operation of a request, or None when it is not an AWS API call."""
    target = environ.get("HTTP_X_AMZ_TARGET") or ""
    if target and "." in target:
        prefix, _, operation = target.partition(".")
        known = _TARGETS.get(prefix)
        if known is not None:
            body = read_body(environ)
            try:
                params = json.loads(body or b"{}")
            except ValueError:
                params = {}
            return AwsCall(known[0], operation, "json", params if isinstance(params, dict) else {}, known[1])
    scope = _SCOPE.search(environ.get("HTTP_AUTHORIZATION") or "")
    service = scope.group(1) if scope else ""
    if target and "." in target and service:  # another json service: its signing name and operation
        version = "1.1" if "1.1" in str(environ.get("CONTENT_TYPE", "")) else "1.0"
        return AwsCall(service, target.rpartition(".")[2], "json", {}, version)
    if service == "s3" or (not service and environ.get("REQUEST_METHOD") == "POST" and _is_form_upload(environ)):
        return _s3_call(environ)
    if service in _QUERY_NAMESPACES or service == "email":
        form = _form(environ)
        action = form.get("Action", "")
        if action:
            return AwsCall("ses" if service == "email" else service, action, "query", form)
    if service:
        return AwsCall(service, environ.get("REQUEST_METHOD", ""), "rest-json")
    return None


def _form(environ: dict[str, Any]) -> dict[str, str]:
    body = read_body(environ).decode("utf-8", "replace")
    query = environ.get("QUERY_STRING") or ""
    merged = {k: v[0] for k, v in parse_qs(query, keep_blank_values=True).items()}
    merged.update({k: v[0] for k, v in parse_qs(body, keep_blank_values=True).items()})
    return merged


def _is_form_upload(environ: dict[str, Any]) -> bool:
    return str(environ.get("CONTENT_TYPE", "")).startswith("multipart/form-data")


def _s3_call(environ: dict[str, Any]) -> AwsCall:
    method = environ.get("REQUEST_METHOD", "GET")
    path = unquote(environ.get("PATH_INFO") or "/")
    bucket, _, key = path.lstrip("/").partition("/")
    query = parse_qs(environ.get("QUERY_STRING") or "", keep_blank_values=True)
    if key:
        operation = {
            "GET": "GetObject",
            "HEAD": "HeadObject",
            "PUT": "CopyObject" if environ.get("HTTP_X_AMZ_COPY_SOURCE") else "PutObject",
            "DELETE": "DeleteObject",
            "POST": "CreateMultipartUpload" if "uploads" in query else "CompleteMultipartUpload",
        }.get(method, method)
    elif not bucket:
        operation = "ListBuckets"
    else:
        operation = {
            "GET": "ListObjectsV2" if query.get("list-type") == ["2"] else "ListObjects",
            "HEAD": "HeadBucket",
            "PUT": "CreateBucket",
            "DELETE": "DeleteBucket",
            "POST": "DeleteObjects" if "delete" in query else "PostObject",
        }.get(method, method)
        if method in ("GET", "PUT", "DELETE") and query:
            sub = next(iter(query))
            if sub not in ("list-type", "prefix", "delimiter", "max-keys", "marker", "continuation-token"):
                operation = f"{method.title()}Bucket{sub.title()}"
    return AwsCall("s3", operation, "rest-xml", {}, bucket=bucket, key=key)


# -- error responses -------------------------------------------------------------------------------
@dataclass(frozen=True)
class ErrorReply:
    status: int
    headers: list[tuple[str, str]]
    body: bytes


_REASONS = {400: "Bad Request", 403: "Forbidden", 500: "Internal Server Error", 503: "Service Unavailable"}


def json_error(
    call: AwsCall,
    code: str,
    message: str,
    *,
    status: int = 400,
    type_prefix: str = "",
    extra: Mapping[str, Any] | None = None,
    sender_fault: bool = True,
    query_code: str | None = None,
) -> ErrorReply:
    request_id = str(uuid.uuid4())
    body: dict[str, Any] = {"__type": f"{type_prefix}{code}"}
    if not (extra and "Message" in extra):  # DynamoDB's TransactionCanceledException spells it Message
        body["message"] = message
    if extra:
        body.update(extra)
    headers = [
        ("Content-Type", f"application/x-amz-json-{call.json_version}"),
        ("x-amzn-RequestId", request_id),
    ]
    if call.service == "sqs":
        headers.append(("x-amzn-query-error", f"{query_code or code};{'Sender' if sender_fault else 'Receiver'}"))
    return ErrorReply(status, headers, json.dumps(body).encode("utf-8"))


def query_error(call: AwsCall, code: str, message: str, *, status: int = 400, sender_fault: bool = True) -> ErrorReply:
    request_id = str(uuid.uuid4())
    namespace = _QUERY_NAMESPACES.get(call.service, "")
    body = (
        f'<ErrorResponse xmlns="{namespace}">\n'
        f"  <Error>\n    <Type>{'Sender' if sender_fault else 'Receiver'}</Type>\n"
        f"    <Code>{escape(code)}</Code>\n    <Message>{escape(message)}</Message>\n  </Error>\n"
        f"  <RequestId>{request_id}</RequestId>\n</ErrorResponse>\n"
    )
    headers = [("Content-Type", "text/xml"), ("x-amzn-RequestId", request_id)]
    return ErrorReply(status, headers, body.encode("utf-8"))


def s3_error(code: str, message: str, *, status: int) -> ErrorReply:
    request_id = uuid.uuid4().hex[:16].upper()
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<Error><Code>{escape(code)}</Code><Message>{escape(message)}</Message>"
        f"<RequestId>{request_id}</RequestId><HostId>local</HostId></Error>"
    )
    headers = [("Content-Type", "application/xml"), ("x-amz-request-id", request_id)]
    return ErrorReply(status, headers, body.encode("utf-8"))


def send(reply: ErrorReply, start_response: StartResponse) -> list[bytes]:
    status = f"{reply.status} {_REASONS.get(reply.status, 'Error')}"
    headers = [*reply.headers, ("Content-Length", str(len(reply.body)))]
    start_response(status, headers)
    return [reply.body]
