"""Event-source rules of the local pollers, with fake handlers and a fake clock (no AWS)."""

from __future__ import annotations

import datetime as dt
import io
import json
import threading
import time
from typing import Any

import pytest

from infra.local.events import SqsSource, StreamSource
from infra.local.moto_server import SerialisedApp
from infra.local.sqs_poller import SqsPoller, batch_item_failures, sqs_record
from infra.local.stream_poller import ShardState, StreamDelivery, failure_record, lambda_record


def record(seq: int, pk: str = "k") -> dict[str, Any]:
    return {
        "eventName": "INSERT",
        "dynamodb": {
            "SequenceNumber": str(seq),
            "Keys": {"pk": {"S": f"{pk}{seq}"}},
            "ApproximateCreationDateTime": time.time(),
        },
    }


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class Recorder:
    """A handler: records each batch's sequence numbers, then plays the scripted outcome."""

    def __init__(self, *outcomes: Any) -> None:
        self.batches: list[list[str]] = []
        self.outcomes = list(outcomes)

    def __call__(self, event: dict[str, Any]) -> Any:
        self.batches.append([r["dynamodb"]["SequenceNumber"] for r in event["Records"]])
        outcome = self.outcomes.pop(0) if self.outcomes else None
        if isinstance(outcome, Exception):
            raise outcome
        return outcome


def delivery(
    handler: Recorder, clock: FakeClock, given_up: list[tuple[list[str], str]], **options: Any
) -> StreamDelivery:
    source = StreamSource(function="F", stream_arn="arn:stream", **options)

    def give_up(shard: ShardState, records: list[dict[str, Any]], reason: str) -> None:
        given_up.append(([r["dynamodb"]["SequenceNumber"] for r in records], reason))

    return StreamDelivery(source, handler, give_up, clock=clock)


def drain(stream: StreamDelivery, shard: ShardState, clock: FakeClock, rounds: int = 20) -> None:
    for _ in range(rounds):
        if stream.ready(shard):
            stream.deliver(shard)
        clock.now += 10


def test_partial_failure_redelivers_from_the_failed_record():
    clock, gave_up = FakeClock(), []
    handler = Recorder({"batchItemFailures": [{"itemIdentifier": "3"}]})
    stream, shard = delivery(handler, clock, gave_up, batch_size=5, report_failures=True), ShardState("s")
    stream.add(shard, [record(i) for i in range(1, 6)])
    drain(stream, shard, clock)
    assert handler.batches == [["1", "2", "3", "4", "5"], ["3", "4", "5"]]
    assert not shard.pending and gave_up == []


def test_without_report_batch_item_failures_the_response_is_ignored():
    clock, gave_up = FakeClock(), []
    handler = Recorder({"batchItemFailures": [{"itemIdentifier": "1"}]})
    stream, shard = delivery(handler, clock, gave_up, batch_size=5), ShardState("s")
    stream.add(shard, [record(1), record(2)])
    drain(stream, shard, clock)
    assert handler.batches == [["1", "2"]]


def test_an_unknown_item_identifier_fails_the_whole_batch():
    clock, gave_up = FakeClock(), []
    handler = Recorder({"batchItemFailures": [{"itemIdentifier": "nope"}]})
    stream, shard = delivery(handler, clock, gave_up, batch_size=5, report_failures=True), ShardState("s")
    stream.add(shard, [record(1), record(2)])
    drain(stream, shard, clock)
    assert handler.batches == [["1", "2"], ["1", "2"]]


