"""Issue 9 (accounts) under moto: the real handlers and the DynamoDB adapter (conditions,
transactions, TTL treatment), the export and the deletion with what they leave behind."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from infra.bench.aws_calls import CALLS, counting
from infra.sandbox import FakeContext, Sandbox, api_event, load_handler, sandbox
from prakerja.adapters.dynamo_codec import to_item
from prakerja.adapters.keys import email_key, login_key, nik_claim_key, reg_key, reset_key, seat_key
from prakerja.domain.security import sha256_hex, verification_code
from tests.handlers.pipeline import Pipeline, body

CONSENT = {"terms_version": "2026-01", "accepted": True}
PASSWORD = "kopi-tubruk-pagi"
NIK = {"nik": "3273052107900001", "full_name": "Budi Santoso", "birth_date": "1990-07-21", "gender": "M"}


@pytest.fixture
def box() -> Iterator[Sandbox]:
    with sandbox() as b:
        yield b


def call(function: str, event: dict[str, Any]) -> dict[str, Any]:
    return load_handler(function)(event, FakeContext())  # type: ignore[no-any-return]


def person(email: str | None = None, **over: Any) -> dict[str, Any]:
    p = {
        "email": email or f"budi-{uuid.uuid4().hex[:8]}@example.com",
        "password": PASSWORD,
        "full_name": "Budi Santoso",
        "phone": "081234567890",
        "consent": CONSENT,
    }
    p.update(over)
    return {k: v for k, v in p.items() if v is not None}


def register(p: dict[str, Any]) -> dict[str, Any]:
    return call("register", api_event("POST", "/registrations", "/registrations", body=p))


def item(box: Sandbox, key: dict[str, Any]) -> dict[str, Any] | None:
    return box.client("dynamodb").get_item(TableName=box.env["TABLE_NAME"], Key=key, ConsistentRead=True).get("Item")


def set_attrs(box: Sandbox, key: dict[str, Any], **values: Any) -> None:
    names = {f"#{k}": k for k in values}
    box.client("dynamodb").update_item(
        TableName=box.env["TABLE_NAME"],
        Key=key,
        UpdateExpression="SET " + ", ".join(f"#{k} = :{k}" for k in values),
        ExpressionAttributeNames=names,
        ExpressionAttributeValues=to_item({f":{k}": v for k, v in values.items()}),
    )


def code_of(box: Sandbox, rid: str) -> str:
    from prakerja.composition import keys

    nonce = item(box, reg_key(rid))["code_nonce"]["S"]  # type: ignore[index]
    return verification_code(keys().code, rid, nonce)


def verify(box: Sandbox, rid: str, code: str | None = None) -> dict[str, Any]:
    return call(
        "verify_email",
        api_event(
            "POST",
            "/registrations/{id}/email-verification",
            f"/registrations/{rid}/email-verification",
            body={"code": code or code_of(box, rid)},
            path_parameters={"id": rid},
        ),
    )


def verified(box: Sandbox, p: dict[str, Any]) -> tuple[str, str]:
    rid = body(register(p))["registration_id"]
    v = verify(box, rid)
    assert v["statusCode"] == 200, v
    return rid, body(v)["access_token"]


def personal_data(rid: str, token: str | None) -> dict[str, Any]:
    return call(
        "get_personal_data",
        api_event(
            "GET",
            "/registrations/{id}/personal-data",
            f"/registrations/{rid}/personal-data",
            token=token,
            path_parameters={"id": rid},
        ),
    )


def delete(rid: str, token: str | None, password: str = PASSWORD) -> dict[str, Any]:
    return call(
        "delete_registration",
        api_event(
            "DELETE",
            "/registrations/{id}",
            f"/registrations/{rid}",
            token=token,
            body={"password": password},
            path_parameters={"id": rid},
        ),
    )


def sign_in(email: str, password: str = PASSWORD) -> dict[str, Any]:
    return call(
        "create_session", api_event("POST", "/sessions", "/sessions", body={"email": email, "password": password})
    )


def all_items(box: Sandbox) -> list[dict[str, Any]]:
    return list(box.client("dynamodb").scan(TableName=box.env["TABLE_NAME"])["Items"])


# -- consent and password policy -------------------------------------------------------------------
@pytest.mark.parametrize(
    "consent",
    [
        None,
        {"terms_version": "2026-01", "accepted": False},
        {"terms_version": "", "accepted": True},
        {"accepted": True},
    ],
)
def test_registration_without_accepted_consent_is_422_naming_consent(box, consent):
    r = register(person(consent=consent) if consent is not None else person(consent=None))
    assert r["statusCode"] == 422
    assert any(e["field"].startswith("consent") for e in body(r)["errors"]), body(r)


@pytest.mark.parametrize("password", ["12345678", "password", "qwertyuiop"])
def test_common_passwords_are_422_naming_password(box, password):
    r = register(person(password=password))
    assert r["statusCode"] == 422 and [e["field"] for e in body(r)["errors"]] == ["password"]


def test_a_password_with_the_email_local_part_is_422(box):
    r = register(person("siti.aminah@example.com", password="SITI.AMINAH-2026"))
    assert r["statusCode"] == 422 and body(r)["errors"][0]["field"] == "password"


def test_register_stores_consent_events_and_ttl_in_one_aws_call(box):
    p = person()
    register(person())  # warm: the cold start reads the secret once
    CALLS.clear()
    with counting():
        r = register(p)
    assert r["statusCode"] == 201
    assert dict(CALLS) == {"dynamodb:TransactWriteItems": 1}
    rid = body(r)["registration_id"]
    reg = item(box, reg_key(rid))
    assert reg is not None
    accepted_at = int(reg["consent"]["M"]["accepted_at"]["N"])
    assert abs(accepted_at - time.time()) < 60 and reg["consent"]["M"]["terms_version"]["S"] == "2026-01"
    assert [e["M"]["e"]["S"] for e in reg["events"]["L"]] == ["registered"]
    claim = item(box, email_key(p["email"]))
    assert claim is not None
    assert claim["expires_at"] == reg["expires_at"]
    assert int(reg["expires_at"]["N"]) - accepted_at == 7 * 24 * 3600
    assert claim["verified"] == {"BOOL": False}


# -- re-registration, expiry, verification ------------------------------------------------------------
def test_an_unverified_email_is_taken_over_and_the_old_registration_is_gone(box):
    p = person()
    old = body(register(p))["registration_id"]
    old_code = code_of(box, old)
    assert register(p)["statusCode"] == 429  # a code just went to this address
    set_attrs(box, email_key(p["email"]), code_sent_at=int(time.time()) - 61)
    r = register({**p, "full_name": "Budi Lain"})
    assert r["statusCode"] == 201
    new = body(r)["registration_id"]
    assert new != old and item(box, reg_key(old)) is None
    claim = item(box, email_key(p["email"]))
    assert claim["registration_id"]["S"] == new and claim["code_count"]["N"] == "1"  # type: ignore[index]
    assert verify(box, old, old_code)["statusCode"] == 404  # its code is dead
    assert verify(box, new)["statusCode"] == 200
    # the funnel counts one sign-up (the takeover is not a second one) and its verification
    Pipeline(box).relay()
    from prakerja.composition import funnel_store_of

    totals = funnel_store_of(box.client("dynamodb"), box.env["TABLE_NAME"]).totals()
    assert (totals["registered"], totals["email_verified"]) == (1, 1)


def test_a_verified_email_is_409_email_taken(box):
    p = person()
    verified(box, p)
    set_attrs(box, email_key(p["email"]), code_sent_at=0)
    r = register(p)
    assert r["statusCode"] == 409 and body(r)["type"] == "email-taken"


def test_verification_ends_the_expiry_of_registration_and_claim(box):
    p = person()
    rid, _ = verified(box, p)
    assert "expires_at" not in item(box, reg_key(rid))  # type: ignore[operator]
    claim = item(box, email_key(p["email"]))
    assert "expires_at" not in claim and claim["verified"] == {"BOOL": True}  # type: ignore[operator,index]
    events = [e["M"]["e"]["S"] for e in item(box, reg_key(rid))["events"]["L"]]  # type: ignore[index]
    assert events == ["registered", "email_verified"]


def test_an_expired_registration_not_yet_deleted_by_ttl_is_absent(box):
    p = person()
    rid = body(register(p))["registration_id"]
    code = code_of(box, rid)
    past = int(time.time()) - 1
    set_attrs(box, reg_key(rid), expires_at=past)
    set_attrs(box, email_key(p["email"]), expires_at=past, code_sent_at=past - 7 * 24 * 3600)
    assert verify(box, rid, code)["statusCode"] == 404
    assert sign_in(p["email"])["statusCode"] == 401
    again = register(p)
    assert again["statusCode"] == 201 and body(again)["registration_id"] != rid


def test_sign_in_before_verification_is_403_with_the_registration_id(box):
    p = person()
    rid = body(register(p))["registration_id"]
    r = sign_in(p["email"])
    assert r["statusCode"] == 403
    assert body(r)["type"] == "email-not-verified" and body(r)["registration_id"] == rid
    wrong = sign_in(p["email"], "not-the-password")
    assert wrong["statusCode"] == 401 and "registration_id" not in body(wrong)


# -- personal data ----------------------------------------------------------------------------------------
def test_personal_data_export(box):
    p = person()
    rid, token = verified(box, p)
    r = personal_data(rid, token)
    assert r["statusCode"] == 200
    data = body(r)
    assert (data["email"], data["phone"], data["full_name"]) == (p["email"], "+6281234567890", "Budi Santoso")
    assert data["consent"]["terms_version"] == "2026-01" and data["consent"]["accepted_at"].endswith("Z")
    assert data["nik"]["status"] == "NONE" and data["photo"]["status"] == "NONE" and data["batch"] is None
    assert [e["event"] for e in data["processing"]] == ["registered", "email_verified"]
    assert personal_data(rid, None)["statusCode"] == 401
    _, other_token = verified(box, person())
    assert personal_data(rid, other_token)["statusCode"] == 404


# -- deletion -----------------------------------------------------------------------------------------------
def joined_with_nik_and_photo(box: Sandbox, p: dict[str, Any]) -> tuple[str, str]:
    """A verified registration whose NIK is submitted (claim + ciphertext), with an accepted photo
    object and a seat taken in shard 1 of batch b1 (set up directly in the table and bucket)."""
    rid, token = verified(box, p)
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
    assert r["statusCode"] == 202, r
    key = f"uploads/{rid}/photo1"
    box.client("s3").put_object(Bucket=box.env["PHOTO_BUCKET"], Key=key, Body=b"jpeg")
    set_attrs(
        box, reg_key(rid), photo_key=key, photo_upload_key=key, photo_status="ACCEPTED", batch_id="b1", seat_shard=1
    )
    box.client("dynamodb").put_item(
        TableName=box.env["TABLE_NAME"],
        Item={**seat_key("b1", 1), **to_item({"batch_id": "b1", "allot": 5, "taken": 3})},
    )
    return rid, token


def test_deletion_needs_auth_and_the_right_password(box):
    p = person()
    rid, token = verified(box, p)
    assert delete(rid, None)["statusCode"] == 401
    _, other_token = verified(box, person())
    assert delete(rid, other_token)["statusCode"] == 404
    wrong = delete(rid, token, "not-the-password")
    assert wrong["statusCode"] == 401 and body(wrong)["type"] == "invalid-credentials"
    assert item(box, reg_key(rid)) is not None


def test_deletion_leaves_no_personal_data_and_frees_email_nik_and_seat(box):
    p = person()
    rid, token = joined_with_nik_and_photo(box, p)
    fp = item(box, reg_key(rid))["nik_fp"]["S"]  # type: ignore[index]
    # items keyed by the hashed email: a sign-in throttle (made for an unknown email; here planted,
    # as if left from before the account existed) and a pending password reset
    box.client("dynamodb").put_item(
        TableName=box.env["TABLE_NAME"],
        Item={**login_key(sha256_hex(p["email"])), "login_attempts": {"N": "1"}, "login_window": {"N": "1"}},
    )
    assert (
        call(
            "request_password_reset",
            api_event("POST", "/password-resets", "/password-resets", body={"email": p["email"]}),
        )["statusCode"]
        == 202
    )
    assert item(box, reset_key(sha256_hex(p["email"]))) is not None
    pipe = Pipeline(box)
    pipe.relay()
    from prakerja.composition import funnel_store_of

    before = funnel_store_of(box.client("dynamodb"), box.env["TABLE_NAME"]).totals()

    r = delete(rid, token)
    assert r["statusCode"] == 204 and r["body"] == ""

    hashed = sha256_hex(p["email"])
    for key in (reg_key(rid), email_key(p["email"]), nik_claim_key(fp), login_key(hashed), reset_key(hashed)):
        assert item(box, key) is None, key
    assert item(box, seat_key("b1", 1))["taken"] == {"N": "2"}  # type: ignore[index]
    assert box.client("s3").list_objects_v2(Bucket=box.env["PHOTO_BUCKET"], Prefix=f"uploads/{rid}/")["KeyCount"] == 0
    leftovers = json.dumps(all_items(box))
    for value in (p["email"], "6281234567890", "Budi Santoso", NIK["nik"], NIK["nik"][-4:] + '"', fp):
        assert value not in leftovers, value
    # what is left of it: outbox jobs with its id and no personal data (TTL 7 d)
    for it in all_items(box):
        if rid in json.dumps(it):
            assert it["pk"]["S"].startswith("OUTBOX#"), it

    # the relay sees the REMOVE: counts keep their numbers; the pending NIK check is skipped
    pipe.settle()
    after = funnel_store_of(box.client("dynamodb"), box.env["TABLE_NAME"]).totals()
    assert after == before and after["registered"] >= 1

    # afterwards: the token answers 404, sign-in 401, the email and the NIK are free again
    assert personal_data(rid, token)["statusCode"] == 404
    assert delete(rid, token)["statusCode"] == 404
    assert sign_in(p["email"])["statusCode"] == 401
    rid2, token2 = verified(box, p)
    r2 = call(
        "verify_nik",
        api_event(
            "POST",
            "/registrations/{id}/nik",
            f"/registrations/{rid2}/nik",
            body=NIK,
            token=token2,
            path_parameters={"id": rid2},
        ),
    )
    assert r2["statusCode"] == 202, r2


def test_deletion_with_a_wrong_body_is_422(box):
    rid, token = verified(box, person())
    r = call(
        "delete_registration",
        api_event(
            "DELETE", "/registrations/{id}", f"/registrations/{rid}", token=token, body={}, path_parameters={"id": rid}
        ),
    )
    assert r["statusCode"] == 422 and body(r)["errors"][0]["field"] == "password"


def test_a_resent_code_is_emailed_at_once_after_the_first_code_email_went_out(box):
    """The first email's send lease belongs to the old code: the resent code's email must not wait
    for it to run out (it would arrive minutes late, after the person gave up)."""
    p = person()
    rid = body(register(p))["registration_id"]
    pipe = Pipeline(box)
    pipe.settle()
    assert len(pipe.sent_emails(p["email"])) == 1
    sent = item(box, reg_key(rid))
    assert sent is not None and "code_send_lease" in sent  # the first send's lease is still live
    past = {":t": {"N": str(int(time.time()) - 61)}}
    for key in (reg_key(rid), email_key(p["email"])):  # the first code email went out a minute ago
        box.client("dynamodb").update_item(
            TableName=box.env["TABLE_NAME"],
            Key=key,
            UpdateExpression="SET code_sent_at = :t",
            ExpressionAttributeValues=past,
        )
    resend = call(
        "resend_code",
        api_event(
            "POST",
            "/registrations/{id}/email-verification/resend",
            f"/registrations/{rid}/email-verification/resend",
            path_parameters={"id": rid},
        ),
    )
    assert resend["statusCode"] == 202
    pipe.settle()
    assert len(pipe.sent_emails(p["email"])) == 2
