"""Fault injection in the local AWS: the spec, which calls meet faults, and each fault on the wire as
botocore parses it (error code, status, retryable or not), with the operation not applied."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
import requests
from botocore.awsrequest import AWSResponse
from botocore.config import Config
from botocore.exceptions import ClientError, ReadTimeoutError
from botocore.retries import standard

from infra.launcher import ROOT
from infra.local.awswire import AwsCall
from infra.local.faults import ADMIN_PATH, FaultInjector, FaultRule, FaultSpecError, parse_spec
from infra.local.moto_server import MotoServer
from infra.local.principal import PRINCIPAL_ENVIRON

REGION = "ap-southeast-3"


# -- the spec ----------------------------------------------------------------------------------------
def test_the_documented_example_parses():
    rules = parse_spec("dynamodb:TransactWriteItems=0.05,sqs:*=0.02,*:*=0.01")
    assert rules == [
        FaultRule("dynamodb", "TransactWriteItems", 0.05),
        FaultRule("sqs", "*", 0.02),
        FaultRule("*", "*", 0.01),
    ]


def test_named_faults_percentages_and_slow_forms():
    rules = parse_spec(
        " dynamodb:Transact*=5%/transactionconflict , SES:SendEmail=1/Throttling,"
        "kms:Decrypt=0.1/timeout:6s,dynamodb:PutItem=0.5/late:2,secretsmanager:*=1/delay:0.25,"
        "dynamodb:GetItem=1/ProvisionedThroughputExceeded"
    )
    assert rules == [
        FaultRule("dynamodb", "Transact*", 0.05, "TransactionConflict"),
        FaultRule("ses", "SendEmail", 1.0, "Throttling"),
        FaultRule("kms", "Decrypt", 0.1, None, "timeout", 6.0),
        FaultRule("dynamodb", "PutItem", 0.5, None, "late", 2.0),
        FaultRule("secretsmanager", "*", 1.0, None, "delay", 0.25),
        FaultRule("dynamodb", "GetItem", 1.0, "ProvisionedThroughputExceededException"),
    ]
    assert parse_spec("") == [] and parse_spec(" , ") == []


@pytest.mark.parametrize(
    ("spec", "complaint"),
    [
        ("dynamodb=0.1", "expected <service>:<operation>=<rate>"),
        ("lambda:Invoke=0.1", "unknown service 'lambda'"),
        ("dynamodb:GetItem=1.5", "between 0 and 1"),
        ("dynamodb:GetItem=150%", "between 0 and 1"),
        ("sqs:*=0.1/SlowDown", "unknown fault 'SlowDown'"),
        ("sqs:*=0.1/timeout:soon", "needs a number of seconds"),
        ("sqs:*=0.1/late:0", "seconds must be > 0"),
    ],
)
def test_bad_specs_name_the_rule_and_the_reason(spec: str, complaint: str):
    with pytest.raises(FaultSpecError, match=complaint):
        parse_spec(spec)


def injector(spec: str, **kwargs: Any) -> FaultInjector:
    return FaultInjector(lambda e, s: [b"moto"], parse_spec(spec), seed=7, **kwargs)


def call(service: str, operation: str, **params: Any) -> AwsCall:
    return AwsCall(service, operation, "json", params)


def test_the_most_specific_rules_win():
    faults = injector("*:*=1,dynamodb:*=1/ThrottlingException,dynamodb:GetItem=0")
    assert faults.decide(call("dynamodb", "GetItem")) is None  # named operation at 0 beats the wildcards
    assert faults.decide(call("dynamodb", "PutItem")).error == "ThrottlingException"  # type: ignore[union-attr]
    assert faults.decide(call("sqs", "SendMessage")) is not None


def test_rates_are_shares_of_calls():
    faults = injector("dynamodb:GetItem=0.2")
    hits = sum(faults.decide(call("dynamodb", "GetItem")) is not None for _ in range(5000))
    assert 850 < hits < 1150


def test_a_conflict_only_meets_operations_that_can_conflict():
    faults = injector("dynamodb:*=1/TransactionConflict")
    assert faults.decide(call("dynamodb", "GetItem")) is None
    assert faults.decide(call("dynamodb", "TransactWriteItems")) is not None
    mix = injector("dynamodb:GetItem=1")
    assert {mix.decide(call("dynamodb", "GetItem")).error for _ in range(200)} == {  # type: ignore[union-attr]
        "ProvisionedThroughputExceededException",
        "ThrottlingException",
        "RequestLimitExceeded",
        "InternalServerError",
    }


def test_only_function_calls_meet_faults_unless_the_scope_is_all():
    seen: list[str] = []

    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        seen.append("moto")
        start_response("200 OK", [])
        return [b"{}"]

    environ = {"REQUEST_METHOD": "POST", "PATH_INFO": "/", "HTTP_X_AMZ_TARGET": "DynamoDB_20120810.GetItem"}
    statuses: list[str] = []
    for scope_all, principal in ((False, None), (False, "RegisterFunction"), (True, None)):
        faults = FaultInjector(app, parse_spec("dynamodb:*=1/ThrottlingException"), scope_all=scope_all)
        env = {**environ, "wsgi.input": __import__("io").BytesIO(b"{}"), "CONTENT_LENGTH": "2"}
        if principal:
            env[PRINCIPAL_ENVIRON] = principal
        faults(env, lambda status, headers: statuses.append(status))
    assert statuses == ["200 OK", "400 Bad Request", "400 Bad Request"]
    assert seen == ["moto"]  # the faulted calls never reached moto


# -- on the wire -------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def server() -> Iterator[MotoServer]:
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PRAKERJA_LOCAL_IAM", "off")
        mp.setenv("PRAKERJA_LOCAL_FAULTS_SCOPE", "all")
        mp.delenv("PRAKERJA_LOCAL_FAULTS", raising=False)
        moto = MotoServer(0, REGION)
        moto.start()
    yield moto
    moto.stop()


def set_faults(server: MotoServer, spec: str) -> dict[str, Any]:
    r = requests.put(server.url + ADMIN_PATH, data=spec, timeout=5)
    assert r.status_code == 200, r.text
    return dict(r.json())


def client(server: MotoServer, service: str, **config: Any) -> Any:
    return boto3.session.Session().client(  # type: ignore[call-overload]
        service,
        region_name=REGION,
        endpoint_url=server.url,
        aws_access_key_id="local",
        aws_secret_access_key="local",
        config=Config(retries={"mode": "standard", "total_max_attempts": 1}, **config),
    )


def failure(server: MotoServer, spec: str, operation: Any) -> tuple[dict[str, Any], str]:
    """The parsed error of one call under `spec` and how botocore's standard retry mode classes it."""
    set_faults(server, spec)
    try:
        with pytest.raises(ClientError) as caught:
            operation()
    finally:
        set_faults(server, "")
    response = dict(caught.value.response)
    status = response["ResponseMetadata"]["HTTPStatusCode"]
    context = standard.RetryContext(
        attempt_number=1,
        parsed_response=response,
        http_response=AWSResponse("http://local", status, {}, None),
    )
    if standard.ThrottledRetryableChecker().is_retryable(context):
        kind = "throttle"
    elif standard.TransientRetryableChecker().is_retryable(context):
        kind = "transient"
    else:
        kind = "not retried"
    return response, kind


