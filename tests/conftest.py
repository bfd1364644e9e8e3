"""Shared fixtures and event builders.

- In-memory fakes of the ports: tests/fakes.py (fixtures below hand them out fresh).
- Lambda events: `api_event` (API Gateway REST proxy) and `FakeContext` come from the moto
  sandbox (infra/sandbox.py, which the AWS-call benchmark uses too); SQS and DynamoDB stream
  records are built here.
"""

from __future__ import annotations

import itertools
import json
import os
from collections.abc import Mapping
from typing import Any

import pytest
from hypothesis import settings

from infra.sandbox import FakeContext, api_event
from prakerja.adapters.dynamo_codec import to_item
from prakerja.domain.ports import Keys
from prakerja.workers import QueueMessage
from tests.fakes import KEYS, FakeClock

# CI (CI=true) replays the same generated examples on every run, so a property test cannot pass one
# run and fail the next; developers' runs keep exploring new examples (and keep the ones that failed).
settings.register_profile("ci", derandomize=True, database=None)
if os.environ.get("CI"):
    settings.load_profile("ci")

__all__ = ["FakeContext", "api_event", "queue_message", "sqs_event", "sqs_record", "stream_record"]

_sequence = itertools.count(1)


def sqs_record(
    body: str | Mapping[str, Any],
    *,
    message_id: str | None = None,
    receipt_handle: str | None = None,
    receive_count: int = 1,
    sent_timestamp: str = "0",
) -> dict[str, Any]:
    """One record of an SQS event (what the Lambda event source mapping delivers)."""
    n = next(_sequence)
    return {
        "messageId": message_id or f"m-{n}",
        "receiptHandle": receipt_handle or f"rh-{n}",
        "body": body if isinstance(body, str) else json.dumps(body),
        "attributes": {"ApproximateReceiveCount": str(receive_count), "SentTimestamp": sent_timestamp},
        "messageAttributes": {},
        "md5OfBody": "",
        "eventSource": "aws:sqs",
        "eventSourceARN": "arn:aws:sqs:ap-southeast-3:123456789012:q",
        "awsRegion": "ap-southeast-3",
    }


def sqs_event(*records: dict[str, Any]) -> dict[str, Any]:
    return {"Records": list(records)}


def queue_message(body: str | Mapping[str, Any], *, receive_count: int = 1) -> QueueMessage:
    """What a worker sees of one SQS record."""
    record = sqs_record(body, receive_count=receive_count)
    return QueueMessage(record["messageId"], record["body"], record["receiptHandle"], receive_count)


def stream_record(
    event_name: str, new: Mapping[str, Any] | None, old: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """One DynamoDB stream record (NEW_AND_OLD_IMAGES) of the table; images as plain values."""
    n = next(_sequence)
    ddb: dict[str, Any] = {"SequenceNumber": f"{n:021d}", "StreamViewType": "NEW_AND_OLD_IMAGES"}
    if new is not None:
        ddb["NewImage"] = to_item(new)
    if old is not None:
        ddb["OldImage"] = to_item(old)
    return {"eventID": f"ev-{n}", "eventName": event_name, "eventSource": "aws:dynamodb", "dynamodb": ddb}


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def keys() -> Keys:
    return KEYS
