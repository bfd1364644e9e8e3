"""Overload is a 503, never a 500: every transient AWS failure on a request path, per error class,
at handler level under moto.

The failure is injected into the function's own boto3 client (runtime.aws_client):
- service errors with a `before-call` hook, like botocore's Stubber (the call never reaches
  moto; botocore raises the ClientError the service would cause);
- connection failures and timeouts with a `before-send` hook that raises them, ahead of moto,
  so botocore's standard-mode retries run exactly as against AWS.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from botocore.awsrequest import AWSResponse
from botocore.exceptions import ConnectionClosedError, ConnectTimeoutError, EndpointConnectionError, ReadTimeoutError
from moto.core.botocore_stubber import MockRawResponse

from infra.sandbox import FakeContext, Sandbox, api_event, load_handler, sandbox
from prakerja import runtime
from tests.handlers.pipeline import body

JSON_PREFIX = {"dynamodb": "com.amazonaws.dynamodb.v20120810#", "kms": "", "secretsmanager": ""}
EVENT_SERVICE = {"dynamodb": "dynamodb", "kms": "kms", "secretsmanager": "secrets-manager"}


@pytest.fixture
def box(monkeypatch: pytest.MonkeyPatch) -> Iterator[Sandbox]:
    monkeypatch.setattr("botocore.endpoint.time.sleep", lambda s: None)  # botocore's retry backoff
    with sandbox(POWERTOOLS_METRICS_DISABLED="false") as b:
        yield b


class Fault:
    """Fails one operation of the function's client `times` times (None: always); counts the
    calls and keeps their request bodies."""

    def __init__(self, service: str, operation: str, answer: Callable[[], Any], times: int | None = None) -> None:
        self.calls = 0
        self.bodies: list[str] = []
        self._answer = answer
        self._times = times
        stage = "before-send" if getattr(answer, "raises", False) else "before-call"
        runtime.aws_client(service).meta.events.register_first(
            f"{stage}.{EVENT_SERVICE[service]}.{operation}", self._hook
        )

    def _hook(self, **kwargs: Any) -> Any:
        self.calls += 1
        raw = kwargs["request"].body if "request" in kwargs else kwargs["params"]["body"]
        self.bodies.append(raw.decode() if isinstance(raw, bytes) else str(raw or ""))
        if self._times is not None and self.calls > self._times:
            return None  # moto answers
        return self._answer()


def json_error(service: str, code: str, status: int = 400, **extra: Any) -> Callable[[], Any]:
    """The parsed error answer of a service (what botocore's Stubber hands back)."""

    def answer() -> Any:
        parsed = {
            "Error": {"Code": code, "Message": "injected"},
            "ResponseMetadata": {"HTTPStatusCode": status},
            **extra,
        }
        return AWSResponse("https://aws.invalid/", status, {}, MockRawResponse(json.dumps(parsed))), parsed

    return answer


def raise_(exc: Exception) -> Callable[[], Any]:
    def answer() -> Any:
        raise exc

    answer.raises = True  # type: ignore[attr-defined]
    return answer


def call(function: str, event: dict[str, Any]) -> dict[str, Any]:
    return load_handler(function)(event, FakeContext())  # type: ignore[no-any-return]


PERSON = {
    "password": "password-123",
    "full_name": "Budi Santoso",
    "phone": "081234567890",
    "consent": {"terms_version": "2026-01", "accepted": True},
}


def register(email: str = "budi@example.com") -> dict[str, Any]:
    return call("register", api_event("POST", "/registrations", "/registrations", body={"email": email, **PERSON}))


def verify(rid: str, code: str = "000000") -> dict[str, Any]:
    return call(
        "verify_email",
        api_event(
            "POST",
            "/registrations/{id}/email-verification",
            f"/registrations/{rid}/email-verification",
            body={"code": code},
            path_parameters={"id": rid},
        ),
    )


def assert_busy(response: dict[str, Any], dependency: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert response["statusCode"] == 503, response
    assert response["headers"]["Content-Type"] == "application/problem+json"
    problem = body(response)
    assert problem["type"] == "service-busy" and problem["status"] == 503
    assert 1 <= int(response["headers"]["Retry-After"]) <= 5
    assert "injected" not in response["body"]  # no AWS error text leaks to the person
    emitted = [json.loads(line) for line in capsys.readouterr().out.splitlines() if '"ServiceBusy"' in line]
    assert any(m.get("dependency") == dependency and m.get("ServiceBusy") == [1.0] for m in emitted), emitted


def stored_registrations(box: Sandbox) -> int:
    items = box.client("dynamodb").scan(TableName=box.env["TABLE_NAME"])["Items"]
    return sum(1 for i in items if i["sk"]["S"] == "REG")


# -- DynamoDB: TransactWriteItems on POST /registrations ---------------------------------------------
@pytest.mark.parametrize(
    ("code", "status"),
    [
        ("ProvisionedThroughputExceededException", 400),
        ("ThrottlingException", 400),
        ("RequestLimitExceeded", 400),
        ("InternalServerError", 500),
    ],
)
def test_given_dynamodb_throttling_when_registering_then_503_busy(box, capsys, code, status):
    Fault("dynamodb", "TransactWriteItems", json_error("dynamodb", code, status))
    assert_busy(register(), "dynamodb", capsys)
    assert stored_registrations(box) == 0


def conflict() -> Any:
    reasons = [{"Code": "None"}, {"Code": "TransactionConflict", "Message": "conflict"}, {"Code": "None"}]
    return json_error("dynamodb", "TransactionCanceledException", 400, CancellationReasons=reasons)()


def test_given_a_lasting_transaction_conflict_then_503_after_retrying_the_transaction(box, capsys):
    fault = Fault("dynamodb", "TransactWriteItems", conflict)
    assert_busy(register(), "dynamodb", capsys)
    assert fault.calls == 3  # our own jittered retries of the cancelled transaction
    assert stored_registrations(box) == 0


def test_given_a_throttled_cancellation_reason_then_503_not_500(box, capsys):
    def throttled() -> Any:
        reasons = [{"Code": "ThrottlingError"}, {"Code": "None"}, {"Code": "None"}]
        return json_error("dynamodb", "TransactionCanceledException", 400, CancellationReasons=reasons)()

    Fault("dynamodb", "TransactWriteItems", throttled)
    assert_busy(register(), "dynamodb", capsys)
    # with an Idempotency-Key too: a throttle is not "the first request is still in flight" (409)
    r = call(
        "register",
        api_event(
            "POST",
            "/registrations",
            "/registrations",
            body={"email": "budi@example.com", **PERSON},
            headers={"Idempotency-Key": "k-1"},
        ),
    )
    assert_busy(r, "dynamodb", capsys)


def test_given_a_passing_conflict_then_the_retried_transaction_succeeds(box):
    fault = Fault("dynamodb", "TransactWriteItems", conflict, times=1)
    r = register()
    assert r["statusCode"] == 201
    assert fault.calls == 2 and stored_registrations(box) == 1
    tokens = {json.loads(b)["ClientRequestToken"] for b in fault.bodies}
    assert len(tokens) == 2  # each attempt is its own idempotent transaction


def test_given_a_racer_that_won_during_the_conflict_then_the_loser_gets_the_contract_answer(box):
    """The losing racer must get the contract's answer, not a spurious 503: the winner's (unverified)
    registration just had its code email, so taking the address over now is too soon (429)."""
    register("budi@example.com")  # the winner (already committed when the loser retries)
    Fault("dynamodb", "TransactWriteItems", conflict, times=1)
    r = register("budi@example.com")
    assert r["statusCode"] == 429 and body(r)["type"] == "resend-too-soon", r


def test_every_transaction_carries_a_client_request_token(box):
    fault = Fault("dynamodb", "TransactWriteItems", lambda: None)
    assert register()["statusCode"] == 201
    sent = json.loads(fault.bodies[0])
    assert len(sent["ClientRequestToken"]) == 32


# -- Secrets Manager (the keys, read on a cold start) ---------------------------------------------------
@pytest.mark.parametrize("code", ["ThrottlingException", "InternalServiceError"])
def test_given_secrets_manager_throttling_then_503(box, capsys, code):
    rid = body(register())["registration_id"]  # registering reads no secret (keys per purpose)
    Fault("secretsmanager", "GetSecretValue", json_error("secretsmanager", code, 400))
    assert_busy(verify(rid), "secretsmanager", capsys)  # checking a code reads the code key


# -- KMS (NIK encryption on POST /registrations/{id}/nik) -------------------------------------------------
def verified(box: Sandbox) -> tuple[str, str]:
    from prakerja.adapters.keys import reg_key
    from prakerja.composition import keys
    from prakerja.domain.security import issue_token

    rid = body(register())["registration_id"]
    box.client("dynamodb").update_item(
        TableName=box.env["TABLE_NAME"],
        Key=reg_key(rid),
        UpdateExpression="SET email_verified = :t",
        ExpressionAttributeValues={":t": {"BOOL": True}},
    )
    return rid, issue_token(keys().token, rid, now=int(time.time()), ttl_s=600)


NIK = {"nik": "3201014107900001", "full_name": "Budi Santoso", "birth_date": "1990-07-01", "gender": "F"}


@pytest.mark.parametrize(
    ("code", "status"),
    [("ThrottlingException", 400), ("KMSInternalException", 500), ("KeyUnavailableException", 500)],
)
def test_given_kms_throttling_or_transient_failure_when_submitting_a_nik_then_503(box, capsys, code, status):
    rid, token = verified(box)
    Fault("kms", "Encrypt", json_error("kms", code, status))
    r = call(
        "verify_nik",
        api_event(
            "POST",
            "/registrations/{id}/nik",
            f"/registrations/{rid}/nik",
            body=NIK,
            token=token,
            path_parameters={"id": rid},
        ),
    )
    assert_busy(r, "kms", capsys)
    item = box.client("dynamodb").get_item(
        TableName=box.env["TABLE_NAME"], Key={"pk": {"S": f"REG#{rid}"}, "sk": {"S": "REG"}}
    )
    assert item["Item"].get("nik_status", {}).get("S", "NONE") == "NONE"  # nothing half-written


# -- connection failures and timeouts -----------------------------------------------------------------------
@pytest.mark.parametrize(
    "exc",
    [
        ReadTimeoutError(endpoint_url="https://dynamodb.ap-southeast-3.amazonaws.com/"),
        ConnectTimeoutError(endpoint_url="https://dynamodb.ap-southeast-3.amazonaws.com/"),
        EndpointConnectionError(endpoint_url="https://dynamodb.ap-southeast-3.amazonaws.com/"),
        ConnectionClosedError(endpoint_url="https://dynamodb.ap-southeast-3.amazonaws.com/"),
    ],
    ids=lambda e: type(e).__name__,
)
def test_given_a_dynamodb_timeout_when_verifying_a_code_then_503(box, capsys, exc):
    rid = body(register())["registration_id"]
    capsys.readouterr()
    fault = Fault("dynamodb", "UpdateItem", raise_(exc))  # the attempt is reserved first
    assert_busy(verify(rid), "dynamodb", capsys)
    assert fault.calls == runtime.MAX_ATTEMPTS  # botocore retried (standard mode) before giving up


def test_given_a_bug_then_still_500_not_hidden_as_busy(box, capsys):
    Fault("dynamodb", "TransactWriteItems", json_error("dynamodb", "ValidationException", 400))
    r = register()
    assert r["statusCode"] == 500 and body(r)["type"] == "internal-error"
