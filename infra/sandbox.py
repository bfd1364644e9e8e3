"""An in-process AWS sandbox (moto's mock_aws) holding the stack's resources, for handler tests
and the AWS-call benchmark. The resources mirror template.yaml's (same keys, stream, queues)."""

from __future__ import annotations

import importlib.util
import json
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
REGION = "ap-southeast-3"


@dataclass
class Sandbox:
    env: dict[str, str]

    def client(self, service: str) -> Any:
        import boto3

        if service == "dynamodbstreams":  # moto's in-process mock only routes the explicit endpoint
            return boto3.client(
                service, region_name=REGION, endpoint_url=f"https://streams.dynamodb.{REGION}.amazonaws.com"
            )
        return boto3.client(service, region_name=REGION)


def _create(env: dict[str, str]) -> None:
    import boto3

    ddb = boto3.client("dynamodb", region_name=REGION)
    ddb.create_table(
        TableName="prakerja-sandbox",
        BillingMode="PAY_PER_REQUEST",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "S"},
        ],
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
    )
    sqs = boto3.client("sqs", region_name=REGION)
    for name in ("email", "nik", "photo"):
        dlq = sqs.create_queue(QueueName=f"sandbox-{name}-dlq")["QueueUrl"]
        dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        url = sqs.create_queue(
            QueueName=f"sandbox-{name}",
            Attributes={
                "VisibilityTimeout": "60",
                "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 10}),
            },
        )["QueueUrl"]
        env[f"{name.upper()}_QUEUE_URL"] = url
    env["STREAM_DLQ_URL"] = sqs.create_queue(QueueName="sandbox-stream-dlq")["QueueUrl"]
    sm = boto3.client("secretsmanager", region_name=REGION)
    for purpose in ("token", "code"):
        secret = sm.create_secret(Name=f"sandbox-{purpose}-secret", SecretString=f"sandbox-{purpose}-key-" + "x" * 40)
        env[f"{purpose.upper()}_SECRET_ARN"] = secret["ARN"]
    kms = boto3.client("kms", region_name=REGION)
    env["NIK_KMS_KEY_ID"] = kms.create_key()["KeyMetadata"]["KeyId"]
    env["NIK_MAC_KEY_ID"] = kms.create_key(KeySpec="HMAC_256", KeyUsage="GENERATE_VERIFY_MAC")["KeyMetadata"]["KeyId"]
    s3 = boto3.client("s3", region_name=REGION)
    s3.create_bucket(Bucket="prakerja-sandbox-photos", CreateBucketConfiguration={"LocationConstraint": REGION})
    ses = boto3.client("ses", region_name=REGION)
    ses.verify_email_identity(EmailAddress=env["SENDER_EMAIL"])
    ses.create_configuration_set(ConfigurationSet={"Name": "prakerja-sandbox-events"})
    env["CONFIGURATION_SET"] = "prakerja-sandbox-events"
    env["EMAIL_EVENTS_QUEUE_URL"] = sqs.create_queue(QueueName="sandbox-email-events")["QueueUrl"]


def reset_caches() -> None:
    from prakerja import composition

    composition.reset()


@contextmanager
def sandbox(**overrides: str) -> Iterator[Sandbox]:
    from moto import mock_aws

    from infra.local import moto_fixes

    moto_fixes.apply()
    env = {
        "AWS_DEFAULT_REGION": REGION,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",  # nosec B105 # moto's dummy credentials
        "TABLE_NAME": "prakerja-sandbox",
        "PHOTO_BUCKET": "prakerja-sandbox-photos",
        "SENDER_EMAIL": "no-reply@prakerja.local",
        "REGISTRY_URL": "http://127.0.0.1:9",
        "STAGE": "test",
        "POWERTOOLS_TRACE_DISABLED": "true",
        "POWERTOOLS_METRICS_DISABLED": "true",
        "POWERTOOLS_LOG_LEVEL": "WARNING",
        "PASSWORD_SCRYPT_N": "1024",  # nosec B105 # scrypt cost for tests, not a password
        **overrides,
    }
    saved = dict(os.environ)
    os.environ.pop("AWS_ENDPOINT_URL", None)
    os.environ.update(env)
    with mock_aws():
        _create(env)
        os.environ.update(env)
        reset_caches()
        try:
            yield Sandbox(env)
        finally:
            reset_caches()
            os.environ.clear()
            os.environ.update(saved)


def load_handler(function: str) -> Callable[[dict[str, Any], Any], Any]:
    """Import functions/<function>/app.py under a unique module name (as Lambda would)."""
    name = f"lambda_{function}_app"
    module: ModuleType | None = sys.modules.get(name)
    if module is None:
        src = str(ROOT / "src")
        if src not in sys.path:
            sys.path.insert(0, src)
        spec = importlib.util.spec_from_file_location(name, ROOT / "functions" / function / "app.py")
        assert spec and spec.loader  # nosec B101 # type narrowing of importlib's Optional
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return module.handler  # type: ignore[no-any-return]


class FakeContext:
    function_name = "sandbox"
    function_version = "$LATEST"
    invoked_function_arn = "arn:aws:lambda:ap-southeast-3:123456789012:function:sandbox"
    memory_limit_in_mb = 1024
    aws_request_id = "00000000-0000-0000-0000-000000000000"
    log_group_name = "/aws/lambda/sandbox"
    log_stream_name = "sandbox"

    @staticmethod
    def get_remaining_time_in_millis() -> int:
        return 10_000


def api_event(
    method: str,
    resource: str,
    path: str,
    *,
    body: Any = None,
    token: str | None = None,
    headers: dict[str, str] | None = None,
    path_parameters: dict[str, str] | None = None,
    query: dict[str, str] | None = None,
) -> dict[str, Any]:
    """An API Gateway REST (v1) proxy event."""
    hdrs = {"Content-Type": "application/json", **(headers or {})}
    if token:
        hdrs["Authorization"] = f"Bearer {token}"
    raw = body if isinstance(body, str) or body is None else json.dumps(body)
    return {
        "resource": resource,
        "path": path,
        "httpMethod": method,
        "headers": hdrs,
        "multiValueHeaders": {k: [v] for k, v in hdrs.items()},
        "queryStringParameters": query,
        "multiValueQueryStringParameters": {k: [v] for k, v in query.items()} if query else None,
        "pathParameters": path_parameters,
        "stageVariables": None,
        "requestContext": {
            "resourcePath": resource,
            "httpMethod": method,
            "stage": "test",
            "requestId": "req-1",
            "path": f"/test{path}",
            "identity": {"sourceIp": "127.0.0.1"},
        },
        "body": raw,
        "isBase64Encoded": False,
    }
