"""Emulated DynamoDB stream event source mapping.

Reads every shard from TRIM_HORIZON (the local table is new at process start), drops records
that FilterCriteria rejects, and invokes the function with batches of up to BatchSize records
(waiting up to MaximumBatchingWindowInSeconds for a fuller batch). Per shard, in order:
- success: the batch is done;
- `batchItemFailures` (ReportBatchItemFailures): records before the reported sequence number
  are done, delivery resumes at it after a short back-off;
- the handler raises: with BisectBatchOnFunctionError the batch is split in two (not counted
  as a retry), otherwise it is retried after a back-off;
- retries exhausted (MaximumRetryAttempts, -1 = no limit) or records older than
  MaximumRecordAgeInSeconds: the batch is skipped, logged, and its metadata sent to the
  OnFailure SQS destination, as Lambda does.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import logging
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from infra.local.events import StreamSource
from infra.local.filters import passes

log = logging.getLogger("infra.local.stream")
# Lambda reads each shard about four times a second; reading again at once only pays when the
# last read was a full page (a backlog). Polling faster made the poller one of the stack's
# largest CPU users under a crowd (two moto calls a read) for no earlier delivery: records wait
# for the batching window anyway.
POLL_INTERVAL_S = 0.25
RETRY_BASE_S, RETRY_MAX_S = 0.2, 5.0
_SKIPPED = -1


@dataclass
class ShardState:
    shard_id: str
    last_fetched: str | None = None  # sequence number of the last record read from the stream
    pending: deque[dict[str, Any]] = field(default_factory=deque)
    first_pending_at: float = 0.0
    limit: int = 0  # current batch size (smaller while bisecting)
    head: str | None = None  # sequence number of the record the failures below are about
    attempts: int = 0
    retry_at: float = 0.0


class StreamDelivery:
    """The batching/retry rules for one shard, independent of how records are read (unit-tested)."""

    def __init__(
        self,
        source: StreamSource,
        invoke: Callable[[dict[str, Any]], Any],
        on_give_up: Callable[[ShardState, list[dict[str, Any]], str], None],
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.source = source
        self._invoke = invoke
        self._on_give_up = on_give_up
        self._clock = clock

    def add(self, shard: ShardState, records: list[dict[str, Any]]) -> None:
        passing = [r for r in records if passes(r, self.source.filters)]
        if passing and not shard.pending:
            shard.first_pending_at = self._clock()
        shard.pending.extend(passing)

    def ready(self, shard: ShardState) -> bool:
        """True when a batch should be delivered now."""
        if not shard.pending or self._clock() < shard.retry_at:
            return False
        if shard.head is not None or len(shard.pending) >= self.source.batch_size:
            return True
        return self._clock() - shard.first_pending_at >= self.source.window_s

    def deliver(self, shard: ShardState) -> None:
        limit = shard.limit or self.source.batch_size
        batch = [shard.pending[i] for i in range(min(limit, len(shard.pending)))]
        done = self._attempt(shard, batch)
        for _ in range(done):
            shard.pending.popleft()
        if shard.pending:
            shard.first_pending_at = self._clock()

    def _attempt(self, shard: ShardState, batch: list[dict[str, Any]]) -> int:
        """How many leading records of `batch` are finished (processed or given up)."""
        try:
            result = self._invoke({"Records": batch})
        except Exception as exc:
            log.warning(
                "handler raised",
                extra={"function": self.source.function, "error": type(exc).__name__, "size": len(batch)},
            )
            return self._failed(shard, batch, 0, bisectable=True)
        failed_at = self._failed_index(result, batch) if self.source.report_failures else None
        if failed_at is None:
            shard.limit, shard.head, shard.attempts, shard.retry_at = 0, None, 0, 0.0
            return len(batch)
        log.info(
            "partial batch failure", extra={"function": self.source.function, "done": failed_at, "size": len(batch)}
        )
        return self._failed(shard, batch, failed_at, bisectable=False)

    @staticmethod
    def _failed_index(result: Any, batch: list[dict[str, Any]]) -> int | None:
        if not isinstance(result, Mapping) or not result.get("batchItemFailures"):
            return None
        sequence = [r["dynamodb"]["SequenceNumber"] for r in batch]
        positions = []
        for item in result["batchItemFailures"]:
            identifier = item.get("itemIdentifier") if isinstance(item, Mapping) else None
            if identifier not in sequence:
                return 0  # an unusable report fails the whole batch (Lambda's rule)
            positions.append(sequence.index(identifier))
        return min(positions)

    def _failed(self, shard: ShardState, batch: list[dict[str, Any]], failed_at: int, *, bisectable: bool) -> int:
        head = batch[failed_at]["dynamodb"]["SequenceNumber"]
        if head != shard.head:
            shard.head, shard.attempts = head, 0
        rest = batch[failed_at:]
        if bisectable and self.source.bisect and len(rest) > 1:
            shard.limit = max(1, len(rest) // 2)
            return failed_at
        shard.attempts += 1
        reason = self._give_up_reason(shard, rest)
        if reason:
            self._on_give_up(shard, rest, reason)
            shard.limit, shard.head, shard.attempts, shard.retry_at = 0, None, 0, 0.0
            return len(batch)
        shard.retry_at = self._clock() + min(RETRY_MAX_S, RETRY_BASE_S * 2 ** (shard.attempts - 1))
        return failed_at

    def _give_up_reason(self, shard: ShardState, records: list[dict[str, Any]]) -> str | None:
        if 0 <= self.source.max_retries < shard.attempts:
            return "RetryAttemptsExhausted"
        if self.source.max_record_age_s >= 0:
            oldest = min(r["dynamodb"].get("ApproximateCreationDateTime", time.time()) for r in records)
            if time.time() - oldest > self.source.max_record_age_s:
                return "RecordAgeExceeded"
        return None


class StreamPoller:
    """Reads a table's stream (one thread, all shards) and feeds `StreamDelivery`."""

    def __init__(
        self,
        source: StreamSource,
        invoke: Callable[[dict[str, Any]], Any],
        client: Any,
        region: str,
        stop: threading.Event,
        *,
        function_arn: str,
        on_failure: Callable[[str], None] | None = None,
        forget_iterator: Callable[[str], None] | None = None,
        read_through: Callable[[str], Any] | None = None,
    ) -> None:
        self.source = source
        self._streams = client
        self._region = region
        self._stop = stop
        self._function_arn = function_arn
        self._on_failure = on_failure
        self._forget = forget_iterator
        self._read_through = read_through  # told the last sequence number read: older records may go
        self._delivery = StreamDelivery(source, invoke, self._give_up)
        self._shards: dict[str, ShardState] = {}
        self._thread = threading.Thread(target=self._run, name=f"stream-poller-{source.function}", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def join(self, timeout: float) -> None:
        self._thread.join(timeout)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                backlog = self._round()
            except Exception as exc:
                log.warning("stream read failed", extra={"function": self.source.function, "error": type(exc).__name__})
                backlog = False
                self._stop.wait(1.0)
            if not backlog:
                self._stop.wait(POLL_INTERVAL_S)

    def _round(self) -> bool:
        """Read and deliver once per shard; True when a shard has more to read or deliver right away."""
        if not self._shards:
            self._discover()
        backlog = False
        for shard in self._shards.values():
            if len(shard.pending) < self.source.batch_size:
                backlog |= self._fetch(shard) >= self.source.batch_size
            if self._delivery.ready(shard):
                self._delivery.deliver(shard)
                backlog |= self._delivery.ready(shard)
        return backlog

    def _discover(self) -> None:
        description = self._streams.describe_stream(StreamArn=self.source.stream_arn)["StreamDescription"]
        for shard in description.get("Shards") or []:
            self._shards.setdefault(shard["ShardId"], ShardState(shard["ShardId"]))

    def _fetch(self, shard: ShardState) -> int:
        # A fresh iterator for every read (from the last sequence number seen): a chained NextShardIterator
        # is bound to one moto StreamShard object, and moto swaps that object when it restores a table
        # (a cancelled transaction; moto_fixes.py patches that case). One extra request per poll buys
        # immunity to any such swap.
        iterator = self._iterator(shard)
        response = self._streams.get_records(ShardIterator=iterator, Limit=self.source.batch_size)
        if self._forget is not None:
            self._forget(iterator)
            if response.get("NextShardIterator"):
                self._forget(response["NextShardIterator"])
        raw = response.get("Records") or []
        if raw:
            shard.last_fetched = raw[-1]["dynamodb"]["SequenceNumber"]
            self._delivery.add(shard, [lambda_record(r, self.source.stream_arn, self._region) for r in raw])
            if self._read_through is not None:
                self._read_through(shard.last_fetched)
        return len(raw)

    def _iterator(self, shard: ShardState) -> str:
        args: dict[str, Any] = {"StreamArn": self.source.stream_arn, "ShardId": shard.shard_id}
        if shard.last_fetched is None:
            args["ShardIteratorType"] = "TRIM_HORIZON"
        else:
            args.update(ShardIteratorType="AFTER_SEQUENCE_NUMBER", SequenceNumber=shard.last_fetched)
        return str(self._streams.get_shard_iterator(**args)["ShardIterator"])

    def _give_up(self, shard: ShardState, records: list[dict[str, Any]], reason: str) -> None:
        first, last = records[0]["dynamodb"], records[-1]["dynamodb"]
        log.error(
            "stream batch given up (records skipped)",
            extra={
                "function": self.source.function,
                "reason": reason,
                "size": len(records),
                "first_sequence": first["SequenceNumber"],
                "last_sequence": last["SequenceNumber"],
            },
        )
        if self._on_failure is not None:
            self._on_failure(json.dumps(failure_record(self.source, shard, records, reason, self._function_arn)))


def failure_record(
    source: StreamSource, shard: ShardState, records: list[dict[str, Any]], reason: str, function_arn: str
) -> dict[str, Any]:
    """What Lambda sends to an OnFailure destination for a stream batch (metadata, not the records)."""
    first, last = records[0]["dynamodb"], records[-1]["dynamodb"]
    return {
        "requestContext": {
            "requestId": str(uuid.uuid4()),
            "functionArn": function_arn,
            "condition": reason,
            "approximateInvokeCount": shard.attempts,
        },
        "responseContext": {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"},
        "version": "1.0",
        "timestamp": dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "DDBStreamBatchInfo": {
            "shardId": shard.shard_id,
            "startSequenceNumber": first["SequenceNumber"],
            "endSequenceNumber": last["SequenceNumber"],
            "approximateArrivalOfFirstRecord": _iso(first.get("ApproximateCreationDateTime")),
            "approximateArrivalOfLastRecord": _iso(last.get("ApproximateCreationDateTime")),
            "batchSize": len(records),
            "streamArn": source.stream_arn,
        },
    }


def _iso(epoch: Any) -> str | None:
    if epoch is None:
        return None
    return dt.datetime.fromtimestamp(float(epoch), dt.UTC).isoformat().replace("+00:00", "Z")


def lambda_record(raw: Mapping[str, Any], stream_arn: str, region: str) -> dict[str, Any]:
    """A boto3 stream record as Lambda delivers it (binary values base64, creation time in epoch seconds)."""
    source = raw["dynamodb"]
    created = source.get("ApproximateCreationDateTime")
    ddb: dict[str, Any] = {
        "ApproximateCreationDateTime": int(created.timestamp()) if isinstance(created, dt.datetime) else created,
        "Keys": _attribute_values(source.get("Keys") or {}),
        "SequenceNumber": source["SequenceNumber"],
        "SizeBytes": source.get("SizeBytes", 0),
        "StreamViewType": source.get("StreamViewType"),
    }
    for image in ("NewImage", "OldImage"):
        if image in source:
            ddb[image] = _attribute_values(source[image])
    record = {
        "eventID": raw.get("eventID"),
        "eventName": raw.get("eventName"),
        "eventVersion": "1.1",
        "eventSource": "aws:dynamodb",
        "awsRegion": region,
        "dynamodb": ddb,
        "eventSourceARN": stream_arn,
    }
    identity = raw.get("userIdentity")
    if identity:  # a TTL delete; Lambda writes it {"type": "Service", "principalId": "dynamodb.amazonaws.com"}
        record["userIdentity"] = {"type": identity.get("Type"), "principalId": identity.get("PrincipalId")}
    return record


def _attribute_values(item: Mapping[str, Any]) -> dict[str, Any]:
    return {name: _attribute_value(value) for name, value in item.items()}


def _attribute_value(value: Mapping[str, Any]) -> dict[str, Any]:
    ((kind, data),) = value.items()
    if kind == "B":
        return {"B": _b64(data)}
    if kind == "BS":
        return {"BS": [_b64(item) for item in data]}
    if kind == "M":
        return {"M": _attribute_values(data)}
    if kind == "L":
        return {"L": [_attribute_value(item) for item in data]}
    return {kind: data}


def _b64(data: Any) -> str:
    return base64.b64encode(data).decode("ascii") if isinstance(data, (bytes, bytearray)) else str(data)
