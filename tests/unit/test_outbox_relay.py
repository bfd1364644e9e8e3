"""The outbox relay's failure paths with fakes: forwarding separate from counting, in-order
forwarding that stops at a job it cannot send, counting failures parked (never re-sending a
forwarded job), poison records parked without blocking the shard."""

from __future__ import annotations

import json
import logging
import random
from typing import Any

from prakerja.adapters.stream import decode_record
from prakerja.domain.ports import TransientConflict
from prakerja.workers.outbox_relay import PARKED_COUNTS, PARKED_RECORD, OutboxRelay
from tests.conftest import stream_record
from tests.fakes import Counts, RecordingQueue

log = logging.getLogger("tests.relay")
RID = "b" * 32


class FlakyQueue:
    """Sends bodies; the outbox ids in `failing` fail that many times (-1: forever)."""

    def __init__(self, **failing: int) -> None:
        self.failing = dict(failing)
        self.sent: list[str] = []
        self.calls = 0

    def send_batch(self, bodies: list[str], delay_s: int = 0) -> list[int]:
        self.calls += 1
        failed = []
        for i, body in enumerate(bodies):
            oid = json.loads(body)["outbox_id"]
            left = self.failing.get(oid, 0)
            if left:
                self.failing[oid] = left - 1 if left > 0 else left
                failed.append(i)
            else:
                self.sent.append(oid)
        return failed


class Funnel:
    def __init__(self, fail_with: Exception | None = None, conflicts: int = 0) -> None:
        self.fail_with = fail_with
        self.conflicts = conflicts
        self.counted: list[tuple[str, str]] = []

    def count(self, increments: list[tuple[str, str]], shard: int) -> None:
        if self.conflicts:
            self.conflicts -= 1
            raise TransientConflict()
        if self.fail_with is not None:
            raise self.fail_with
        self.counted.extend(increments)


class BrokenParking:
    def send(self, body: str, delay_s: int = 0) -> None:
        raise RuntimeError("sqs unavailable")


def job(outbox_id: str, kind: str = "EMAIL") -> dict[str, Any]:
    new = {"pk": f"OUTBOX#{outbox_id}", "sk": "OUTBOX", "kind": kind, "registration_id": RID, "payload": {}}
    return stream_record("INSERT", new)


def registered() -> dict[str, Any]:
    return stream_record("INSERT", {"pk": f"REG#{RID}", "sk": "REG", "email_verified": False})


def seq(record: dict[str, Any]) -> str:
    return str(record["dynamodb"]["SequenceNumber"])


def relay(queue: Any, funnel: Funnel, parking: Any, counts: Counts | None = None) -> OutboxRelay:
    return OutboxRelay(
        {"EMAIL": queue},
        funnel,
        16,
        decode_record,
        log,
        counts if counts is not None else Counts(),
        parking=parking,
        rng=random.Random(1),
        sleep=lambda _s: None,
    )


def test_a_job_that_cannot_be_sent_stops_the_batch_there_and_nothing_after_it_is_sent() -> None:
    email, nik, funnel, parking = FlakyQueue(o2=-1), FlakyQueue(), Funnel(), RecordingQueue()
    records = [job("o1"), registered(), job("o2"), registered(), job("n1", "NIK_CHECK"), job("o3")]

    def run(batch: list[dict[str, Any]]) -> dict[str, Any]:
        return OutboxRelay(
            {"EMAIL": email, "NIK_CHECK": nik},
            funnel,
            16,
            decode_record,
            log,
            Counts(),
            parking=parking,
            sleep=lambda _s: None,
        ).relay(batch)

    assert run(records) == {"batchItemFailures": [{"itemIdentifier": seq(records[2])}]}
    assert email.sent == ["o1"] and nik.sent == []  # n1 and o3 wait for the redelivery
    assert [step for _, step in funnel.counted] == ["registered"]  # only the record before o2
    # the stream redelivers from o2: o1 is not sent again, each job went out exactly once
    email.failing.clear()
    assert run(records[2:]) == {"batchItemFailures": []}
    assert email.sent == ["o1", "o2", "o3"] and nik.sent == ["n1"]
    assert [step for _, step in funnel.counted] == ["registered", "registered"]


def test_a_briefly_failing_send_is_retried_in_place_without_duplicates() -> None:
    queue, counts = FlakyQueue(o2=2), Counts()
    records = [job("o1"), job("o2"), job("o3")]
    assert relay(queue, Funnel(), RecordingQueue(), counts).relay(records) == {"batchItemFailures": []}
    assert sorted(queue.sent) == ["o1", "o2", "o3"] and len(queue.sent) == 3
    assert counts.totals["RelayedEmail"] == 3


