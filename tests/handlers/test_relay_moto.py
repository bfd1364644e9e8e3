"""The outbox relay's failure paths under moto (sandbox): a counting failure forwards the job once
and parks the counts on the stream DLQ (replayed later, once); a poison record is parked by
position and does not block the records after it."""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from infra.sandbox import FakeContext, Sandbox, api_event, load_handler, sandbox
from infra.stream_replay import StreamReplayer
from prakerja import composition
from prakerja.adapters.funnel import DynamoFunnelStore
from prakerja.composition.workers import outbox_relay_of
from tests.handlers.pipeline import Pipeline, body


@pytest.fixture
def box() -> Iterator[Sandbox]:
    with sandbox() as b:
        yield b


def register(email: str) -> str:
    person = {
        "email": email,
        "password": "sandi-kuat-2026",
        "full_name": "Budi Santoso",
        "phone": "081234567890",
        "consent": {"terms_version": "2026-01", "accepted": True},
    }
    r = load_handler("register")(api_event("POST", "/registrations", "/registrations", body=person), FakeContext())
    return str(body(r)["registration_id"])


def drain(box: Sandbox, env: str) -> list[dict[str, Any]]:
    sqs, url, found = box.client("sqs"), box.env[env], []
    while True:
        got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
        if not got:
            return found
        for m in got:
            found.append(json.loads(m["Body"]))
            sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])


def test_a_counting_failure_forwards_the_job_once_and_parks_the_counts(box, monkeypatch):
    rid = register(f"c-{uuid.uuid4().hex[:6]}@example.com")
    pipe = Pipeline(box)
    batch = pipe.stream_batch()

    def throttled(self: DynamoFunnelStore, increments: list[tuple[str, str]], shard: int) -> None:
        raise RuntimeError("ProvisionedThroughputExceededException")

    with monkeypatch.context() as patch:
        patch.setattr(DynamoFunnelStore, "count", throttled)
        patch.setattr("prakerja.workers.outbox_relay.SEND_BACKOFF_S", 0.0)
        assert pipe.relay(batch) == {"batchItemFailures": []}  # nothing redelivered
    jobs = drain(box, "EMAIL_QUEUE_URL")
    assert [(j["kind"], j["registration_id"]) for j in jobs] == [("EMAIL", rid)]  # exactly once
    parked = box.client("sqs").receive_message(QueueUrl=box.env["STREAM_DLQ_URL"]).get("Messages", [])
    assert [json.loads(m["Body"])["kind"] for m in parked] == ["FUNNEL_COUNTS"]
    box.client("sqs").change_message_visibility(
        QueueUrl=box.env["STREAM_DLQ_URL"], ReceiptHandle=parked[0]["ReceiptHandle"], VisibilityTimeout=0
    )
    ddb, sqs = box.client("dynamodb"), box.client("sqs")
    funnel = composition.funnel_store_of(ddb, box.env["TABLE_NAME"])
    assert funnel.totals() == {}
    relay = outbox_relay_of(
        sqs,
        ddb,
        box.env["TABLE_NAME"],
        {
            "EMAIL": box.env["EMAIL_QUEUE_URL"],
            "NIK_CHECK": box.env["NIK_QUEUE_URL"],
            "PARKING": box.env["STREAM_DLQ_URL"],
        },
        logging.getLogger("tests.relay"),
    )
    report = StreamReplayer(
        sqs=sqs,
        streams=box.client("dynamodbstreams"),
        dlq_url=box.env["STREAM_DLQ_URL"],
        relay=relay,
        funnel=funnel,
        region="ap-southeast-3",
    ).run(None)
    assert report.counted == 1 and funnel.totals() == {"registered": 1}
    assert drain(box, "EMAIL_QUEUE_URL") == []  # counting later re-sends nothing


def test_a_poison_record_is_parked_and_the_rest_of_the_batch_goes_through(box):
    register(f"p-{uuid.uuid4().hex[:6]}@example.com")
    pipe = Pipeline(box)
    batch = pipe.stream_batch()
    outbox = next(r for r in batch["Records"] if r["dynamodb"]["Keys"]["pk"]["S"].startswith("OUTBOX#"))
    poison = json.loads(json.dumps(outbox, default=str))
    del poison["dynamodb"]["NewImage"]["kind"]  # a job this code cannot read
    poison["dynamodb"]["SequenceNumber"] = "1"
    event = {"Records": [poison, *batch["Records"]]}
    assert pipe.relay(event) == {"batchItemFailures": []}
    assert [j["kind"] for j in drain(box, "EMAIL_QUEUE_URL")] == ["EMAIL"]
    (parked,) = drain(box, "STREAM_DLQ_URL")
    assert parked["kind"] == "STREAM_RECORD" and parked["reason"] == "undecodable"
    assert parked["DDBStreamBatchInfo"]["startSequenceNumber"] == "1"
