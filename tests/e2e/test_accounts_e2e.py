"""Issue 9 (accounts) over HTTP against the real local stack: consent, the password policy,
re-registering an unverified email (and two at once), expiry, sign-in before verification,
the personal-data export and the deletion of a registration with everything it frees."""

from __future__ import annotations

import concurrent.futures as cf
import json
import random
import time
import uuid
from typing import Any

import boto3
import pytest
import requests

from infra.launcher import LocalStack
from infra.local.names import physical_name
from tests.e2e.client import CODE, Api, assert_problem, create_batch, run_cli
from tests.e2e.people import next_person
from tests.imagegen import make_jpeg

pytestmark = pytest.mark.e2e


def table(stack: LocalStack) -> tuple[Any, str]:
    client = boto3.client(
        "dynamodb",
        endpoint_url=stack.aws_url,
        region_name="ap-southeast-3",
        aws_access_key_id="x",
        aws_secret_access_key="x",
    )
    return client, physical_name("RegistrationsTable")


def backdate_last_code(stack: LocalStack, email: str, seconds: int = 61) -> None:
    """Pretend the last code email to this address went out `seconds` ago (the 60 s rule)."""
    client, name = table(stack)
    claim = client.get_item(TableName=name, Key={"pk": {"S": f"EMAIL#{email}"}, "sk": {"S": "EMAIL"}})["Item"]
    earlier = {":t": {"N": str(int(claim["code_sent_at"]["N"]) - seconds)}}
    client.update_item(
        TableName=name,
        Key={"pk": {"S": f"EMAIL#{email}"}, "sk": {"S": "EMAIL"}},
        UpdateExpression="SET code_sent_at = :t",
        ExpressionAttributeValues=earlier,
    )
    rid = claim["registration_id"]["S"]
    client.update_item(
        TableName=name,
        Key={"pk": {"S": f"REG#{rid}"}, "sk": {"S": "REG"}},
        UpdateExpression="SET code_sent_at = :t",
        ExpressionAttributeValues=earlier,
    )


def codes_in_mail(api: Api, email: str, count: int) -> list[str]:
    messages = [m for m in api.wait_mail(email, count) if "verifikasi" in m["subject"].lower()]
    assert len(messages) >= count, f"expected {count} code emails, got {len(messages)}"
    return [CODE.search(m["text"]).group(1) for m in messages]  # type: ignore[union-attr]


def verify(api: Api, rid: str, code: str) -> requests.Response:
    return api.call("POST", f"/registrations/{rid}/email-verification", json={"code": code})


def sign_in(api: Api, email: str, password: str) -> requests.Response:
    return api.call("POST", "/sessions", json={"email": email, "password": password})


# -- consent and password policy ---------------------------------------------------------------------
@pytest.mark.parametrize(
    "consent",
    [None, {"terms_version": "2026-01", "accepted": False}, {"terms_version": "", "accepted": True}, "yes"],
)
def test_registration_needs_accepted_consent(api: Api, consent):
    person = api.new_person()
    if consent is None:
        del person["consent"]
    else:
        person["consent"] = consent
    body = assert_problem(api.register(person), 422, "validation-error")
    assert any(e["field"].startswith("consent") for e in body["errors"]), body


@pytest.mark.parametrize("password", ["12345678", "password", "qwertyuiop", "Password1", "iloveyou"])
def test_common_passwords_are_refused(api: Api, password):
    r = api.register(api.new_person(password=password))
    body = assert_problem(r, 422, "validation-error")
    assert [e["field"] for e in body["errors"]] == ["password"]
    if password != "password":  # (that one is also the field's name)
        assert password not in r.text  # the refused value is never echoed


def test_a_password_containing_the_email_local_part_is_refused(api: Api):
    local = f"rina{uuid.uuid4().hex[:6]}"
    person = api.new_person(email=f"{local}@example.com", password=f"x-{local.upper()}-1")
    assert [e["field"] for e in assert_problem(api.register(person), 422)["errors"]] == ["password"]


# -- re-registering an unverified email ----------------------------------------------------------------
def test_an_unverified_email_can_be_registered_again(api: Api, stack: LocalStack):
    person = api.new_person()
    old = api.register(person).json()["registration_id"]
    (old_code,) = codes_in_mail(api, person["email"], 1)
    assert_problem(api.register(person), 429, "resend-too-soon")  # a code just went out
    backdate_last_code(stack, person["email"])
    r = api.register({**person, "password": "teh-manis-dingin"})
    assert r.status_code == 201, r.text
    new = r.json()["registration_id"]
    assert new != old
    assert_problem(verify(api, old, old_code), 404)  # the old registration and its code are gone
    assert_problem(api.call("POST", f"/registrations/{old}/email-verification/resend"), 404)
    new_code = codes_in_mail(api, person["email"], 2)[-1]
    assert verify(api, new, new_code).status_code == 200
    assert_problem(sign_in(api, person["email"], person["password"]), 401, "invalid-credentials")
    assert sign_in(api, person["email"], "teh-manis-dingin").json()["registration_id"] == new
    # verified now: registering the address again is 409
    backdate_last_code(stack, person["email"], 3600)
    assert_problem(api.register(person), 409, "email-taken")


