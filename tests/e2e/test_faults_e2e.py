"""A stack whose AWS throttles and fails a share of the functions' calls (PRAKERJA_LOCAL_FAULTS) still
gets everyone through register -> email code -> verify -> NIK check, with a client that retries
what the contract says is retryable (5xx) and the app's own SDK retries. The fault counts show the
faults really happened; the answers the clients saw are printed.

The contract's answers per fault (503 `service-busy` + Retry-After, the lost race's 409): test_overload_e2e.py.
"""

from __future__ import annotations

import collections
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import requests

from infra.launcher import LocalStack
from infra.local.faults import ADMIN_PATH
from tests.e2e.client import CODE, Api
from tests.e2e.people import next_person
from tests.e2e.templates import stack_from_copy

pytestmark = pytest.mark.e2e

# every service the flow touches fails 10-20% of the functions' calls with AWS's own errors; the `#N`
# rules make sure the rarer calls (a transaction, KMS, SES) meet at least N faults in every run
FAULTS = (
    "dynamodb:*=0.1,dynamodb:TransactWriteItems=0.15/TransactionConflict,"
    "dynamodb:TransactWriteItems=#1/TransactionConflict,dynamodbstreams:*=0.1,sqs:*=0.1,"
    "ses:*=0.2,ses:SendEmail=#2/Throttling,kms:*=0.1,kms:*=#2,secretsmanager:*=0.1"
)
PEOPLE = 4
# A job whose worker failed on an AWS error comes back after its queue's VisibilityTimeout (60 s and
# 180 s in the template): shortened here, like the suite's other fault timings, to keep CI time.
SHORT_VISIBILITY = {
    "VisibilityTimeout: 60  # SendEmailFunction": "VisibilityTimeout: 5  # SendEmailFunction",
    "VisibilityTimeout: 180  # CheckNikFunction": "VisibilityTimeout: 5  # CheckNikFunction",
}
seen: collections.Counter[str] = collections.Counter()


@pytest.fixture(scope="module")
def faulty(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    directory: Path = tmp_path_factory.mktemp("faults")
    stack = stack_from_copy(directory, SHORT_VISIBILITY, PRAKERJA_LOCAL_FAULTS=FAULTS, PRAKERJA_LOCAL_FAULTS_SEED="7")
    yield stack
    stack.stop()


def retrying(send: Callable[[], requests.Response], attempts: int = 12) -> requests.Response:
    """A client that retries what the contract says to retry: server-side failures (5xx) and a 409
    `idempotency-in-progress` ("retry shortly")."""
    for _ in range(attempts):
        r = send()
        in_progress = r.status_code == 409 and "idempotency-in-progress" in r.text
        seen[f"{r.request.method} {r.status_code}{' in-progress' if in_progress else ''}"] += 1
        if r.status_code < 500 and not in_progress:
            return r
        time.sleep(0.3)
    return r


def wait_code(api: Api, email: str, timeout_s: float = 60) -> str:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        codes = [m for m in api.mailbox(email) if "verifikasi" in m["subject"].lower()]
        if codes:
            match = CODE.search(codes[-1]["text"])
            assert match
            return match.group(1)
        time.sleep(0.2)
    raise AssertionError("no verification email arrived under faults")


def test_everyone_gets_through_register_verify_and_the_nik_check(faulty: LocalStack):
    api = Api(faulty.url)
    done: list[str] = []
    for _ in range(PEOPLE):
        person, key = api.new_person(), str(uuid.uuid4())
        r = retrying(lambda p=person, k=key: api.register(p, **{"Idempotency-Key": k}))  # type: ignore[misc]
        assert r.status_code == 201, r.text
        rid = r.json()["registration_id"]
        code = wait_code(api, person["email"])
        path = f"/registrations/{rid}/email-verification"
        v = retrying(lambda path=path, code=code: api.call("POST", path, json={"code": code}))  # type: ignore[misc]
        assert v.status_code == 200, v.text
        token = v.json()["access_token"]
        citizen = next_person()
        nik = retrying(
            lambda rid=rid, t=token, c=citizen: api.call("POST", f"/registrations/{rid}/nik", token=t, json=c)
        )  # type: ignore[misc]
        assert nik.status_code == 202, nik.text
        done.append(rid + " " + token)

    for entry in done:
        rid, token = entry.split(" ")
        deadline, status = time.monotonic() + 90, {}
        while time.monotonic() < deadline:
            r = retrying(lambda rid=rid, t=token: api.call("GET", f"/registrations/{rid}", token=t))  # type: ignore[misc]
            status = r.json()
            if status.get("nik_status") in ("VERIFIED", "REJECTED"):
                break
            time.sleep(0.5)
        assert (status.get("email_verified"), status.get("nik_status")) == (True, "VERIFIED"), status

    counts = requests.get(faulty.aws_url + ADMIN_PATH, timeout=5).json()
    print(f"\nfaults injected: {counts['total']} {counts['injected']}\napp answers seen: {dict(seen)}")
    injected = counts["injected"]
    assert counts["total"] >= 10

    def count(prefix: str) -> int:
        return sum(n for name, n in injected.items() if name.startswith(prefix))

    assert count("dynamodb:TransactWriteItems/TransactionConflict") >= 1
    assert count("kms:") >= 2 and count("ses:SendEmail/Throttling") >= 2 and count("sqs:") >= 1


def only_fault(stack: LocalStack, spec: str) -> None:
    r = requests.put(stack.aws_url + ADMIN_PATH, data=spec, timeout=5)
    assert r.status_code == 200, r.text


LATE_WRITE = "dynamodb:TransactWriteItems=#1/late:6"  # applied, answered after the SDK's read timeout


def test_a_registration_written_but_answered_late_is_replayed_with_its_idempotency_key(faulty: LocalStack):
    api = Api(faulty.url)
    only_fault(faulty, LATE_WRITE)
    person = api.new_person()
    r = api.register(person, **{"Idempotency-Key": str(uuid.uuid4())})
    assert r.status_code == 201, r.text
    assert len(api.wait_mail(person["email"], 1)) == 1
    assert requests.get(faulty.aws_url + ADMIN_PATH, timeout=5).json()["injected"] == {
        "dynamodb:TransactWriteItems/late:6": 1
    }


def test_a_registration_written_but_answered_late_is_201_without_a_key(faulty: LocalStack):
    api = Api(faulty.url)
    only_fault(faulty, LATE_WRITE)
    r = api.register(api.new_person())
    assert r.status_code == 201, r.text