def test_bisect_isolates_a_poison_record_then_gives_it_up_after_the_retries():
    clock, gave_up = FakeClock(), []
    poison = RuntimeError("poison")

    def handler(event: dict[str, Any]) -> Any:
        seqs = [r["dynamodb"]["SequenceNumber"] for r in event["Records"]]
        calls.append(seqs)
        if "3" in seqs:
            raise poison
        return None

    calls: list[list[str]] = []
    source = StreamSource(function="F", stream_arn="arn", batch_size=4, bisect=True, max_retries=1)
    stream = StreamDelivery(
        source,
        handler,
        lambda shard, records, reason: gave_up.append(([r["dynamodb"]["SequenceNumber"] for r in records], reason)),
        clock=clock,
    )
    shard = ShardState("s")
    stream.add(shard, [record(i) for i in range(1, 5)])
    drain(stream, shard, clock)
    # halves until the poison is alone, one retry (MaximumRetryAttempts 1), skipped, then the rest
    assert calls == [["1", "2", "3", "4"], ["1", "2"], ["3", "4"], ["3"], ["3"], ["4"]]
    assert gave_up == [(["3"], "RetryAttemptsExhausted")]
    assert not shard.pending


def test_errors_retry_with_backoff_until_success():
    clock, gave_up = FakeClock(), []
    handler = Recorder(RuntimeError("a"), RuntimeError("b"), None)
    stream, shard = delivery(handler, clock, gave_up, batch_size=10), ShardState("s")
    stream.add(shard, [record(1)])
    stream.deliver(shard)
    assert not stream.ready(shard)  # backing off
    drain(stream, shard, clock)
    assert handler.batches == [["1"], ["1"], ["1"]] and gave_up == [] and not shard.pending


def test_old_records_are_given_up():
    clock, gave_up = FakeClock(), []
    old = record(1)
    old["dynamodb"]["ApproximateCreationDateTime"] = time.time() - 3600
    stream, shard = delivery(Recorder(RuntimeError("x")), clock, gave_up, max_record_age_s=60), ShardState("s")
    stream.add(shard, [old])
    drain(stream, shard, clock)
    assert gave_up == [(["1"], "RecordAgeExceeded")]


def test_batching_window_waits_for_a_fuller_batch():
    clock, gave_up = FakeClock(), []
    handler = Recorder()
    stream, shard = delivery(handler, clock, gave_up, batch_size=3, window_s=1.0), ShardState("s")
    stream.add(shard, [record(1)])
    assert not stream.ready(shard)
    stream.add(shard, [record(2), record(3)])
    assert stream.ready(shard)  # full batch: no need to wait
    stream.deliver(shard)
    stream.add(shard, [record(4)])
    assert not stream.ready(shard)
    clock.now += 1.0
    assert stream.ready(shard)


def test_filtered_out_records_never_reach_the_handler():
    clock, gave_up = FakeClock(), []
    handler = Recorder()
    stream = delivery(handler, clock, gave_up, filters=({"dynamodb": {"Keys": {"pk": {"S": [{"prefix": "keep"}]}}}},))
    shard = ShardState("s")
    stream.add(shard, [record(1, "keep"), record(2, "drop"), record(3, "keep")])
    drain(stream, shard, clock)
    assert handler.batches == [["1", "3"]]


def test_stream_records_look_like_lambdas():
    created = dt.datetime(2024, 1, 2, 3, 4, 5, tzinfo=dt.UTC)
    raw = {
        "eventID": "e1",
        "eventName": "MODIFY",
        "eventVersion": "1.0",
        "awsRegion": "us-east-1",
        "dynamodb": {
            "ApproximateCreationDateTime": created,
            "SequenceNumber": "7",
            "SizeBytes": 10,
            "StreamViewType": "NEW_AND_OLD_IMAGES",
            "Keys": {"pk": {"S": "a"}},
            "NewImage": {"blob": {"B": b"\x00\x01"}, "m": {"M": {"bs": {"BS": [b"\x02"]}}}, "l": {"L": [{"N": "1"}]}},
            "OldImage": {"pk": {"S": "a"}},
        },
    }
    converted = lambda_record(raw, "arn:stream", "ap-southeast-3")
    assert converted["awsRegion"] == "ap-southeast-3" and converted["eventSource"] == "aws:dynamodb"
    assert converted["eventSourceARN"] == "arn:stream" and converted["eventVersion"] == "1.1"
    ddb = converted["dynamodb"]
    assert ddb["ApproximateCreationDateTime"] == int(created.timestamp())
    assert ddb["NewImage"] == {"blob": {"B": "AAE="}, "m": {"M": {"bs": {"BS": ["Ag=="]}}}, "l": {"L": [{"N": "1"}]}}
    assert ddb["OldImage"] == {"pk": {"S": "a"}} and ddb["SequenceNumber"] == "7"