def test_a_counting_failure_never_resends_a_forwarded_job_and_parks_the_counts() -> None:
    queue, parking, counts = FlakyQueue(), RecordingQueue(), Counts()
    records = [job("o1"), registered(), job("o2")]
    result = relay(queue, Funnel(fail_with=RuntimeError("throttled")), parking, counts).relay(records)
    assert result == {"batchItemFailures": []}  # nothing redelivered: o1 and o2 went out once
    assert queue.sent == ["o1", "o2"]
    (parked,) = [json.loads(body) for body, _ in parking.sent]
    assert parked == {"kind": PARKED_COUNTS, "increments": [[records[1]["eventID"], "registered"]]}
    assert counts.totals["FunnelCountsParked"] == 1


def test_persistent_conflicts_park_the_counts_instead_of_failing_the_batch() -> None:
    parking = RecordingQueue()
    records = [registered()]
    assert relay(FlakyQueue(), Funnel(conflicts=3), parking).relay(records) == {"batchItemFailures": []}
    assert parking.sent == []  # three conflicts: retried and counted
    assert relay(FlakyQueue(), Funnel(conflicts=99), parking).relay(records) == {"batchItemFailures": []}
    assert json.loads(parking.sent[0][0])["kind"] == PARKED_COUNTS


def test_counts_that_cannot_be_parked_are_retried_by_the_stream_only_when_no_job_would_be_resent() -> None:
    counts = Counts()
    only_counts = [registered(), registered()]
    result = relay(FlakyQueue(), Funnel(fail_with=RuntimeError()), BrokenParking(), counts).relay(only_counts)
    assert result == {"batchItemFailures": [{"itemIdentifier": seq(only_counts[0])}]}
    queue = FlakyQueue()
    with_job = [registered(), job("o1")]
    result = relay(queue, Funnel(fail_with=RuntimeError()), BrokenParking(), counts).relay(with_job)
    assert result == {"batchItemFailures": []} and queue.sent == ["o1"]
    assert counts.totals["FunnelCountsLost"] == 1


def test_a_poison_record_is_parked_by_position_and_does_not_block_the_rest() -> None:
    queue, parking, counts = FlakyQueue(), RecordingQueue(), Counts()
    poison = stream_record("INSERT", {"pk": "OUTBOX#bad", "sk": "OUTBOX", "registration_id": RID})  # no kind
    poison["eventSourceARN"] = "arn:aws:dynamodb:ap-southeast-3:123456789012:table/t/stream/s"
    records = [job("o1"), poison, job("o2"), job("o3", kind="FAX")]
    assert relay(queue, Funnel(), parking, counts).relay(records) == {"batchItemFailures": []}
    assert queue.sent == ["o1", "o2"]
    parked = [json.loads(body) for body, _ in parking.sent]
    assert [p["kind"] for p in parked] == [PARKED_RECORD, PARKED_RECORD]
    assert [p["reason"] for p in parked] == ["undecodable", "unknown-kind"]
    info = parked[0]["DDBStreamBatchInfo"]
    assert info["startSequenceNumber"] == info["endSequenceNumber"] == seq(poison)
    assert info["streamArn"] == poison["eventSourceARN"]
    assert "registration_id" not in json.dumps(parked)  # positions only, never the record's data
    assert counts.totals["PoisonRecordsParked"] == 2


def test_a_poison_record_that_cannot_be_parked_fails_there_and_nothing_after_it_is_sent() -> None:
    queue = FlakyQueue()
    poison = stream_record("INSERT", {"pk": "OUTBOX#bad", "sk": "OUTBOX", "registration_id": RID})
    records = [job("o1"), poison, job("o2")]
    result = relay(queue, Funnel(), BrokenParking()).relay(records)
    assert result == {"batchItemFailures": [{"itemIdentifier": seq(poison)}]}
    assert queue.sent == ["o1"]


def test_a_whole_send_call_failing_is_retried_then_reported() -> None:
    class Down:
        calls = 0

        def send_batch(self, bodies: list[str], delay_s: int = 0) -> list[int]:
            self.calls += 1
            raise RuntimeError("RequestThrottled")

    down = Down()
    records = [registered(), job("o1")]
    funnel = Funnel()
    result = relay(down, funnel, RecordingQueue()).relay(records)
    assert result == {"batchItemFailures": [{"itemIdentifier": seq(records[1])}]}
    assert down.calls == 3 and [s for _, s in funnel.counted] == ["registered"]
