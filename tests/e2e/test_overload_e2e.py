"""Overload end to end, on the real local stack: the local AWS failing mid-request (fault injection,
PRAKERJA_LOCAL_FAULTS rules set at run time through its admin path) answers 503 `service-busy`
with Retry-After, never 500, and leaves nothing half-written; the losing racer of a conflicting
transaction gets the contract's answer; GET /status answers from its cache, public and cacheable.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from infra.launcher import LocalStack
from infra.local.faults import ADMIN_PATH
from tests.e2e.client import Api, assert_problem
from tests.e2e.conftest import started_stack
from tests.e2e.people import next_person

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def local(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    directory: Path = tmp_path_factory.mktemp("overload")
    # the deployed SDK read timeout (2 s), not the suite's longer local one
    stack = started_stack(directory, PRAKERJA_LOCAL_PASSWORD_SCRYPT_N="1024", PRAKERJA_LOCAL_AWS_READ_TIMEOUT_S="2")
    yield stack
    stack.stop()


def faults(stack: LocalStack, spec: str) -> dict[str, int]:
    """Replace the local AWS's fault rules (an empty spec turns faults off); the faults injected so far."""
    before = requests.get(stack.aws_url + ADMIN_PATH, timeout=5).json()["injected"]
    r = requests.put(stack.aws_url + ADMIN_PATH, data=spec, timeout=5)
    assert r.status_code == 200, r.text
    return dict(before)


def assert_busy(r: requests.Response) -> None:
    problem = assert_problem(r, 503, "service-busy")
    assert 1 <= int(r.headers["Retry-After"]) <= 5
    assert "Exception" not in problem["detail"]


@pytest.mark.parametrize(
    "fault", ["ProvisionedThroughputExceededException", "ThrottlingException", "InternalServerError"]
)
def test_a_throttled_table_answers_503_and_nothing_is_half_written(local: LocalStack, fault: str):
    api = Api(local.url)
    person = api.new_person()
    faults(local, f"dynamodb:TransactWriteItems=1.0/{fault}")
    try:
        assert_busy(api.register(person))
    finally:
        injected = faults(local, "")
    assert injected.get(f"dynamodb:TransactWriteItems/{fault}", 0) == 3  # the SDK's 3 attempts
    # nothing was stored: the same person registers afterwards (no email-taken, one code email)
    r = api.register(person)
    assert r.status_code == 201, r.text
    assert len(api.wait_mail(person["email"], 1)) == 1


def test_the_local_aws_stalling_mid_request_answers_503(local: LocalStack):
    """The table stops answering while a code is verified: the SDK's read timeouts become a 503."""
    api = Api(local.url)
    person = api.new_person()
    rid = api.register(person).json()["registration_id"]
    code = api.latest_code(person["email"])
    faults(local, "dynamodb:UpdateItem=#3/timeout:3")  # the attempt's reservation, held past the 2 s read timeout
    started = time.monotonic()
    r = api.call("POST", f"/registrations/{rid}/email-verification", json={"code": code})
    took = time.monotonic() - started
    faults(local, "")
    assert_busy(r)
    assert took < 10, took  # inside the function's 10 s timeout, well inside API Gateway's 29 s
    v = api.call("POST", f"/registrations/{rid}/email-verification", json={"code": code})
    assert v.status_code == 200, v.text  # the code was not spent by the failed attempt


def test_a_throttled_kms_answers_503_and_the_nik_stays_unsubmitted(local: LocalStack):
    api = Api(local.url)
    _, rid, token = api.verified_person()
    citizen = next_person()
    faults(local, "kms:Encrypt=1.0/ThrottlingException")
    try:
        assert_busy(api.call("POST", f"/registrations/{rid}/nik", token=token, json=citizen))
    finally:
        faults(local, "")
    assert api.status(rid, token)["nik_status"] == "NONE"
    r = api.call("POST", f"/registrations/{rid}/nik", token=token, json=citizen)
    assert r.status_code == 202, r.text


def test_the_loser_of_a_conflicting_registration_gets_email_taken_not_503(local: LocalStack):
    api = Api(local.url)
    person, _, _ = api.verified_person()  # a verified email: registering it again is 409 email-taken
    faults(local, "dynamodb:TransactWriteItems=#1/TransactionConflict")
    r = api.register(person)
    injected = faults(local, "")
    assert injected.get("dynamodb:TransactWriteItems/TransactionConflict") == 1
    assert_problem(r, 409, "email-taken")


def test_a_transaction_applied_but_answered_late_is_201_once_thanks_to_its_token(local: LocalStack):
    """The SDK retries a transaction whose answer was lost; its ClientRequestToken makes the retry a
    no-op that succeeds (without it the retry met the registration's own email claim: 409)."""
    api = Api(local.url)
    person = api.new_person()
    faults(local, "dynamodb:TransactWriteItems=#1/late:3")
    r = api.register(person)
    faults(local, "")
    assert r.status_code == 201, r.text
    assert len(api.wait_mail(person["email"], 1)) == 1
    time.sleep(1)
    assert len(api.mailbox(person["email"])) == 1  # one registration, one email


def test_status_is_public_cacheable_and_served_from_cache_when_aws_is_busy(local: LocalStack):
    api = Api(local.url)
    r = api.call("GET", "/status")
    assert r.status_code == 200, r.text
    assert r.headers["Cache-Control"] == "public, max-age=15"
    body = r.json()
    assert set(body) == {"email", "nik", "updated_at"}
    assert set(body["email"]) == {"queued", "eta_s"} and set(body["nik"]) == {"pending", "eta_s", "registry"}
    assert body["nik"]["registry"] in ("UP", "DEGRADED", "DOWN")
    faults(local, "sqs:GetQueueAttributes=1.0/RequestThrottled")
    try:
        again = api.call("GET", "/status")
    finally:
        injected = faults(local, "")
    assert again.status_code == 200 and again.json() == body  # the cached answer; AWS not asked
    assert not injected.get("sqs:GetQueueAttributes/RequestThrottled")
