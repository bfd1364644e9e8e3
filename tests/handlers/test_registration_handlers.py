"""Handlers under moto: the synchronous routes and the outbox pipeline (stream -> relay -> SQS -> SES)."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator

import pytest

from infra.sandbox import FakeContext, Sandbox, api_event, load_handler, sandbox
from tests.handlers.pipeline import Pipeline, body


@pytest.fixture
def box() -> Iterator[Sandbox]:
    with sandbox() as b:
        yield b


def call(function: str, event: dict) -> dict:  # type: ignore[type-arg]
    return load_handler(function)(event, FakeContext())  # type: ignore[no-any-return]


def register(email: str, **headers: str) -> dict:  # type: ignore[type-arg]
    person = {
        "email": email,
        "password": "password-123",
        "full_name": "Budi Santoso",
        "phone": "081234567890",
        "consent": {"terms_version": "2026-01", "accepted": True},
    }
    return call("register", api_event("POST", "/registrations", "/registrations", body=person, headers=headers))


def test_given_a_registration_when_the_pipeline_runs_then_the_code_email_arrives_and_verifies(box):
    email = f"budi-{uuid.uuid4().hex[:6]}@example.com"
    r = register(email)
    assert r["statusCode"] == 201
    rid = body(r)["registration_id"]
    pipe = Pipeline(box)
    pipe.settle()
    mails = pipe.sent_emails(email)
    assert len(mails) == 1
    code = re.search(r"\b(\d{6})\b", mails[0].body).group(1)  # type: ignore[union-attr]
    v = call(
        "verify_email",
        api_event(
            "POST",
            "/registrations/{id}/email-verification",
            f"/registrations/{rid}/email-verification",
            body={"code": code},
            path_parameters={"id": rid},
        ),
    )
    assert v["statusCode"] == 200 and body(v)["status"] == "EMAIL_VERIFIED"


def test_given_a_relayed_batch_when_it_is_delivered_again_then_funnel_counts_once(box):
    register(f"a-{uuid.uuid4().hex[:6]}@example.com")
    register(f"b-{uuid.uuid4().hex[:6]}@example.com")
    pipe = Pipeline(box)
    batch = pipe.stream_batch()
    assert pipe.relay(batch) == {"batchItemFailures": []}
    assert pipe.relay(batch) == {"batchItemFailures": []}  # redelivery (e.g. after a timeout)
    from prakerja.composition import funnel_store_of

    totals = funnel_store_of(box.client("dynamodb"), box.env["TABLE_NAME"]).totals()
    assert totals["registered"] == 2


def test_given_a_stale_code_email_when_a_new_code_was_sent_then_only_the_new_one_is_mailed(box):
    email = f"c-{uuid.uuid4().hex[:6]}@example.com"
    rid = body(register(email))["registration_id"]
    from prakerja.adapters.keys import reg_key

    box.client("dynamodb").update_item(
        TableName=box.env["TABLE_NAME"],
        Key=reg_key(rid),
        UpdateExpression="SET code_sent_at = :t",
        ExpressionAttributeValues={":t": {"N": "0"}},
    )
    r = call(
        "resend_code",
        api_event(
            "POST",
            "/registrations/{id}/email-verification/resend",
            f"/registrations/{rid}/email-verification/resend",
            path_parameters={"id": rid},
        ),
    )
    assert r["statusCode"] == 202 and body(r) == {}
    pipe = Pipeline(box)
    pipe.settle()
    assert len(pipe.sent_emails(email)) == 1  # the first job is stale: its code is already dead


def test_errors_are_problem_json(box):
    email = f"d-{uuid.uuid4().hex[:6]}@example.com"
    register(email)
    dup = register(email)  # the address is held by an unverified registration that just got a code
    assert dup["statusCode"] == 429
    headers = {**{k: v[-1] for k, v in dup.get("multiValueHeaders", {}).items()}, **dup.get("headers", {})}
    assert headers["Content-Type"] == "application/problem+json"
    assert body(dup)["type"] == "resend-too-soon" and 1 <= int(headers["Retry-After"]) <= 60
    bad = call("register", api_event("POST", "/registrations", "/registrations", body="{oops"))
    assert bad["statusCode"] == 422 and body(bad)["errors"][0]["field"] == "body"


def test_idempotency_replay_at_handler_level(box):
    email = f"e-{uuid.uuid4().hex[:6]}@example.com"
    first = register(email, **{"Idempotency-Key": "key-1"})
    again = register(email, **{"Idempotency-Key": "key-1"})
    assert first["statusCode"] == again["statusCode"] == 201
    assert body(first)["registration_id"] == body(again)["registration_id"]


def test_status_needs_a_token_first(box):
    r = call(
        "get_registration",
        api_event("GET", "/registrations/{id}", f"/registrations/{'a' * 32}", path_parameters={"id": "a" * 32}),
    )
    assert r["statusCode"] == 401 and body(r)["type"] == "unauthorized"