@pytest.fixture(scope="module")
def table(server: MotoServer) -> str:
    ddb = client(server, "dynamodb")
    ddb.create_table(
        TableName="faults",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    return "faults"


@pytest.mark.parametrize(
    ("fault", "code", "status", "kind"),
    [
        ("ProvisionedThroughputExceededException", "ProvisionedThroughputExceededException", 400, "throttle"),
        ("ThrottlingException", "ThrottlingException", 400, "throttle"),
        ("RequestLimitExceeded", "RequestLimitExceeded", 400, "throttle"),
        ("InternalServerError", "InternalServerError", 500, "transient"),
        ("TransactionConflict", "TransactionConflictException", 400, "not retried"),
    ],
)
def test_dynamodb_errors_and_the_write_is_not_applied(server, table, fault, code, status, kind):
    ddb = client(server, "dynamodb")
    item = {"pk": {"S": f"put-{fault}"}}
    response, seen = failure(server, f"dynamodb:PutItem=1/{fault}", lambda: ddb.put_item(TableName=table, Item=item))
    assert (response["Error"]["Code"], response["ResponseMetadata"]["HTTPStatusCode"], seen) == (code, status, kind)
    assert "Item" not in ddb.get_item(TableName=table, Key=item)


def test_transaction_conflict_has_cancellation_reasons_and_writes_nothing(server, table):
    ddb = client(server, "dynamodb")
    items = [{"Put": {"TableName": table, "Item": {"pk": {"S": f"tx-{i}"}}}} for i in range(3)]
    response, kind = failure(
        server,
        "dynamodb:TransactWriteItems=1/TransactionConflict",
        lambda: ddb.transact_write_items(TransactItems=items),
    )
    assert response["Error"]["Code"] == "TransactionCanceledException" and kind == "not retried"
    codes = [r["Code"] for r in response["CancellationReasons"]]
    assert sorted(codes) == ["None", "None", "TransactionConflict"]
    assert "TransactionConflict" in response["Error"]["Message"]
    for i in range(3):
        assert "Item" not in ddb.get_item(TableName=table, Key={"pk": {"S": f"tx-{i}"}})
    assert set_faults(server, "")["total"] == 0  # the counts restart with new rules


def test_sqs_throttles_in_the_json_protocol_and_nothing_is_sent(server):
    sqs = client(server, "sqs")
    url = sqs.create_queue(QueueName="faults-q")["QueueUrl"]
    for fault in ("RequestThrottled", "ThrottlingException"):
        response, kind = failure(
            server, f"sqs:SendMessage=1/{fault}", lambda: sqs.send_message(QueueUrl=url, MessageBody="x")
        )
        assert (response["Error"]["Code"], kind) == (fault, "throttle")
        assert response["Error"]["Type"] == "Sender"  # from x-amzn-query-error, as botocore reads SQS
    with pytest.raises(sqs.exceptions.RequestThrottled):
        set_faults(server, "sqs:SendMessage=1/RequestThrottled")
        try:
            sqs.send_message(QueueUrl=url, MessageBody="x")
        finally:
            set_faults(server, "")
    assert "Messages" not in sqs.receive_message(QueueUrl=url)


def test_ses_throttling_in_the_query_protocol(server):
    ses = client(server, "ses")
    ses.verify_email_identity(EmailAddress="no-reply@faults.test")
    send = lambda: ses.send_email(  # noqa: E731
        Source="no-reply@faults.test",
        Destination={"ToAddresses": ["someone@faults.test"]},
        Message={"Subject": {"Data": "s"}, "Body": {"Text": {"Data": "t"}}},
    )
    response, kind = failure(server, "ses:SendEmail=1/Throttling", send)
    assert (response["Error"]["Code"], response["Error"]["Message"], kind) == (
        "Throttling",
        "Maximum sending rate exceeded.",
        "throttle",
    )
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 400


def test_kms_secrets_manager_and_s3(server):
    kms, secrets, s3 = client(server, "kms"), client(server, "secretsmanager"), client(server, "s3")
    key = kms.create_key()["KeyMetadata"]["KeyId"]
    response, kind = failure(
        server, "kms:Encrypt=1/ThrottlingException", lambda: kms.encrypt(KeyId=key, Plaintext=b"x")
    )
    assert (response["Error"]["Code"], kind) == ("ThrottlingException", "throttle")
    response, kind = failure(server, "kms:*=1/KMSInternalException", lambda: kms.describe_key(KeyId=key))
    assert (response["Error"]["Code"], response["ResponseMetadata"]["HTTPStatusCode"], kind) == (
        "KMSInternalException",
        500,
        "transient",
    )
    secrets.create_secret(Name="faults-secret", SecretString="s")
    response, kind = failure(
        server, "secretsmanager:GetSecretValue=1/Throttling", lambda: secrets.get_secret_value(SecretId="faults-secret")
    )
    assert (response["Error"]["Code"], kind) == ("ThrottlingException", "throttle")
    s3.create_bucket(Bucket="faults-bucket", CreateBucketConfiguration={"LocationConstraint": REGION})
    response, kind = failure(
        server, "s3:PutObject=1/SlowDown", lambda: s3.put_object(Bucket="faults-bucket", Key="k", Body=b"x")
    )
    assert (response["Error"]["Code"], response["ResponseMetadata"]["HTTPStatusCode"], kind) == (
        "SlowDown",
        503,
        "throttle",
    )
    with pytest.raises(ClientError, match="NoSuchKey"):
        s3.get_object(Bucket="faults-bucket", Key="k")


def test_timeout_is_not_applied_and_late_is(server, table):
    ddb = client(server, "dynamodb", read_timeout=0.5, connect_timeout=1)
    check = client(server, "dynamodb")
    set_faults(server, "dynamodb:PutItem=1/timeout:1.5")
    try:
        with pytest.raises(ReadTimeoutError):
            ddb.put_item(TableName=table, Item={"pk": {"S": "timed-out"}})
        time.sleep(1.5)  # the server has answered by now
    finally:
        set_faults(server, "")
    assert "Item" not in check.get_item(TableName=table, Key={"pk": {"S": "timed-out"}})

    snapshot = set_faults(server, "dynamodb:PutItem=1/late:1.5")
    assert snapshot["rules"] == ["dynamodb:PutItem=1/late:1.5"]
    try:
        with pytest.raises(ReadTimeoutError):
            ddb.put_item(TableName=table, Item={"pk": {"S": "applied-late"}})
    finally:
        counts = requests.get(server.url + ADMIN_PATH, timeout=5).json()
        set_faults(server, "")
    assert counts["injected"] == {"dynamodb:PutItem/late:1.5": 1}
    assert check.get_item(TableName=table, Key={"pk": {"S": "applied-late"}})["Item"]


def test_delay_is_slow_but_succeeds(server, table):
    ddb = client(server, "dynamodb")
    set_faults(server, "dynamodb:GetItem=1/delay:0.4")
    try:
        started = time.monotonic()
        ddb.get_item(TableName=table, Key={"pk": {"S": "nothing"}})
        elapsed = time.monotonic() - started
    finally:
        set_faults(server, "")
    assert elapsed >= 0.4


def test_the_admin_path_rejects_bad_specs_and_other_hosts(server):
    r = requests.put(server.url + ADMIN_PATH, data="dynamodb:GetItem=2", timeout=5)
    assert r.status_code == 400 and "between 0 and 1" in r.json()["error"]
    faults = FaultInjector(lambda e, s: [b""], [])
    statuses: list[str] = []
    body = faults(
        {"PATH_INFO": ADMIN_PATH, "REQUEST_METHOD": "GET", "REMOTE_ADDR": "10.1.2.3"}, lambda s, h: statuses.append(s)
    )
    assert statuses == ["403 FORBIDDEN"] and "loopback" in json.loads(b"".join(body))["error"]


def test_counted_rules_fail_exactly_the_next_n_calls():
    rules = parse_spec("dynamodb:TransactWriteItems=#2/TransactionConflict,dynamodb:GetItem=#1")
    assert rules[0] == FaultRule("dynamodb", "TransactWriteItems", 1.0, "TransactionConflict", count=2)
    assert rules[0].describe() == "dynamodb:TransactWriteItems=#2/TransactionConflict"
    faults = FaultInjector(lambda e, s: [b""], rules)
    hits = [faults.decide(call("dynamodb", "TransactWriteItems")) is not None for _ in range(4)]
    assert hits == [True, True, False, False]
    assert faults.decide(call("dynamodb", "PutItem")) is None  # no rule for it
    assert faults.decide(call("dynamodb", "GetItem")) is not None
    assert faults.decide(call("dynamodb", "GetItem")) is None
    faults.set_rules(rules)  # new rules, fresh counts
    assert faults.decide(call("dynamodb", "GetItem")) is not None


@pytest.mark.parametrize(
    ("variable", "value", "complaint"),
    [
        ("PRAKERJA_LOCAL_FAULTS", "dynamodb:GetItem=2", "rate must be between 0 and 1"),
        ("PRAKERJA_LOCAL_FAULTS_SCOPE", "everything", "must be 'functions' or 'all'"),
        ("PRAKERJA_LOCAL_IAM", "maybe", "must be 'on' or 'off'"),
    ],
)
def test_the_stack_refuses_bad_switches_before_starting_anything(variable: str, value: str, complaint: str):
    env = {**os.environ, variable: value, "PRAKERJA_PORT": "0", "PRAKERJA_AWS_PORT": "0", "PRAKERJA_REGISTRY_PORT": "0"}
    done = subprocess.run(
        [sys.executable, "-m", "infra.local"],
        check=False,
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert complaint in done.stderr
    assert "READY" not in done.stdout and "[registry]" not in done.stdout + done.stderr  # nothing started
