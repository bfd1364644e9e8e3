"""Local-stack switches for overload work: the SES send rate (PRAKERJA_EMAIL_RATE_PER_S) and
DynamoDB's ClientRequestToken honoured by the local AWS."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from moto import mock_aws

from infra.local import ses_rate, transaction_tokens

ONE_ATTEMPT = Config(retries={"mode": "standard", "total_max_attempts": 1})


class ManualClock:
    def __init__(self) -> None:
        self.t = 100.0

    def __call__(self) -> float:
        return self.t


def test_the_send_rate_admits_at_most_n_a_second_then_refills() -> None:
    clock = ManualClock()
    rate = ses_rate.SendRate(2, clock)
    assert [rate.admit() for _ in range(4)] == [True, True, False, False]
    clock.t += 0.5
    assert [rate.admit() for _ in range(2)] == [True, False]
    clock.t += 10  # idle: at most one second of sends is banked
    assert [rate.admit() for _ in range(3)] == [True, True, False]


@pytest.mark.parametrize("raw", ["0", "-1", "fast"])
def test_a_bad_rate_setting_is_refused_by_name(raw: str) -> None:
    with pytest.raises(ValueError, match="PRAKERJA_EMAIL_RATE_PER_S"):
        ses_rate.rate_from_env({"PRAKERJA_EMAIL_RATE_PER_S": raw})
    assert ses_rate.rate_from_env({}) is None


@pytest.fixture
def aws() -> Iterator[None]:
    saved = dict(os.environ)
    os.environ.update(AWS_DEFAULT_REGION="ap-southeast-3", AWS_ACCESS_KEY_ID="x", AWS_SECRET_ACCESS_KEY="x")
    os.environ.pop("AWS_ENDPOINT_URL", None)
    try:
        with mock_aws():
            yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


def test_the_local_ses_throttles_beyond_the_rate_with_the_real_error(aws: None) -> None:
    ses = boto3.client("ses", config=ONE_ATTEMPT)
    ses.verify_email_identity(EmailAddress="no-reply@prakerja.local")
    refused: list[dict[str, Any]] = []
    ses_rate.apply(2.0)
    try:
        sends = [send(ses, refused) for _ in range(6)]
    finally:
        ses_rate.apply(None)  # process-wide: lift it for the other tests
    assert sends.count(True) in (2, 3)  # 2 banked, perhaps one refilled while sending
    assert refused, "a burst over the rate must be throttled"
    error = refused[0]["Error"]
    assert error["Code"] == "Throttling" and error["Message"] == "Maximum sending rate exceeded."
    assert refused[0]["ResponseMetadata"]["HTTPStatusCode"] == 400
    sent = ses.get_send_statistics()["SendDataPoints"]
    assert sum(int(p["DeliveryAttempts"]) for p in sent) == sends.count(True)


def send(ses: Any, refused: list[dict[str, Any]]) -> bool:
    try:
        ses.send_email(
            Source="no-reply@prakerja.local",
            Destination={"ToAddresses": ["budi@example.com"]},
            Message={"Subject": {"Data": "s"}, "Body": {"Text": {"Data": "t"}}},
        )
        return True
    except ClientError as exc:
        refused.append(exc.response)
        return False


def test_a_transaction_retried_with_its_token_is_written_once(aws: None) -> None:
    transaction_tokens.apply()
    ddb = boto3.client("dynamodb", config=ONE_ATTEMPT)
    ddb.create_table(
        TableName="t",
        BillingMode="PAY_PER_REQUEST",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
    )
    add_one = [
        {
            "Update": {
                "TableName": "t",
                "Key": {"pk": {"S": "counter"}},
                "UpdateExpression": "ADD n :one",
                "ExpressionAttributeValues": {":one": {"N": "1"}},
            }
        }
    ]
    token = uuid.uuid4().hex
    ddb.transact_write_items(TransactItems=add_one, ClientRequestToken=token)
    ddb.transact_write_items(TransactItems=add_one, ClientRequestToken=token)  # botocore's retry after a timeout
    assert ddb.get_item(TableName="t", Key={"pk": {"S": "counter"}})["Item"]["n"]["N"] == "1"
    ddb.transact_write_items(TransactItems=add_one, ClientRequestToken=uuid.uuid4().hex)
    ddb.transact_write_items(TransactItems=add_one)
    assert ddb.get_item(TableName="t", Key={"pk": {"S": "counter"}})["Item"]["n"]["N"] == "3"
    other = [{**add_one[0], "Update": {**add_one[0]["Update"], "Key": {"pk": {"S": "other"}}}}]
    with pytest.raises(ClientError) as exc:
        ddb.transact_write_items(TransactItems=other, ClientRequestToken=token)
    assert exc.value.response["Error"]["Code"] == "IdempotentParameterMismatchException"


def test_the_token_cache_forgets_after_ten_minutes() -> None:
    cache = transaction_tokens.TokenCache(lifetime_s=600, max_tokens=2)
    cache.put("a", "d", "answer", now=0)
    assert cache.get("a", now=599) == ("d", "answer")
    assert cache.get("a", now=600) is None
    for i, token in enumerate("bcd"):
        cache.put(token, "d", i, now=1000)
    assert cache.get("b", now=1000) is None and cache.get("d", now=1000) == ("d", 2)
