"""The one classification of AWS failures: transient ones become DependencyBusy (503), the rest
stay errors (500, or the caller's own handling)."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError, ConnectTimeoutError, ReadTimeoutError

from prakerja.adapters.aws_errors import busy, is_transient_cancellation
from prakerja.domain.errors import DependencyBusy
from prakerja.domain.ports import TransientConflict


def client_error(code: str, operation: str, status: int = 400, **extra: Any) -> ClientError:
    return ClientError({"Error": {"Code": code}, "ResponseMetadata": {"HTTPStatusCode": status}, **extra}, operation)


@pytest.mark.parametrize(
    ("exc", "dependency"),
    [
        (client_error("ProvisionedThroughputExceededException", "PutItem"), "dynamodb"),
        (client_error("ThrottlingException", "TransactWriteItems"), "dynamodb"),
        (client_error("RequestLimitExceeded", "GetItem"), "dynamodb"),
        (client_error("InternalServerError", "UpdateItem", 500), "dynamodb"),
        (client_error("TransactionConflictException", "UpdateItem"), "dynamodb"),
        (client_error("ThrottlingException", "Encrypt"), "kms"),
        (client_error("KMSInternalException", "Decrypt", 500), "kms"),
        (client_error("KeyUnavailableException", "Encrypt", 500), "kms"),
        (client_error("ThrottlingException", "GetSecretValue"), "secretsmanager"),
        (client_error("Throttling", "SendEmail"), "ses"),
        (client_error("SlowDown", "PutObject", 503), "s3"),
        (client_error("SomethingNew", "GetQueueAttributes", 503), "sqs"),
        (ReadTimeoutError(endpoint_url="https://kms.ap-southeast-3.amazonaws.com/"), "kms"),
        (ConnectTimeoutError(endpoint_url="http://127.0.0.1:5000/"), "aws"),
        (TransientConflict(), "dynamodb"),
    ],
)
def test_transient_failures_are_busy_with_their_dependency(exc: Exception, dependency: str) -> None:
    found = busy(exc)
    assert isinstance(found, DependencyBusy) and found.dependency == dependency
    assert found.retry_after_s is not None and 1 <= found.retry_after_s <= 5


def test_a_cancellation_is_transient_only_when_no_reason_is_about_the_data() -> None:
    assert is_transient_cancellation(["None", "TransactionConflict", "None"])
    assert is_transient_cancellation(["ThrottlingError", "None"])
    assert not is_transient_cancellation(["ConditionalCheckFailed", "TransactionConflict"])
    assert not is_transient_cancellation([])
    cancelled = client_error(
        "TransactionCanceledException",
        "TransactWriteItems",
        CancellationReasons=[{"Code": "ConditionalCheckFailed"}, {"Code": "None"}],
    )
    assert busy(cancelled) is None


@pytest.mark.parametrize(
    "exc",
    [
        client_error("ValidationException", "PutItem"),
        client_error("AccessDeniedException", "Encrypt"),
        client_error("ResourceNotFoundException", "GetSecretValue"),
        ValueError("a bug"),
    ],
)
def test_bugs_and_permanent_refusals_are_not_hidden_behind_a_503(exc: Exception) -> None:
    assert busy(exc) is None


def test_retry_after_is_jittered() -> None:
    assert len({DependencyBusy("dynamodb").retry_after_s for _ in range(200)}) > 1
