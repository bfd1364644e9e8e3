"""Which service and operation a request to the local AWS is, per protocol."""

from __future__ import annotations

import io
from typing import Any

import pytest

from infra.local.awswire import describe

SCOPE = "AWS4-HMAC-SHA256 Credential=local/20261128/ap-southeast-3/{}/aws4_request, SignedHeaders=host"


def environ(
    method: str = "POST", path: str = "/", body: bytes = b"", query: str = "", **headers: str
) -> dict[str, Any]:
    env: dict[str, Any] = {
        "REQUEST_METHOD": method,
        "PATH_INFO": path,
        "QUERY_STRING": query,
        "wsgi.input": io.BytesIO(body),
        "CONTENT_LENGTH": str(len(body)),
    }
    env.update({f"HTTP_{k.upper()}": v for k, v in headers.items()})
    return env


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        (
            environ(body=b'{"TableName": "t"}', x_amz_target="DynamoDB_20120810.GetItem"),
            ("dynamodb", "GetItem", "json"),
        ),
        (environ(x_amz_target="DynamoDBStreams_20120810.GetRecords"), ("dynamodbstreams", "GetRecords", "json")),
        (environ(x_amz_target="AmazonSQS.SendMessageBatch"), ("sqs", "SendMessageBatch", "json")),
        (environ(x_amz_target="TrentService.Decrypt"), ("kms", "Decrypt", "json")),
        (environ(x_amz_target="secretsmanager.GetSecretValue"), ("secretsmanager", "GetSecretValue", "json")),
        (
            environ(body=b"Action=SendEmail&Source=a%40b", authorization=SCOPE.format("ses")),
            ("ses", "SendEmail", "query"),
        ),
        (
            environ(x_amz_target="Logs_20140328.PutLogEvents", authorization=SCOPE.format("logs")),
            ("logs", "PutLogEvents", "json"),
        ),
        (
            environ("GET", "/bucket/uploads/a%2Fb.jpg", authorization=SCOPE.format("s3")),
            ("s3", "GetObject", "rest-xml"),
        ),
        (environ("HEAD", "/bucket/k", authorization=SCOPE.format("s3")), ("s3", "HeadObject", "rest-xml")),
        (environ("DELETE", "/bucket/k", authorization=SCOPE.format("s3")), ("s3", "DeleteObject", "rest-xml")),
        (
            environ("GET", "/bucket", query="list-type=2&prefix=uploads/", authorization=SCOPE.format("s3")),
            ("s3", "ListObjectsV2", "rest-xml"),
        ),
    ],
)
def test_requests_are_described_by_service_and_operation(env: dict[str, Any], expected: tuple[str, str, str]):
    call = describe(env)
    assert call is not None and (call.service, call.operation, call.protocol) == expected


def test_the_body_is_still_there_for_moto_and_non_aws_requests_are_not_calls():
    env = environ(body=b'{"TableName": "t"}', x_amz_target="DynamoDB_20120810.GetItem")
    call = describe(env)
    assert call is not None and call.params == {"TableName": "t"}
    assert env["wsgi.input"].read() == b'{"TableName": "t"}'
    s3 = describe(environ("GET", "/bucket/uploads/a%2Fb.jpg", authorization=SCOPE.format("s3")))
    assert s3 is not None and (s3.bucket, s3.key) == ("bucket", "uploads/a/b.jpg")
    assert describe(environ("GET", "/_prakerja/faults")) is None
