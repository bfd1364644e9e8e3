"""A surge replay against a local AWS that fails 5% of the functions' calls with AWS's own errors
(throttles, 500s, transaction conflicts): everyone ends in the right state, nothing is lost or sent
twice through the outbox, and a race still has exactly one winner with the contract's answer.

The client retries what the contract says is retryable (5xx, `idempotency-in-progress`), like the web
client does; registrations carry an Idempotency-Key so a retried one is the same registration.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests

from infra.launcher import LocalStack
from infra.local.faults import ADMIN_PATH
from tests.e2e.client import Api
from tests.e2e.people import next_person
from tests.e2e.templates import stack_from_copy
from tests.e2e.test_faults_e2e import SHORT_VISIBILITY, retrying, wait_code

pytestmark = pytest.mark.e2e

FIVE_PERCENT = "*:*=0.05,dynamodb:TransactWriteItems=0.05/TransactionConflict"
SURGE = 24  # registrants, 6 at a time


@pytest.fixture(scope="module")
def surge_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    directory: Path = tmp_path_factory.mktemp("surge")
    stack = stack_from_copy(
        directory, SHORT_VISIBILITY, PRAKERJA_LOCAL_FAULTS=FIVE_PERCENT, PRAKERJA_LOCAL_FAULTS_SEED="11"
    )
    yield stack
    stack.stop()


def verified(api: Api) -> tuple[str, str, str]:
    """register -> code from the mailbox -> verify; returns (email, registration id, token)."""
    person, key = api.new_person(), str(uuid.uuid4())
    r = retrying(lambda: api.register(person, **{"Idempotency-Key": key}))
    assert r.status_code == 201, r.text
    rid = r.json()["registration_id"]
    code = wait_code(api, person["email"], timeout_s=90)
    v = retrying(lambda: api.call("POST", f"/registrations/{rid}/email-verification", json={"code": code}))
    assert v.status_code == 200, v.text
    return person["email"], rid, v.json()["access_token"]


def journey(api: Api) -> tuple[str, str, str]:
    """The funnel up to the NIK check: verified, then a NIK of the registry stand-in submitted."""
    email, rid, token = verified(api)
    citizen = next_person()
    n = retrying(lambda: api.call("POST", f"/registrations/{rid}/nik", token=token, json=citizen))
    assert n.status_code == 202, n.text
    return email, rid, token


def test_a_surge_at_five_percent_faults_ends_with_everyone_verified_and_nothing_sent_twice(surge_stack: LocalStack):
    api = Api(surge_stack.url)
    with ThreadPoolExecutor(max_workers=6) as pool:
        people = list(pool.map(lambda _: journey(api), range(SURGE)))

    for email, rid, token in people:
        final = api.wait_status(rid, token, "nik_status", {"VERIFIED", "REJECTED"}, timeout_s=120)
        assert (final["status"], final["nik_status"]) == ("NIK_VERIFIED", "VERIFIED"), final
        mail = api.wait_mail(email, 2, timeout_s=60)  # the code, then the NIK result
        codes = [m for m in mail if m["subject"].lower().startswith("kode verifikasi")]
        assert len(codes) == 1, [m["subject"] for m in mail]  # one code email: nothing sent twice
        assert len(mail) == 2, [m["subject"] for m in mail]

    counts = requests.get(surge_stack.aws_url + ADMIN_PATH, timeout=5).json()
    print(f"\nsurge of {SURGE} at 5% faults: {counts['total']} faults injected {counts['injected']}")
    assert counts["total"] >= 20  # the faults really happened


def test_a_nik_race_under_faults_still_has_exactly_one_winner(surge_stack: LocalStack):
    api = Api(surge_stack.url)
    accounts = [verified(api)[1:] for _ in range(6)]
    contested = next_person()

    def submit(account: tuple[str, str]) -> requests.Response:
        rid, token = account
        return retrying(lambda: api.call("POST", f"/registrations/{rid}/nik", token=token, json=contested))

    with ThreadPoolExecutor(max_workers=6) as pool:
        answers = list(pool.map(submit, accounts))
    statuses = sorted(a.status_code for a in answers)
    # a conflict is retried by the server: the losers get the contract's 409, never a 5xx
    assert statuses == [202, 409, 409, 409, 409, 409], [(a.status_code, a.text) for a in answers]
    assert all(a.json()["type"] == "nik-taken" for a in answers if a.status_code == 409)
