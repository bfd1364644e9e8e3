"""SES bounce -> EmailEventsQueue -> handle_email_event (moto): the registration shows
email_delivery BOUNCED on GET /registrations/{id}, and its next code email is not sent."""

from __future__ import annotations

import json
import re
import time
import uuid
from collections.abc import Iterator

import pytest

from infra.sandbox import FakeContext, Sandbox, api_event, load_handler, sandbox
from prakerja import composition
from prakerja.domain import security
from tests.conftest import sqs_event, sqs_record
from tests.handlers.pipeline import Pipeline, body


@pytest.fixture
def box() -> Iterator[Sandbox]:
    with sandbox() as b:
        yield b


def call(function: str, event: dict) -> dict:  # type: ignore[type-arg]
    return load_handler(function)(event, FakeContext())  # type: ignore[no-any-return]


def status(rid: str) -> dict:  # type: ignore[type-arg]
    token = security.issue_token(composition.keys().token, rid, now=int(time.time()), ttl_s=600)
    r = call(
        "get_registration",
        api_event("GET", "/registrations/{id}", f"/registrations/{rid}", token=token, path_parameters={"id": rid}),
    )
    assert r["statusCode"] == 200
    return body(r)  # type: ignore[no-any-return]


def test_a_hard_bounce_marks_the_registration_and_stops_its_mail(box):
    email = f"Budi-{uuid.uuid4().hex[:6]}@Example.com"
    person = {
        "email": email,
        "password": "sandi-kuat-2026",
        "full_name": "Budi Santoso",
        "phone": "081234567890",
        "consent": {"terms_version": "2026-01", "accepted": True},
    }
    rid = body(call("register", api_event("POST", "/registrations", "/registrations", body=person)))["registration_id"]
    assert status(rid)["email_delivery"] == "OK"
    event = {
        "eventType": "Bounce",
        "bounce": {"bounceType": "Permanent", "bouncedRecipients": [{"emailAddress": email}]},
        "mail": {"messageId": "m1", "destination": [email]},
    }
    result = call("handle_email_event", sqs_event(sqs_record(json.dumps(event))))
    assert result == {"batchItemFailures": []}
    assert status(rid)["email_delivery"] == "BOUNCED"
    pipe = Pipeline(box)
    pipe.settle()  # the queued verification email is skipped, not sent to a dead address
    assert pipe.sent_emails(email.lower()) == []
    assert not re.search(r"@", json.dumps({k: v for k, v in status(rid).items() if k != "email"}))
