"""outbox_relay: one batch of table stream records -> outbox jobs onto their queues, and the
funnel counters (exactly once per record).

Forwarding and counting are separate, so a counting failure never re-sends a job:
1. Records that cannot be decoded, or name an unknown job kind (poison), are parked on the
   stream DLQ (their stream position only, never their data) and skipped: they do not block.
2. Jobs are forwarded in record order and the relay stops at the first job that cannot be
   sent (after a few quick retries of the failed entries): the batch reports that record, so
   the stream redelivers from there and nothing after it has been sent yet (except the jobs of
   the same SendMessageBatch call after it, which SQS may have taken: consumers are idempotent).
3. Then the funnel counts of the records before that point. A counting failure (after its own
   retries) parks the increments on the stream DLQ (`prakerja dlq redrive --queue stream`
   counts them later, once: SEEN# markers); it never fails a record whose job was forwarded.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol

from prakerja.domain.outbox import Change, plan
from prakerja.domain.ports import TransientConflict
from prakerja.workers import Count, Log

COUNT_ATTEMPTS = 4
SEND_ATTEMPTS = 3
SEND_BACKOFF_S = 0.05
CHUNK = 10  # SendMessageBatch limit
PARKED_COUNTS = "FUNNEL_COUNTS"  # kind of a parked-counts message on the stream DLQ
PARKED_RECORD = "STREAM_RECORD"  # kind of a parked poison record (its position) on the stream DLQ


class Sender(Protocol):
    def send_batch(self, bodies: list[str], delay_s: int = 0) -> list[int]: ...


class Parking(Protocol):
    def send(self, body: str, delay_s: int = 0) -> None: ...


class FunnelCounter(Protocol):
    def count(self, increments: list[tuple[str, str]], shard: int) -> None: ...


def parked_counts(increments: Sequence[tuple[str, str]]) -> str:
    return json.dumps({"kind": PARKED_COUNTS, "increments": [list(i) for i in increments]}, separators=(",", ":"))


def parked_record(record: Mapping[str, Any], reason: str) -> str:
    """A poison record's position, in the shape of Lambda's OnFailure record (replayable the same way)."""
    ddb = record.get("dynamodb") or {}
    seq = str(ddb.get("SequenceNumber", ""))
    return json.dumps(
        {
            "kind": PARKED_RECORD,
            "reason": reason,
            "DDBStreamBatchInfo": {
                "shardId": None,  # not in a Lambda record: the replay finds it from the sequence number
                "startSequenceNumber": seq,
                "endSequenceNumber": seq,
                "batchSize": 1,
                "streamArn": record.get("eventSourceARN"),
            },
        },
        separators=(",", ":"),
    )


class OutboxRelay:
    def __init__(
        self,
        queues: Mapping[str, Sender],
        funnel: FunnelCounter,
        shards: int,
        decode: Callable[[Mapping[str, Any]], Change],
        log: Log,
        count: Count,
        *,
        parking: Parking | None = None,
        rng: random.Random | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._queues = queues
        self._funnel = funnel
        self._shards = shards
        self._decode = decode
        self._log = log
        self._count = count
        self._parking = parking
        self._rng = rng or random.Random()  # noqa: S311  # nosec B311 # spreading load, not security
        self._sleep = sleep

    def relay(self, records: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
        limit = len(records)  # records from `limit` on are redelivered by the stream
        changes: list[Change | None] = []
        for index, record in enumerate(records):
            try:
                change = self._decode(record)
            except Exception:  # a record this code cannot read: park it, do not block the shard
                change = None
                if not self._park_poison(record, "undecodable"):
                    limit = min(limit, index)
            changes.append(change)
        work = plan([c for c in changes if c is not None])
        # plan() indexes the decoded changes; map them back to record indexes
        positions = [i for i, c in enumerate(changes) if c is not None]
        jobs: list[tuple[int, str, str]] = []
        for kind, messages in work.messages.items():
            for planned, body in messages:
                jobs.append((positions[planned], kind, body))
        jobs.sort()
        for index, kind, _ in jobs:
            if kind not in self._queues and not self._park_poison(records[index], "unknown-kind"):
                limit = min(limit, index)
        jobs = [job for job in jobs if job[1] in self._queues]
        limit = min(limit, self._forward([j for j in jobs if j[0] < limit]))
        increments = [(positions[p], event_id, step) for p, event_id, step in work.increments]
        increments = [inc for inc in increments if inc[0] < limit]
        if increments and not self._count_funnel([(event_id, step) for _, event_id, step in increments]):
            first_uncounted = increments[0][0]
            forwarded_after = any(index >= first_uncounted for index, _, _ in jobs if index < limit)
            if forwarded_after:
                # redelivering would re-send those jobs: the counts are lost instead (alarmed metric)
                self._log.error("funnel counts lost", extra={"records": len(increments)})
                self._count("FunnelCountsLost", len(increments))
            else:
                limit = min(limit, first_uncounted)
        if limit < len(records):
            self._log.warning("relay batch partly failed", extra={"failed_from": limit, "size": len(records)})
            return {"batchItemFailures": [{"itemIdentifier": _sequence_number(records[limit])}]}
        return {"batchItemFailures": []}

    def _forward(self, jobs: list[tuple[int, str, str]]) -> int:
        """Send jobs in record order, in runs of one kind (<= 10 a call); the record index of the
        first job that could not be sent (nothing after it is sent), or a large number."""
        start = 0
        while start < len(jobs):
            kind = jobs[start][1]
            end = start
            while end < len(jobs) and end - start < CHUNK and jobs[end][1] == kind:
                end += 1
            run = jobs[start:end]
            failed = self._send_with_retries(self._queues[kind], [body for _, _, body in run])
            self._count(f"Relayed{kind.title().replace('_', '')}", len(run) - len(failed))
            if failed:
                return run[min(failed)][0]
            start = end
        return 1 << 62

    def _send_with_retries(self, queue: Sender, bodies: list[str]) -> list[int]:
        pending = list(range(len(bodies)))
        for attempt in range(SEND_ATTEMPTS):
            try:
                failed = queue.send_batch([bodies[i] for i in pending])
            except Exception:  # the whole call failed (SQS throttled/unavailable): retry it all
                self._log.warning("relay send failed", extra={"attempt": attempt + 1})
                failed = list(range(len(pending)))
            pending = [pending[i] for i in failed]
            if not pending:
                return []
            self._sleep(SEND_BACKOFF_S * (2**attempt))
        return pending

    def _count_funnel(self, increments: list[tuple[str, str]]) -> bool:
        for attempt in range(COUNT_ATTEMPTS):
            try:
                self._funnel.count(increments, shard=self._rng.randrange(self._shards))
                return True
            except TransientConflict:
                continue
            except Exception:  # throttled / unavailable table: counting never blocks forwarding
                self._log.warning("funnel count failed", extra={"attempt": attempt + 1})
                self._sleep(SEND_BACKOFF_S * (2**attempt))
        if self._parking is None:
            return False
        try:
            self._parking.send(parked_counts(increments))
        except Exception:
            self._log.error("funnel counts could not be parked", extra={"records": len(increments)})
            return False
        self._count("FunnelCountsParked", len(increments))
        return True

    def _park_poison(self, record: Mapping[str, Any], reason: str) -> bool:
        self._log.error("poison stream record", extra={"reason": reason, "sequence": _sequence_number(record)})
        if self._parking is None:
            return False
        try:
            self._parking.send(parked_record(record, reason))
        except Exception:
            return False
        self._count("PoisonRecordsParked", 1)
        return True


def _sequence_number(record: Mapping[str, Any]) -> str:
    return str((record.get("dynamodb") or {}).get("SequenceNumber", ""))