def test_failure_destination_gets_batch_metadata_not_records():
    source = StreamSource(function="F", stream_arn="arn:stream")
    shard = ShardState("shard-1", attempts=3)
    body = failure_record(source, shard, [record(4), record(9)], "RetryAttemptsExhausted", "arn:fn")
    info = body["DDBStreamBatchInfo"]
    assert (info["startSequenceNumber"], info["endSequenceNumber"], info["batchSize"]) == ("4", "9", 2)
    assert body["requestContext"]["condition"] == "RetryAttemptsExhausted"
    assert "Keys" not in json.dumps(body)


# -- SQS -------------------------------------------------------------------------------------------------
def message(mid: str, body: str) -> dict[str, Any]:
    return {
        "MessageId": mid,
        "ReceiptHandle": f"rh-{mid}",
        "Body": body,
        "MD5OfBody": "m",
        "Attributes": {"ApproximateReceiveCount": "1", "SentTimestamp": "1"},
        "MessageAttributes": {
            "bin": {"DataType": "Binary", "BinaryValue": b"\x01"},
            "txt": {"DataType": "String", "StringValue": "v"},
        },
    }


def test_sqs_records_look_like_lambdas():
    converted = sqs_record(message("1", "hello"), "arn:aws:sqs:r:1:q", "r")
    assert converted["messageId"] == "1" and converted["receiptHandle"] == "rh-1" and converted["body"] == "hello"
    assert converted["eventSource"] == "aws:sqs" and converted["eventSourceARN"] == "arn:aws:sqs:r:1:q"
    assert converted["attributes"]["ApproximateReceiveCount"] == "1"
    assert converted["messageAttributes"]["bin"]["binaryValue"] == "AQ=="
    assert converted["messageAttributes"]["txt"] == {
        "stringValue": "v",
        "stringListValues": [],
        "binaryListValues": [],
        "dataType": "String",
    }


def test_batch_item_failures_rules():
    ids = {"a", "b", "c"}
    assert batch_item_failures({"batchItemFailures": [{"itemIdentifier": "b"}]}, ids) == {"b"}
    assert batch_item_failures({"batchItemFailures": []}, ids) == set()
    assert batch_item_failures(None, ids) == set()
    assert batch_item_failures({"batchItemFailures": [{"itemIdentifier": ""}]}, ids) == ids
    assert batch_item_failures({"batchItemFailures": [{"itemIdentifier": "zzz"}]}, ids) == ids


class FakeSqs:
    def __init__(self) -> None:
        self.deleted: list[str] = []

    def delete_message_batch(self, QueueUrl: str, Entries: list[dict[str, str]]) -> dict[str, Any]:  # noqa: N803
        self.deleted.extend(e["ReceiptHandle"] for e in Entries)
        return {}


def sqs_poller(handler: Any, **options: Any) -> tuple[SqsPoller, FakeSqs]:
    sqs = FakeSqs()
    source = SqsSource(function="F", queue_arn="arn:q", **options)
    return SqsPoller(source, "http://q", handler, sqs, "r", threading.Event()), sqs


def test_sqs_success_deletes_all_but_the_reported_failures():
    poller, sqs = sqs_poller(lambda event: {"batchItemFailures": [{"itemIdentifier": "2"}]}, report_failures=True)
    poller.process([message("1", "a"), message("2", "b"), message("3", "c")])
    assert sqs.deleted == ["rh-1", "rh-3"]


def test_sqs_handler_error_deletes_nothing():
    def boom(event: dict[str, Any]) -> Any:
        raise RuntimeError("x")

    poller, sqs = sqs_poller(boom, report_failures=True)
    poller.process([message("1", "a"), message("2", "b")])
    assert sqs.deleted == []


