"""Least privilege, proven: the local AWS enforces each function's policy from the template.

A copy of template.yaml with one permission taken away (CheckNik's kms:Decrypt on the NIK key) and
one LeadingKeys condition narrowed (CreateSession may reserve its sign-in budget only on `LOGIN#*`
items, not on the account's `REG#*` item) runs as its own stack: the NIK check never completes and
a sign-in to an existing account fails, each with an AccessDenied the stack reports. The real template
passes the same steps (and the whole e2e suite runs with enforcement on).
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from infra.launcher import LocalStack
from tests.e2e.client import Api
from tests.e2e.people import next_person
from tests.e2e.templates import stack_from_copy

pytestmark = pytest.mark.e2e

DECRYPT_NIK = """              - Sid: DecryptNikBoundToRegistration
                Effect: Allow
                Action: kms:Decrypt
                Resource: !GetAtt NikKey.Arn
                Condition:
                  'Null':
                    kms:EncryptionContext:registration_id: 'false'
"""
# CreateSession's sign-in budget (reserved on REG# for an account, LOGIN# otherwise): the copy keeps LOGIN# only.
RESET_LOGIN = """              - Sid: SignInBudget  # reserved on REG# (or on LOGIN# for an email without an account)
                Effect: Allow
                Action:
                  - dynamodb:UpdateItem
                Resource: !GetAtt RegistrationsTable.Arn
                Condition:
                  ForAllValues:StringLike:
                    dynamodb:LeadingKeys:
                      - 'REG#*'
                      - 'LOGIN#*'
"""


@pytest.fixture(scope="module")
def narrowed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    directory = tmp_path_factory.mktemp("iam")
    stack = stack_from_copy(
        directory, {DECRYPT_NIK: "", RESET_LOGIN: RESET_LOGIN.replace("                      - 'REG#*'\n", "")}
    )
    yield stack
    stack.stop()


def denials(stack: LocalStack, function: str, action: str) -> list[str]:
    return [
        line
        for line in list(stack.output)
        if "IAM denied a call" in line and f"function={function}" in line and f"action={action}" in line
    ]


def wait_for(predicate, timeout_s: float = 15) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.2)
    return bool(predicate())


def login_after_one_failure(api: Api) -> int:
    person, _, _ = api.verified_person()
    wrong = api.call("POST", "/sessions", json={"email": person["email"], "password": "wrong-pass-1"})
    assert wrong.status_code == 401, wrong.text
    right = api.call("POST", "/sessions", json={"email": person["email"], "password": person["password"]})
    return right.status_code


def submit_nik(api: Api) -> tuple[str, str]:
    person = next_person()
    _, rid, token = api.verified_person()
    r = api.call("POST", f"/registrations/{rid}/nik", token=token, json=person)
    assert r.status_code == 202, r.text
    return rid, token


def test_nik_check_without_kms_decrypt_never_completes(narrowed: LocalStack):
    api = Api(narrowed.url)
    rid, token = submit_nik(api)
    assert wait_for(lambda: denials(narrowed, "CheckNikFunction", "kms:Decrypt")), "no AccessDenied reported"
    time.sleep(3)  # retries keep failing: the check stays pending
    assert api.status(rid, token)["nik_status"] == "PENDING"


def test_sign_in_budget_without_its_permission_is_refused(narrowed: LocalStack):
    api = Api(narrowed.url)
    person, _, _ = api.verified_person()
    status = api.call("POST", "/sessions", json={"email": person["email"], "password": person["password"]}).status_code
    assert status >= 500
    assert denials(narrowed, "CreateSessionFunction", "dynamodb:UpdateItem")


def test_the_real_template_allows_both(stack: LocalStack, api: Api):
    assert login_after_one_failure(api) == 200
    rid, token = submit_nik(api)
    assert api.wait_status(rid, token, "nik_status", {"VERIFIED", "REJECTED"})["nik_status"] == "VERIFIED"
    assert not [line for line in list(stack.output) if "IAM denied a call" in line]
    assert "IAM               enforced per function" in "".join(stack.output)
