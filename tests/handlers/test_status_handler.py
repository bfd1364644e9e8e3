"""GET /status under moto: real queue attributes and the breaker item, public and cacheable."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from infra.sandbox import FakeContext, Sandbox, api_event, load_handler, sandbox
from prakerja.adapters.dynamo_codec import to_item
from prakerja.adapters.keys import breaker_key
from tests.handlers.pipeline import body


@pytest.fixture
def box() -> Iterator[Sandbox]:
    with sandbox(REGISTRY_MAX_RPS="2", EMAIL_SEND_RATE_PER_S="4", EMAIL_SENDER_CONCURRENCY="2") as b:
        yield b


def get_status() -> dict:  # type: ignore[type-arg]
    return load_handler("get_status")(api_event("GET", "/status", "/status"), FakeContext())  # type: ignore[no-any-return]


def test_status_counts_queued_in_flight_and_delayed_jobs_and_reads_the_breaker(box):
    sqs = box.client("sqs")
    for i in range(6):
        sqs.send_message(QueueUrl=box.env["EMAIL_QUEUE_URL"], MessageBody=json.dumps({"n": i}))
    sqs.send_message(QueueUrl=box.env["EMAIL_QUEUE_URL"], MessageBody="{}", DelaySeconds=60)  # delayed
    sqs.receive_message(QueueUrl=box.env["EMAIL_QUEUE_URL"], MaxNumberOfMessages=2)  # in flight
    for i in range(5):
        sqs.send_message(QueueUrl=box.env["NIK_QUEUE_URL"], MessageBody=json.dumps({"n": i}))
    box.client("dynamodb").put_item(
        TableName=box.env["TABLE_NAME"],
        Item={**breaker_key("registry"), **to_item({"mode": "OPEN", "opened_at": 1, "version": 3})},
    )
    r = get_status()
    assert r["statusCode"] == 200
    assert r["headers"]["Cache-Control"] == "public, max-age=15"
    assert r["headers"]["Content-Type"] == "application/json"
    status = body(r)
    assert status["email"] == {"queued": 7, "eta_s": 2}  # 7 jobs at min(4 SES/s, 2 senders x 10/s)
    assert status["nik"] == {"pending": 5, "eta_s": 3, "registry": "DOWN"}  # 5 checks at 2/s
    assert set(status) == {"email", "nik", "updated_at"}


def test_status_is_cached_for_15_s_per_environment(box):
    first = body(get_status())
    box.client("sqs").send_message(QueueUrl=box.env["EMAIL_QUEUE_URL"], MessageBody="{}")
    assert body(get_status()) == first  # the same answer from memory, no new AWS calls
    assert first["nik"]["registry"] == "UP"