def test_sqs_filtered_out_messages_are_deleted_without_an_invocation():
    seen: list[list[str]] = []
    poller, sqs = sqs_poller(
        lambda event: seen.append([r["body"] for r in event["Records"]]), filters=({"body": {"kind": ["EMAIL"]}},)
    )
    poller.process([message("1", '{"kind": "EMAIL"}'), message("2", '{"kind": "OTHER"}')])
    assert seen == [['{"kind": "EMAIL"}']] and sqs.deleted == ["rh-1", "rh-2"]


# -- moto's request lock --------------------------------------------------------------------------------------
def wsgi_call(app: SerialisedApp, target: str, body: dict[str, Any]) -> tuple[str, bytes]:
    raw = json.dumps(body).encode()
    environ = {"HTTP_X_AMZ_TARGET": target, "CONTENT_LENGTH": str(len(raw)), "wsgi.input": io.BytesIO(raw)}
    status: list[str] = []
    chunks = app(environ, lambda s, headers, exc_info=None: status.append(s))
    return status[0], b"".join(chunks)


def test_sqs_long_polls_are_short_polls_outside_the_lock():
    lock = threading.Lock()
    seen_waits: list[Any] = []
    answers = [b"{}", b"{}", b'{"Messages": [{"MessageId": "1"}]}']

    def moto(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        assert lock.locked()
        request = json.loads(environ["wsgi.input"].read(int(environ["CONTENT_LENGTH"])))
        seen_waits.append(request["WaitTimeSeconds"])
        start_response("200 OK", [("Content-Type", "application/x-amz-json-1.0")])
        return [answers.pop(0)]

    app = SerialisedApp(moto, lock)
    status, body = wsgi_call(app, "AmazonSQS.ReceiveMessage", {"QueueUrl": "http://h/1/q", "WaitTimeSeconds": 5})
    assert status == "200 OK" and json.loads(body)["Messages"][0]["MessageId"] == "1"
    assert seen_waits == [0, 0, 0] and not lock.locked()


def test_a_queue_default_wait_applies_when_the_request_has_none():
    calls: list[float] = []

    def moto(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        calls.append(time.monotonic())
        start_response("200 OK", [])
        return [b"{}"]

    app = SerialisedApp(moto, threading.Lock(), {"q": 1})
    started = time.monotonic()
    wsgi_call(app, "AmazonSQS.ReceiveMessage", {"QueueUrl": "http://h/1/q"})
    assert 0.9 <= time.monotonic() - started < 3 and len(calls) > 3
    calls.clear()
    wsgi_call(app, "AmazonSQS.ReceiveMessage", {"QueueUrl": "http://h/1/other"})
    assert len(calls) == 1


def test_a_long_poll_answers_as_soon_as_a_message_is_sent(monkeypatch: pytest.MonkeyPatch):
    from infra.local import moto_server

    monkeypatch.setattr(moto_server, "_LONG_POLL_STEP_S", 60.0)  # only a send can end the wait early
    queue: list[str] = []

    def moto(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        start_response("200 OK", [])
        if environ["HTTP_X_AMZ_TARGET"] == "AmazonSQS.SendMessage":
            queue.append("1")
            return [b"{}"]
        return [json.dumps({"Messages": [{"MessageId": m} for m in queue]} if queue else {}).encode()]

    app = SerialisedApp(moto, threading.Lock())
    answer: dict[str, Any] = {}

    def long_poll() -> None:
        started = time.monotonic()
        request = {"QueueUrl": "http://h/1/q", "WaitTimeSeconds": 20}
        answer["body"] = wsgi_call(app, "AmazonSQS.ReceiveMessage", request)[1]
        answer["waited"] = time.monotonic() - started

    receiver = threading.Thread(target=long_poll)
    receiver.start()
    time.sleep(0.2)
    wsgi_call(app, "AmazonSQS.SendMessage", {"QueueUrl": "http://h/1/q", "MessageBody": "x"})
    receiver.join(30)
    assert json.loads(answer["body"])["Messages"] == [{"MessageId": "1"}]
    assert answer["waited"] < 10  # woken by the send, not by the 20 s wait or the 60 s step
