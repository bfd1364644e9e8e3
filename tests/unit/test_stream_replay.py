"""`prakerja dlq redrive --queue stream` against an in-process moto: the OnFailure record of a
stream batch (metadata only) is replayed by re-reading the stream by sequence number; parked
poison positions the same way; parked funnel counts are counted once; a message whose records
are gone stays in the DLQ."""

from __future__ import annotations

import json
from typing import Any

import pytest

from infra import cli, stream_replay
from infra.cli import physical_name
from tests.unit.test_cli import REGION, TABLE, queue_url, run, session  # noqa: F401 - the fixture

RID = "0123456789abcdef0123456789abcdef"


@pytest.fixture(autouse=True)
def _streams_endpoint(monkeypatch: pytest.MonkeyPatch) -> None:
    # moto routes DynamoDB Streams only on the regional endpoint, not the account-based one
    monkeypatch.setenv("AWS_ACCOUNT_ID_ENDPOINT_MODE", "disabled")


def with_stream(s: Any) -> tuple[str, str]:
    ddb = s.client("dynamodb")
    desc = ddb.update_table(
        TableName=TABLE, StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"}
    )["TableDescription"]
    arn = desc["LatestStreamArn"]
    shard = s.client("dynamodbstreams").describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]
    return arn, shard


def put_job(s: Any, outbox_id: str, kind: str = "EMAIL") -> None:
    s.client("dynamodb").put_item(
        TableName=TABLE,
        Item={
            "pk": {"S": f"OUTBOX#{outbox_id}"},
            "sk": {"S": "OUTBOX"},
            "kind": {"S": kind},
            "registration_id": {"S": RID},
            "payload": {"M": {"nonce": {"S": "n1"}}},
        },
    )


def sequence_numbers(s: Any, arn: str, shard: str) -> list[str]:
    streams = s.client("dynamodbstreams")
    it = streams.get_shard_iterator(StreamArn=arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
    return [r["dynamodb"]["SequenceNumber"] for r in streams.get_records(ShardIterator=it)["Records"]]


def on_failure(arn: str, shard: str | None, first: str, last: str, size: int) -> str:
    """Lambda's OnFailure message for a DynamoDB stream batch (AWS Lambda docs, 'DDBStreamBatchInfo')."""
    return json.dumps(
        {
            "requestContext": {
                "requestId": "316aa6d0-8154-xmpl-9af7-85d5f4a6bc81",
                "functionArn": "arn:aws:lambda:ap-southeast-3:123456789012:function:relay",
                "condition": "RetryAttemptsExhausted",
                "approximateInvokeCount": 51,
            },
            "responseContext": {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"},
            "version": "1.0",
            "timestamp": "2026-11-28T00:38:06.021Z",
            "DDBStreamBatchInfo": {
                "shardId": shard,
                "startSequenceNumber": first,
                "endSequenceNumber": last,
                "approximateArrivalOfFirstRecord": "2026-11-28T00:38:04Z",
                "approximateArrivalOfLastRecord": "2026-11-28T00:38:04Z",
                "batchSize": size,
                "streamArn": arn,
            },
        }
    )


def drain(s: Any, logical: str) -> list[str]:
    sqs, url, bodies = s.client("sqs"), queue_url(s, logical), []
    while True:
        got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
        if not got:
            return bodies
        for m in got:
            bodies.append(m["Body"])
            sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])


def test_a_given_up_batch_is_replayed_from_the_stream_and_leaves_the_dlq(session, capsys, monkeypatch):  # noqa: F811
    monkeypatch.setattr(stream_replay, "REPLAY_VISIBILITY_S", 0)
    arn, shard = with_stream(session)
    put_job(session, "o1")
    put_job(session, "o2", "NIK_CHECK")
    put_job(session, "o3")
    seqs = sequence_numbers(session, arn, shard)
    sqs = session.client("sqs")
    # the batch o2..o3 was given up; o1 had been relayed before
    sqs.send_message(QueueUrl=queue_url(session, "StreamDLQ"), MessageBody=on_failure(arn, shard, seqs[1], seqs[2], 2))
    assert run(session, "dlq", "redrive", "--queue", "stream") == 0
    assert "replayed 1 stream batch(es) (2 record(s))" in capsys.readouterr().out
    assert [json.loads(b)["outbox_id"] for b in drain(session, "EmailQueue")] == ["o3"]
    assert [json.loads(b)["outbox_id"] for b in drain(session, "NikQueue")] == ["o2"]
    assert drain(session, "StreamDLQ") == []


def test_a_parked_poison_position_without_shard_id_is_found_and_replayed(session, capsys):  # noqa: F811
    arn, shard = with_stream(session)
    put_job(session, "o9")
    (seq,) = sequence_numbers(session, arn, shard)
    body = json.loads(on_failure(arn, None, seq, seq, 1))
    body["kind"] = "STREAM_RECORD"
    session.client("sqs").send_message(QueueUrl=queue_url(session, "StreamDLQ"), MessageBody=json.dumps(body))
    assert run(session, "dlq", "redrive", "--queue", "stream") == 0
    assert [json.loads(b)["outbox_id"] for b in drain(session, "EmailQueue")] == ["o9"]


def test_parked_funnel_counts_are_counted_once(session, capsys):  # noqa: F811
    with_stream(session)
    parked = {"kind": "FUNNEL_COUNTS", "increments": [["ev-1", "registered"], ["ev-2", "registered"]]}
    url = queue_url(session, "StreamDLQ")
    sqs = session.client("sqs")
    sqs.send_message(QueueUrl=url, MessageBody=json.dumps(parked))
    sqs.send_message(QueueUrl=url, MessageBody=json.dumps(parked))  # the same counts parked twice
    assert run(session, "dlq", "redrive", "--queue", "stream") == 0
    assert "counted 4 parked funnel step(s)" in capsys.readouterr().out
    assert run(session, "funnel", "--json") == 0
    steps = {r["step"]: r["count"] for r in json.loads(capsys.readouterr().out)["funnel"]}
    assert steps["registered"] == 2  # SEEN# markers: ev-1 and ev-2 once each


def test_records_past_the_retention_stay_in_the_dlq_and_the_exit_code_says_so(session, capsys, monkeypatch):  # noqa: F811
    monkeypatch.setattr(stream_replay, "REPLAY_VISIBILITY_S", 0)
    monkeypatch.setattr(cli, "RECEIVE_WAIT_S", 0)
    arn, shard = with_stream(session)
    put_job(session, "o1")
    (seq,) = sequence_numbers(session, arn, shard)
    gone = str(int(seq) + 1000)
    url = queue_url(session, "StreamDLQ")
    session.client("sqs").send_message(QueueUrl=url, MessageBody=on_failure(arn, shard, gone, gone, 1))
    assert run(session, "dlq", "redrive", "--queue", "stream") == 1
    assert "past the stream's retention" in capsys.readouterr().out
    assert drain(session, "EmailQueue") == []
    assert len(drain(session, "StreamDLQ")) == 1
    assert physical_name("StreamDLQ") in url
