"""The NIK route and worker under moto, against the registry stand-in on loopback:
submission -> outbox -> relay -> NikQueue -> check_nik -> verdict + result email; transient
failures keep the message (backoff), an open breaker re-queues it without spending attempts."""

from __future__ import annotations

import datetime as dt
import json
import random
from collections.abc import Iterator

import pytest

from infra.registry.server import RegistryStandIn, load_fixture
from infra.sandbox import FakeContext, Sandbox, api_event, load_handler, sandbox
from tests.conftest import sqs_event, sqs_record
from tests.handlers.pipeline import Pipeline, body

PERSON = {"nik": "3273052107900001", "full_name": "Budi Santoso", "birth_date": "1990-07-21", "gender": "M"}


@pytest.fixture
def registry() -> Iterator[RegistryStandIn]:
    from pathlib import Path

    records = load_fixture(Path("infra/registry/default_fixture.jsonl"))
    standin = RegistryStandIn(records, port=0, rng=random.Random(7), timeout_hold_s=2).start()
    yield standin
    standin.stop()


@pytest.fixture
def box(registry: RegistryStandIn) -> Iterator[Sandbox]:
    with sandbox(
        REGISTRY_URL=registry.url, REGISTRY_TIMEOUT_S="1", BREAKER_FAILURE_THRESHOLD="2", BREAKER_COOLDOWN_S="60"
    ) as b:
        yield b


def verified_registration(box: Sandbox) -> tuple[str, str]:
    from prakerja.adapters.keys import reg_key
    from prakerja.composition import keys
    from prakerja.domain.security import verification_code

    person = {
        "email": "budi@example.com",
        "password": "password-123",
        "full_name": "Budi Santoso",
        "phone": "081234567890",
        "consent": {"terms_version": "2026-01", "accepted": True},
    }
    rid = body(
        load_handler("register")(api_event("POST", "/registrations", "/registrations", body=person), FakeContext())
    )["registration_id"]
    item = box.client("dynamodb").get_item(TableName=box.env["TABLE_NAME"], Key=reg_key(rid))["Item"]
    code = verification_code(keys().code, rid, item["code_nonce"]["S"])
    v = load_handler("verify_email")(
        api_event(
            "POST",
            "/registrations/{id}/email-verification",
            f"/registrations/{rid}/email-verification",
            body={"code": code},
            path_parameters={"id": rid},
        ),
        FakeContext(),
    )
    return rid, body(v)["access_token"]


def submit(rid: str, token: str) -> dict:  # type: ignore[type-arg]
    return load_handler("verify_nik")(
        api_event(
            "POST",
            "/registrations/{id}/nik",
            f"/registrations/{rid}/nik",
            body=PERSON,
            token=token,
            path_parameters={"id": rid},
        ),
        FakeContext(),
    )


def status(rid: str, token: str) -> dict:  # type: ignore[type-arg]
    return body(
        load_handler("get_registration")(
            api_event("GET", "/registrations/{id}", f"/registrations/{rid}", token=token, path_parameters={"id": rid}),
            FakeContext(),
        )
    )


def receive_one(box: Sandbox) -> dict:  # type: ignore[type-arg]
    sqs = box.client("sqs")
    msgs = sqs.receive_message(QueueUrl=box.env["NIK_QUEUE_URL"], AttributeNames=["All"]).get("Messages", [])
    assert len(msgs) == 1
    return msgs[0]


def run_worker(message: dict) -> dict:  # type: ignore[type-arg]
    event = sqs_event(
        sqs_record(message["Body"], message_id=message["MessageId"], receipt_handle=message["ReceiptHandle"])
    )
    return load_handler("check_nik")(event, FakeContext())  # type: ignore[no-any-return]


def test_given_a_submission_when_the_worker_runs_then_verified_and_emailed(box, registry):
    rid, token = verified_registration(box)
    r = submit(rid, token)
    assert r["statusCode"] == 202 and body(r) == {"nik_status": "PENDING"}
    pipe = Pipeline(box)
    pipe.relay()
    message = receive_one(box)
    assert PERSON["nik"] not in message["Body"]  # the queue carries ids, never the NIK
    assert run_worker(message) == {"batchItemFailures": []}
    s = status(rid, token)
    assert (s["nik_status"], s["status"]) == ("VERIFIED", "NIK_VERIFIED")
    pipe.settle()
    subjects = [m.subject for m in pipe.sent_emails("budi@example.com")]
    assert any("NIK" in subject for subject in subjects)
    assert registry.stats.calls == 1


def test_given_a_failing_registry_then_the_check_is_retried_later_not_rejected(box, registry):
    rid, token = verified_registration(box)
    submit(rid, token)
    Pipeline(box).relay()
    registry.faults.failure_rate = 1.0
    message = receive_one(box)
    result = run_worker(message)
    assert result == {"batchItemFailures": [{"itemIdentifier": message["MessageId"]}]}
    s = status(rid, token)
    assert (s["nik_status"], s["nik_reason"]) == ("PENDING", "UNAVAILABLE")
    # the worker pushed the message's visibility out (backoff): nothing to receive right now
    assert not box.client("sqs").receive_message(QueueUrl=box.env["NIK_QUEUE_URL"]).get("Messages")


def test_given_an_open_breaker_then_the_check_waits_without_spending_attempts(box, registry):
    from prakerja.adapters.breaker import DynamoBreakerStore
    from prakerja.adapters.table import Table
    from prakerja.domain.resilience import BreakerMode, BreakerState

    rid, token = verified_registration(box)
    submit(rid, token)
    Pipeline(box).relay()
    now = dt.datetime.now(dt.UTC).timestamp()
    DynamoBreakerStore(Table(box.client("dynamodb"), box.env["TABLE_NAME"])).save(
        BreakerState(mode=BreakerMode.OPEN, opened_at=now, version=1), 0
    )
    message = receive_one(box)
    assert run_worker(message) == {"batchItemFailures": []}  # acknowledged: a delayed copy waits instead
    attrs = box.client("sqs").get_queue_attributes(
        QueueUrl=box.env["NIK_QUEUE_URL"], AttributeNames=["ApproximateNumberOfMessagesDelayed"]
    )
    assert int(attrs["Attributes"]["ApproximateNumberOfMessagesDelayed"]) == 1
    assert registry.stats.calls == 0
    assert status(rid, token)["nik_status"] == "PENDING"
    assert json.loads(message["Body"])["registration_id"] == rid


def test_slot_store_hands_out_each_slot_once_and_skips_past_ones(box):
    from prakerja.adapters.breaker import DynamoSlotStore
    from prakerja.adapters.table import Table

    store = DynamoSlotStore(Table(box.client("dynamodb"), box.env["TABLE_NAME"]))
    assert [store.take(100, 4) for _ in range(5)] == [0, 1, 2, 3, None]
    assert store.take(101, 4, min_index=2) == 2  # slots 0 and 1 of second 101 already started
    assert store.take(101, 4) == 3
    assert store.take(101, 4) is None
