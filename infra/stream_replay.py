"""`prakerja dlq redrive --queue stream`: replay what the outbox relay's StreamDLQ holds.

StreamDLQ receives three kinds of message, none of which carries a record's data:
- Lambda's OnFailure record of a stream batch given up (`DDBStreamBatchInfo`: stream ARN, shard
  id, first and last sequence number): the records are re-read from the stream by sequence
  number (GetShardIterator AT_SEQUENCE_NUMBER, GetRecords up to the last one) while they are
  within the stream's 24 h retention, and relayed again by the relay's own code;
- a poison record parked by the relay (`kind` STREAM_RECORD, same `DDBStreamBatchInfo` shape,
  no shard id: the shard is found from the sequence number with DescribeStream);
- funnel counts the relay could not write (`kind` FUNNEL_COUNTS): counted now, exactly once
  (the SEEN# markers skip records already counted).
A message is deleted only after its replay succeeded; one past the stream's retention stays
in the DLQ and is reported (its records are gone: the table's outbox items are the evidence).
"""

from __future__ import annotations

import json
import logging
import random
from dataclasses import dataclass, field
from typing import Any

from prakerja.workers.outbox_relay import PARKED_COUNTS, OutboxRelay

REPLAY_VISIBILITY_S = 120
MAX_EMPTY_PAGES = 5
log = logging.getLogger("prakerja.replay")


class Expired(Exception):  # noqa: N818 - an outcome
    """The records are no longer in the stream (past its retention, or the shard is gone)."""


@dataclass
class ReplayReport:
    replayed_batches: int = 0
    replayed_records: int = 0
    counted: int = 0
    expired: list[str] = field(default_factory=list)  # message ids left in the DLQ
    failed: list[str] = field(default_factory=list)  # message ids left in the DLQ (retry later)


def _code(exc: BaseException) -> str:
    response = getattr(exc, "response", None)
    return str(response.get("Error", {}).get("Code", "")) if isinstance(response, dict) else ""


def find_shard(streams: Any, stream_arn: str, sequence: str) -> str:
    """The shard whose sequence range holds `sequence` (DescribeStream, paginated)."""
    wanted = int(sequence)
    kwargs: dict[str, Any] = {"StreamArn": stream_arn}
    while True:
        desc = streams.describe_stream(**kwargs)["StreamDescription"]
        for shard in desc.get("Shards", []):
            rng = shard.get("SequenceNumberRange", {})
            start = int(rng.get("StartingSequenceNumber", "0"))
            end = rng.get("EndingSequenceNumber")
            if start <= wanted and (end is None or wanted <= int(end)):
                return str(shard["ShardId"])
        last = desc.get("LastEvaluatedShardId")
        if not last:
            raise Expired(f"no shard of the stream holds sequence number {sequence}")
        kwargs["ExclusiveStartShardId"] = last


def read_range(streams: Any, info: dict[str, Any]) -> list[dict[str, Any]]:
    """The stream records from startSequenceNumber to endSequenceNumber (boto3 shape)."""
    stream_arn, start, end = str(info["streamArn"]), str(info["startSequenceNumber"]), int(info["endSequenceNumber"])
    shard = info.get("shardId") or find_shard(streams, stream_arn, start)
    try:
        iterator = streams.get_shard_iterator(
            StreamArn=stream_arn, ShardId=shard, ShardIteratorType="AT_SEQUENCE_NUMBER", SequenceNumber=start
        ).get("ShardIterator")
    except Exception as exc:
        if _code(exc) in {"TrimmedDataAccessException", "ResourceNotFoundException"}:
            raise Expired(_code(exc)) from None
        raise
    records: list[dict[str, Any]] = []
    empty = 0
    while iterator and empty < MAX_EMPTY_PAGES:
        try:
            page = streams.get_records(ShardIterator=iterator, Limit=1000)
        except Exception as exc:
            if _code(exc) in {"TrimmedDataAccessException", "ExpiredIteratorException"}:
                raise Expired(_code(exc)) from None
            raise
        got = page.get("Records", [])
        empty = 0 if got else empty + 1
        for record in got:
            if int(record["dynamodb"]["SequenceNumber"]) > end:
                return records
            records.append(record)
        if records and int(records[-1]["dynamodb"]["SequenceNumber"]) == end:
            return records
        iterator = page.get("NextShardIterator")
    if not records:
        raise Expired("the records are no longer in the stream")
    return records


class StreamReplayer:
    def __init__(self, *, sqs: Any, streams: Any, dlq_url: str, relay: OutboxRelay, funnel: Any, region: str) -> None:
        self._sqs = sqs
        self._streams = streams
        self._dlq_url = dlq_url
        self._relay = relay
        self._funnel = funnel
        self._region = region

    def run(self, limit: int | None) -> ReplayReport:
        report = ReplayReport()
        seen: set[str] = set()
        while limit is None or len(seen) < limit:
            want = 10 if limit is None else min(10, limit - len(seen))
            resp = self._sqs.receive_message(
                QueueUrl=self._dlq_url,
                MaxNumberOfMessages=want,
                VisibilityTimeout=REPLAY_VISIBILITY_S,
                WaitTimeSeconds=1,
            )
            messages = [m for m in resp.get("Messages", []) if m["MessageId"] not in seen]
            if not messages:
                break
            for message in messages:
                seen.add(message["MessageId"])
                if self._replay(message, report):
                    self._sqs.delete_message(QueueUrl=self._dlq_url, ReceiptHandle=message["ReceiptHandle"])
        return report

    def _replay(self, message: dict[str, Any], report: ReplayReport) -> bool:
        mid = str(message["MessageId"])
        try:
            doc = json.loads(message.get("Body", ""))
        except ValueError:
            report.failed.append(mid)
            return False
        try:
            if isinstance(doc, dict) and doc.get("kind") == PARKED_COUNTS:
                increments = [(str(e), str(s)) for e, s in doc.get("increments", [])]
                self._funnel.count(increments, shard=random.randrange(16))  # noqa: S311  # nosec B311
                report.counted += len(increments)
                return True
            info = doc.get("DDBStreamBatchInfo") if isinstance(doc, dict) else None
            if not isinstance(info, dict):
                report.failed.append(mid)
                return False
            from infra.local.stream_poller import lambda_record

            raw = read_range(self._streams, info)
            records = [lambda_record(r, str(info["streamArn"]), self._region) for r in raw]
            result = self._relay.relay(records)
        except Expired:
            report.expired.append(mid)
            return False
        except Exception as exc:  # an AWS error: the message stays for a later redrive
            log.warning("stream replay failed", extra={"message_id": mid, "error": _code(exc) or type(exc).__name__})
            report.failed.append(mid)
            return False
        if result.get("batchItemFailures"):
            report.failed.append(mid)
            return False
        report.replayed_batches += 1
        report.replayed_records += len(records)
        return True
