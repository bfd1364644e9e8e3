"""THE one place that decides which AWS failures are transient (throttled, briefly unavailable,
timed out) and turns them into the domain's DependencyBusy (a 503 `service-busy` with
Retry-After on the API; a later retry in a worker). Everything else stays what it was: a
bug or a permanent refusal is not hidden behind a 503.

botocore has already retried the call (runtime.py: standard mode, few attempts) when an error
reaches this module, so what arrives here is a dependency that stayed busy.
"""

from __future__ import annotations

from urllib.parse import urlparse

from botocore.exceptions import (
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    ReadTimeoutError,
)

from prakerja.domain.errors import DependencyBusy
from prakerja.domain.ports import TransientConflict

# Error codes (any service) meaning "too many requests" or "failed this time, retry".
TRANSIENT_CODES = frozenset(
    {
        # DynamoDB
        "ProvisionedThroughputExceededException",
        "ThrottlingException",
        "RequestLimitExceeded",
        "TransactionConflictException",
        "TransactionInProgressException",
        "InternalServerError",
        # KMS
        "KMSInternalException",
        "KeyUnavailableException",
        "DependencyTimeoutException",
        # Secrets Manager
        "InternalServiceError",
        # SES (query protocol), SQS, S3, generic
        "Throttling",
        "ThrottledException",
        "TooManyRequestsException",
        "RequestThrottled",
        "RequestThrottledException",
        "SlowDown",
        "ServiceUnavailable",
        "ServiceUnavailableException",
        "InternalFailure",
        "InternalError",
        "RequestTimeout",
        "RequestTimeoutException",
    }
)
# TransactWriteItems cancellation reasons that say nothing about the data (a retry may succeed).
TRANSIENT_CANCELLATION_REASONS = frozenset(
    {"TransactionConflict", "ThrottlingError", "ProvisionedThroughputExceeded", "None"}
)
THROTTLE_CANCELLATION_REASONS = frozenset({"ThrottlingError", "ProvisionedThroughputExceeded"})
_TIMEOUTS = (ConnectTimeoutError, ReadTimeoutError, EndpointConnectionError, ConnectionClosedError)

# Operation name -> the dependency it belongs to (ClientError carries the operation, not the service).
_DEPENDENCY_OF_OPERATION = {
    "GetSecretValue": "secretsmanager",
    "Encrypt": "kms",
    "Decrypt": "kms",
    "GenerateDataKey": "kms",
    "SendEmail": "ses",
    "SendRawEmail": "ses",
    "SendMessage": "sqs",
    "ChangeMessageVisibility": "sqs",
    "GetQueueAttributes": "sqs",
    "PutObject": "s3",
    "GetObject": "s3",
    "HeadObject": "s3",
    "DeleteObject": "s3",
}
_DYNAMODB_OPERATIONS = frozenset(
    {
        "GetItem",
        "PutItem",
        "UpdateItem",
        "DeleteItem",
        "Query",
        "Scan",
        "BatchGetItem",
        "BatchWriteItem",
        "TransactWriteItems",
        "TransactGetItems",
    }
)


def cancellation_reasons(exc: BaseException) -> list[str]:
    response = getattr(exc, "response", {}) or {}
    return [str(r.get("Code") or "None") for r in response.get("CancellationReasons", [])]


def is_transient_cancellation(reasons: list[str]) -> bool:
    """A cancelled transaction whose every reason is a conflict, a throttle or none: nothing
    about the data refused it, so the same transaction may succeed when retried."""
    return bool(reasons) and all(r in TRANSIENT_CANCELLATION_REASONS for r in reasons)


def dependency_of(exc: BaseException) -> str:
    operation = getattr(exc, "operation_name", "") or ""
    if operation in _DYNAMODB_OPERATIONS:
        return "dynamodb"
    if operation in _DEPENDENCY_OF_OPERATION:
        return _DEPENDENCY_OF_OPERATION[operation]
    endpoint = str(getattr(exc, "kwargs", {}).get("endpoint_url") or "")
    host = urlparse(endpoint).hostname or ""
    first = host.split(".", 1)[0]
    return first if first and not first.isdigit() and first != "localhost" else "aws"


def busy(exc: BaseException) -> DependencyBusy | None:
    """The DependencyBusy this exception means, or None when it is not a transient AWS failure."""
    if isinstance(exc, DependencyBusy):
        return exc
    if isinstance(exc, TransientConflict):
        return DependencyBusy("dynamodb")
    if isinstance(exc, _TIMEOUTS):
        return DependencyBusy(dependency_of(exc))
    if isinstance(exc, ClientError):
        code = str(exc.response.get("Error", {}).get("Code", ""))
        if code in TRANSIENT_CODES:
            return DependencyBusy(dependency_of(exc))
        if code == "TransactionCanceledException" and is_transient_cancellation(cancellation_reasons(exc)):
            return DependencyBusy("dynamodb")
        status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)
        if status in (500, 502, 503, 504):
            return DependencyBusy(dependency_of(exc))
    return None
