"""The SQS worker shape: partial batch failures (only the records whose handling raised come back),
each record handed to the worker as a QueueMessage."""

from __future__ import annotations

import json

import pytest

from prakerja.observability import observability
from prakerja.workers import QueueMessage
from prakerja.workers.sqs import sqs_worker
from tests.conftest import FakeContext, sqs_event, sqs_record


def test_only_the_records_that_raised_come_back() -> None:
    seen: list[QueueMessage] = []

    def handle(message: QueueMessage) -> None:
        seen.append(message)
        if json.loads(message.body).get("fail"):
            raise RuntimeError("registry down")

    handler = sqs_worker(*observability("test_worker"), handle)
    event = sqs_event(
        sqs_record({"fail": False}, message_id="m-0", receipt_handle="rh-0", receive_count=1),
        sqs_record({"fail": True}, message_id="m-1", receipt_handle="rh-1", receive_count=2),
        sqs_record({"fail": False}, message_id="m-2", receipt_handle="rh-2", receive_count=3),
    )

    assert handler(event, FakeContext()) == {"batchItemFailures": [{"itemIdentifier": "m-1"}]}
    assert [(m.message_id, m.receipt_handle, m.receive_count) for m in seen] == [
        ("m-0", "rh-0", 1),
        ("m-1", "rh-1", 2),
        ("m-2", "rh-2", 3),
    ]
    assert json.loads(seen[1].body) == {"fail": True}


def test_a_batch_where_every_record_waits_is_an_answer_not_an_error() -> None:
    def handle(message: QueueMessage) -> None:
        raise RuntimeError("not yet")

    handler = sqs_worker(*observability("test_worker_all"), handle)
    event = sqs_event(sqs_record("a", message_id="m-0"), sqs_record("b", message_id="m-1"))

    failures = [{"itemIdentifier": "m-0"}, {"itemIdentifier": "m-1"}]
    assert handler(event, FakeContext()) == {"batchItemFailures": failures}
    assert handler({"Records": []}, FakeContext()) == {"batchItemFailures": []}


def test_a_failed_record_is_logged_by_error_type_only(capsys: pytest.CaptureFixture[str]) -> None:
    def handle(message: QueueMessage) -> None:
        raise ValueError("budi@example.com is not reachable")  # a message that quotes personal data

    logger, metrics, tracer = observability("test_worker_log")
    logger.setLevel("DEBUG")
    handler = sqs_worker(logger, metrics, tracer, handle)

    assert handler(sqs_event(sqs_record("x", message_id="m-9")), FakeContext()) == {
        "batchItemFailures": [{"itemIdentifier": "m-9"}]
    }
    out = capsys.readouterr().out
    assert "ValueError" in out and "budi@example.com" not in out