def test_two_registrations_for_one_unverified_email_at_once(api: Api, stack: LocalStack):
    person = api.new_person()
    old = api.register(person).json()["registration_id"]
    (old_code,) = codes_in_mail(api, person["email"], 1)
    backdate_last_code(stack, person["email"])
    with cf.ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda i: api.register({**person, "full_name": f"Budi {'ABCD'[i]}"}), range(4)))
    statuses = sorted(r.status_code for r in results)
    assert statuses == [201, 429, 429, 429], [r.text for r in results]
    for r in results:
        if r.status_code == 429:
            assert_problem(r, 429, "resend-too-soon")
            assert 1 <= int(r.headers["Retry-After"]) <= 60
    winner = next(r for r in results if r.status_code == 201).json()["registration_id"]
    assert_problem(verify(api, old, old_code), 404)
    # one live registration: the winner's code (the last email) verifies it, and sign-in finds it
    code = codes_in_mail(api, person["email"], 2)[-1]
    assert verify(api, winner, code).status_code == 200
    assert sign_in(api, person["email"], person["password"]).json()["registration_id"] == winner


def test_two_registrations_for_one_new_email_at_once(api: Api):
    person = api.new_person()
    with cf.ThreadPoolExecutor(2) as pool:
        results = list(pool.map(lambda _: api.register(person), range(2)))
    assert sorted(r.status_code for r in results) == [201, 429], [r.text for r in results]


def test_code_emails_per_address_are_capped_across_registrations(api: Api, stack: LocalStack):
    person = api.new_person()
    rid = api.register(person).json()["registration_id"]
    for i in range(5):  # five more code emails today: resends and registrations alike
        backdate_last_code(stack, person["email"])
        if i % 2:
            assert api.call("POST", f"/registrations/{rid}/email-verification/resend").status_code == 202
        else:
            r = api.register(person)
            assert r.status_code == 201, r.text
            rid = r.json()["registration_id"]
    backdate_last_code(stack, person["email"])
    for r in (api.register(person), api.call("POST", f"/registrations/{rid}/email-verification/resend")):
        assert_problem(r, 429, "resend-too-soon")
        assert int(r.headers["Retry-After"]) > 60


def test_an_expired_unverified_registration_releases_its_email(api: Api, stack: LocalStack):
    person = api.new_person()
    rid = api.register(person).json()["registration_id"]
    (code,) = codes_in_mail(api, person["email"], 1)
    client, name = table(stack)
    past = {":t": {"N": str(int(time.time()) - 1)}}
    for pk, sk in ((f"REG#{rid}", "REG"), (f"EMAIL#{person['email']}", "EMAIL")):
        client.update_item(
            TableName=name,
            Key={"pk": {"S": pk}, "sk": {"S": sk}},
            UpdateExpression="SET expires_at = :t",
            ExpressionAttributeValues=past,
        )
    backdate_last_code(stack, person["email"])
    assert_problem(verify(api, rid, code), 404)  # expired, even before TTL deletes it
    assert_problem(sign_in(api, person["email"], person["password"]), 401)
    again = api.register(person)
    assert again.status_code == 201 and again.json()["registration_id"] != rid


def test_sign_in_before_verification_gives_the_registration_id_to_resend_and_verify(api: Api, stack: LocalStack):
    person = api.new_person()
    rid = api.register(person).json()["registration_id"]
    body = assert_problem(sign_in(api, person["email"], person["password"]), 403, "email-not-verified")
    assert body["registration_id"] == rid
    codes_in_mail(api, person["email"], 1)  # (a job still queued would go stale on resend)
    backdate_last_code(stack, person["email"])
    assert api.call("POST", f"/registrations/{body['registration_id']}/email-verification/resend").status_code == 202
    code = codes_in_mail(api, person["email"], 2)[-1]
    assert verify(api, rid, code).status_code == 200


# -- personal data and deletion --------------------------------------------------------------------------------
def joined_person(api: Api, stack: LocalStack, batch: str) -> tuple[dict[str, Any], dict[str, Any], str, str, str]:
    """A person who went the whole way, with a name and phone number of their own (so that what
    remains after deletion can be searched for them)."""
    rng = random.Random()
    name = "Siti " + "".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(10)).capitalize()
    phone = "0812" + "".join(rng.choice("0123456789") for _ in range(8))
    person, rid, token = api.verified_person(full_name=name, phone=phone)
    nik = next_person()
    assert api.call("POST", f"/registrations/{rid}/nik", token=token, json=nik).status_code == 202
    assert api.wait_status(rid, token, "nik_status", {"VERIFIED", "REJECTED"})["nik_status"] == "VERIFIED"
    post = api.call("POST", f"/registrations/{rid}/photo", token=token, json={"content_type": "image/jpeg"}).json()
    requests.post(
        post["url"], data=post["fields"], files={"file": ("p", make_jpeg(300, 300), "image/jpeg")}, timeout=30
    )
    assert api.wait_status(rid, token, "status", {"READY"})["status"] == "READY"
    joined = api.call("POST", f"/registrations/{rid}/batch", token=token, json={"batch_id": batch})
    assert joined.status_code == 200, joined.text
    return person, nik, rid, token, post["fields"]["key"]


def seats_left(api: Api, batch: str) -> int:
    return int(next(b for b in api.call("GET", "/batches").json()["batches"] if b["batch_id"] == batch)["seats_left"])


def funnel(stack: LocalStack) -> dict[str, int]:
    out = run_cli(stack.aws_port, "funnel", "--json")
    assert out.returncode == 0, out.stderr
    return {row["step"]: row["count"] for row in json.loads(out.stdout)["funnel"]}


def test_personal_data_export_and_deletion(api: Api, stack: LocalStack):
    batch = f"pdp-{uuid.uuid4().hex[:8]}"
    assert create_batch(stack.aws_port, batch, "Gelombang PDP", 5).returncode == 0
    person, nik, rid, token, photo_key = joined_person(api, stack, batch)
    assert seats_left(api, batch) == 4

    # the export: every personal field and the processing history
    assert_problem(api.call("GET", f"/registrations/{rid}/personal-data"), 401)
    _, _, other_token = api.verified_person()
    assert_problem(api.call("GET", f"/registrations/{rid}/personal-data", token=other_token), 404)
    r = api.call("GET", f"/registrations/{rid}/personal-data", token=token)
    assert r.status_code == 200, r.text
    data = r.json()
    phone = "+62" + person["phone"][1:]
    assert (data["email"], data["full_name"], data["phone"]) == (person["email"], person["full_name"], phone)
    assert data["consent"]["terms_version"] == "2026-01" and data["consent"]["accepted_at"].endswith("Z")
    assert data["nik"]["status"] == "VERIFIED" and data["nik"]["masked"] != nik["nik"]
    assert nik["nik"] not in r.text
    assert data["photo"]["status"] == "ACCEPTED" and data["batch"] == {"batch_id": batch}
    events = [e["event"] for e in data["processing"]]
    assert events == ["registered", "email_verified", "nik_submitted", "nik_verified", "photo_accepted", "batch_joined"]
    assert all(e["at"].endswith("Z") for e in data["processing"])

    time.sleep(2)  # let the relay count the join before reading the funnel
    before = funnel(stack)

    # deletion: password first, then everything goes
    assert_problem(api.call("DELETE", f"/registrations/{rid}", json={"password": person["password"]}), 401)
    assert_problem(
        api.call("DELETE", f"/registrations/{rid}", token=token, json={"password": "salah-sandi-1"}),
        401,
        "invalid-credentials",
    )
    gone = api.call("DELETE", f"/registrations/{rid}", token=token, json={"password": person["password"]})
    assert gone.status_code == 204, gone.text

    for path in (f"/registrations/{rid}", f"/registrations/{rid}/personal-data"):
        assert api.call("GET", path, token=token).status_code in (401, 404)
    assert_problem(sign_in(api, person["email"], person["password"]), 401, "invalid-credentials")
    assert seats_left(api, batch) == 5
    bucket = physical_name("PhotoBucket", "AWS::S3::Bucket")
    s3 = boto3.client(
        "s3", endpoint_url=stack.aws_url, region_name="ap-southeast-3", aws_access_key_id="x", aws_secret_access_key="x"
    )
    assert s3.list_objects_v2(Bucket=bucket, Prefix=f"uploads/{rid}/").get("KeyCount") == 0
    assert photo_key.startswith(f"uploads/{rid}/")
    client, name = table(stack)
    leftovers = str(client.scan(TableName=name)["Items"])
    for value in (person["email"], person["full_name"], nik["nik"], phone):
        assert value not in leftovers

    # the email registers again, and the NIK can be claimed by another registration
    assert api.register(person).status_code == 201
    _, rid2, token2 = api.verified_person()
    assert api.call("POST", f"/registrations/{rid2}/nik", token=token2, json=nik).status_code == 202

    # funnel counts keep their numbers (a REMOVE never counts down)
    time.sleep(2)
    after = funnel(stack)
    assert all(after[step] >= before[step] for step in before), (before, after)
