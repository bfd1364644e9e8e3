"""The workers' policy with in-memory fakes: what each does with a message or a stream batch,
when it retries, defers or drops, and what it counts."""

from __future__ import annotations

import json
import logging
import random

import pytest

from prakerja.adapters.stream import decode_record
from prakerja.domain.mail import Email, EmailThrottled, PermanentEmailFailure
from prakerja.domain.models import Registration
from prakerja.domain.photo_service import InspectionOutcome
from prakerja.domain.ports import TransientConflict
from prakerja.domain.registry_check import Deferred, Transient
from prakerja.workers import QueueMessage, RetryLater
from prakerja.workers.inspect_photo import InspectPhotoWorker, object_keys
from prakerja.workers.nik_check import NikCheckWorker, RetryPolicy
from prakerja.workers.outbox_relay import OutboxRelay
from prakerja.workers.send_email import EmailPolicy, SendEmailWorker
from tests.conftest import queue_message, stream_record
from tests.fakes import KEYS, Counts, FakeClock, RecordingQueue

log = logging.getLogger("tests.workers")
RID = "a" * 32
NIK_JOB = {"registration_id": RID, "kind": "NIK_CHECK", "payload": {"nik_seq": 1}}


class ScriptedChecker:
    """check_nik answers with the scripted outcomes (an exception is raised)."""

    def __init__(self, *outcomes: str | Exception) -> None:
        self.outcomes = list(outcomes)
        self.calls: list[tuple[str, int]] = []

    def check_nik(self, registration_id: str, seq: int) -> str:
        self.calls.append((registration_id, seq))
        outcome = self.outcomes.pop(0)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome


def nik_worker(checker: ScriptedChecker, queue: RecordingQueue, counts: Counts, **policy: int) -> NikCheckWorker:
    return NikCheckWorker(checker, queue, RetryPolicy(**policy), log, counts, jitter=lambda: 0.5)


# -- check_nik ------------------------------------------------------------------------------------
def test_a_verdict_is_counted_and_the_message_acknowledged() -> None:
    queue, counts = RecordingQueue(), Counts()
    nik_worker(ScriptedChecker("VERIFIED"), queue, counts).check_nik(queue_message(NIK_JOB))
    assert counts.totals == {"NikVerified": 1}
    assert queue.sent == [] and queue.visibility == []


def test_a_closed_gate_requeues_with_a_delay_without_spending_an_attempt() -> None:
    queue, counts = RecordingQueue(), Counts()
    nik_worker(ScriptedChecker(Deferred(10.0)), queue, counts).check_nik(queue_message(NIK_JOB, receive_count=3))
    ((body, delay),) = queue.sent
    assert json.loads(body) == {**NIK_JOB, "deferrals": 1}
    assert delay == 11  # 10 s + jitter (0.5 of 2 s)
    assert queue.visibility == [] and counts.totals == {"NikCheckDeferred": 1}


def test_deferrals_are_capped_at_the_sqs_maximum_delay() -> None:
    queue = RecordingQueue()
    nik_worker(ScriptedChecker(Deferred(5000.0)), queue, Counts()).check_nik(queue_message(NIK_JOB))
    assert queue.sent[0][1] == 900


def test_an_exhausted_deferral_budget_spends_an_attempt_instead() -> None:
    queue, counts = RecordingQueue(), Counts()
    message = queue_message({**NIK_JOB, "deferrals": 3}, receive_count=2)
    with pytest.raises(RetryLater):
        nik_worker(ScriptedChecker(Deferred(7.0)), queue, counts, max_deferrals=3).check_nik(message)
    assert queue.sent == []
    assert queue.visibility == [(message.receipt_handle, 7)]  # backoff of attempt 2 is 2 s; the gate says 7


def test_a_transient_registry_failure_backs_off_exponentially() -> None:
    queue, counts = RecordingQueue(), Counts()
    worker = nik_worker(ScriptedChecker(Transient(None), Transient(None)), queue, counts, backoff_base_s=2)
    for attempt in (1, 5):
        with pytest.raises(RetryLater):
            worker.check_nik(queue_message(NIK_JOB, receive_count=attempt))
    # full jitter at 0.5: half of base * 2**(attempt-1), at least 1 s
    assert [delay for _, delay in queue.visibility] == [1, 16]
    assert counts.totals == {"RegistryTransientFailure": 2}


def test_the_registrys_retry_after_is_honoured_when_longer_than_the_backoff() -> None:
    queue = RecordingQueue()
    with pytest.raises(RetryLater):
        nik_worker(ScriptedChecker(Transient(42.2)), queue, Counts()).check_nik(queue_message(NIK_JOB))
    assert queue.visibility[0][1] == 43


@pytest.mark.parametrize("body", ["not json", "{}", '{"registration_id": "x", "payload": {}}', "[1]"])
def test_a_malformed_job_is_dropped_without_calling_the_registry(body: str) -> None:
    checker, queue = ScriptedChecker(), RecordingQueue()
    nik_worker(checker, queue, Counts()).check_nik(queue_message(body))
    assert checker.calls == [] and queue.sent == [] and queue.visibility == []


# -- send_email -----------------------------------------------------------------------------------
class Mailbox:
    def __init__(self, reject: bool = False, throttle: int = 0) -> None:
        self.sent: list[Email] = []
        self.reject = reject
        self.throttle = throttle  # this many sends are refused as over the sending rate

    def send(self, email: Email) -> str:
        if self.reject:
            raise PermanentEmailFailure("rejected")
        if self.throttle:
            self.throttle -= 1
            raise EmailThrottled("Throttling")
        self.sent.append(email)
        return "id"


class OneRegistration:
    def __init__(self, reg: Registration | None) -> None:
        self.reg = reg

    def get(self, registration_id: str) -> Registration | None:
        return self.reg if self.reg and self.reg.registration_id == registration_id else None

    lease: tuple[int, str] = (0, "")

    def claim_code_send(self, registration_id: str, nonce: str, holder: str, now: int, lease_s: int) -> bool:
        if self.reg is None or self.reg.code_nonce != nonce or self.reg.code_sent_at:
            return False
        if self.lease[0] >= now and self.lease[1] != holder:
            return False
        self.lease = (now + lease_s, holder)
        return True

    def release_code_send(self, registration_id: str, holder: str) -> None:
        if self.lease[1] == holder:
            self.lease = (0, "")

    def mark_code_sent(self, registration_id: str, nonce: str, sent_at: int) -> bool:
        if self.reg is None or self.reg.code_nonce != nonce or self.reg.code_sent_at:
            return False
        self.reg.code_sent_at = sent_at
        return True


def registration(nonce: str = "n1") -> Registration:
    return Registration(RID, "budi@example.com", "x", "Budi", "+6281234567890", 0, code_nonce=nonce, code_issued_at=1)


def email_job(nonce: str) -> dict[str, object]:
    return {"registration_id": RID, "payload": {"template": "verify_code", "nonce": nonce}}


def email_worker(
    regs: OneRegistration, mailbox: Mailbox, counts: Counts, queue: RecordingQueue | None = None
) -> SendEmailWorker:
    return SendEmailWorker(
        regs,
        mailbox,
        queue or RecordingQueue(),
        KEYS.code,
        FakeClock(),
        EmailPolicy(code_ttl_s=900, backoff_base_s=1, backoff_cap_s=60),
        log,
        counts,
        jitter=lambda: 1.0,
    )


def test_the_current_code_is_mailed_counted_and_stamped_sent() -> None:
    mailbox, counts, regs = Mailbox(), Counts(), OneRegistration(registration())
    email_worker(regs, mailbox, counts).send_email(queue_message(email_job("n1")))
    assert [m.to for m in mailbox.sent] == ["budi@example.com"]
    assert "15 minutes" in mailbox.sent[0].text
    assert counts.totals == {"EmailSent": 1}
    assert regs.reg is not None and regs.reg.code_sent_at == int(FakeClock().now())


def test_a_redelivered_code_job_is_not_mailed_twice() -> None:
    mailbox, counts, regs = Mailbox(), Counts(), OneRegistration(registration())
    worker = email_worker(regs, mailbox, counts)
    worker.send_email(queue_message(email_job("n1")))
    worker.send_email(queue_message(email_job("n1"), receive_count=2))
    assert len(mailbox.sent) == 1 and counts.totals == {"EmailSent": 1}


def test_concurrent_duplicates_of_one_job_send_once() -> None:
    """The relay is at-least-once: two copies of one job may run at the same time."""
    mailbox, counts, regs, queue = Mailbox(), Counts(), OneRegistration(registration()), RecordingQueue()
    worker = email_worker(regs, mailbox, counts, queue)
    first, duplicate = queue_message(email_job("n1")), queue_message(email_job("n1"))
    assert regs.claim_code_send(RID, "n1", first.receipt_handle, int(FakeClock().now()), 60)  # first is sending
    with pytest.raises(RetryLater):
        worker.send_email(duplicate)  # waits for the lease instead of sending too
    assert queue.visibility == [(duplicate.receipt_handle, 60)] and mailbox.sent == []
    worker.send_email(first)
    worker.send_email(duplicate)  # back later: finds the stamp
    assert len(mailbox.sent) == 1


def test_a_replaced_code_or_a_missing_registration_sends_nothing() -> None:
    mailbox, counts = Mailbox(), Counts()
    email_worker(OneRegistration(registration("n2")), mailbox, counts).send_email(queue_message(email_job("n1")))
    email_worker(OneRegistration(None), mailbox, counts).send_email(queue_message(email_job("n1")))
    assert mailbox.sent == [] and counts.totals == {}


def test_a_permanent_rejection_is_counted_and_not_retried() -> None:
    counts = Counts()
    email_worker(OneRegistration(registration()), Mailbox(reject=True), counts).send_email(
        queue_message(email_job("n1"))
    )
    assert counts.totals == {"EmailRejected": 1}


def test_ses_throttling_retries_later_with_backoff_and_sends_once() -> None:
    mailbox, counts, regs, queue = Mailbox(throttle=3), Counts(), OneRegistration(registration()), RecordingQueue()
    worker = email_worker(regs, mailbox, counts, queue)
    body = json.dumps(email_job("n1"))
    for attempt in (1, 2, 3):  # the same SQS message, received again (a new receipt handle each time)
        with pytest.raises(RetryLater):  # the message comes back later: not lost, not deleted
            worker.send_email(QueueMessage("m-throttled", body, f"rh-{attempt}", attempt))
        assert regs.reg is not None and regs.reg.code_sent_at == 0  # not sent: the code has not started to live
    worker.send_email(QueueMessage("m-throttled", body, "rh-4", 4))
    assert [delay for _, delay in queue.visibility] == [1, 2, 4]  # exponential (jitter pinned to its maximum)
    assert len(mailbox.sent) == 1
    assert counts.totals == {"EmailThrottled": 3, "EmailSent": 1}


def test_the_code_email_states_the_configured_lifetime() -> None:
    mailbox = Mailbox()
    worker = SendEmailWorker(
        OneRegistration(registration()),
        mailbox,
        RecordingQueue(),
        KEYS.code,
        FakeClock(),
        EmailPolicy(code_ttl_s=30),
        log,
        Counts(),
    )
    worker.send_email(queue_message(email_job("n1")))
    assert "30 seconds" in mailbox.sent[0].text and "30 detik" in mailbox.sent[0].text


# -- inspect_photo --------------------------------------------------------------------------------
def s3_event(*keys: str, event_name: str = "ObjectCreated:Post") -> str:
    return json.dumps({"Records": [{"eventName": event_name, "s3": {"object": {"key": k}}} for k in keys]})


def test_object_keys_are_url_decoded_and_only_creations_count() -> None:
    assert object_keys(s3_event("photos/a%2Bb/x+y.jpg")) == ["photos/a+b/x y.jpg"]
    assert object_keys(s3_event("k", event_name="ObjectRemoved:Delete")) == []
    assert object_keys('{"Event": "s3:TestEvent"}') == [] and object_keys("nope") == [] and object_keys("[]") == []


def test_each_uploaded_photo_is_inspected_and_its_verdict_counted() -> None:
    seen: list[str] = []

    class Inspector:
        def inspect_photo(self, key: str) -> InspectionOutcome:
            seen.append(key)
            return InspectionOutcome(RID, "ACCEPTED" if key.endswith("1") else "STALE")

    counts = Counts()
    InspectPhotoWorker(Inspector(), log, counts).inspect_photo(queue_message(s3_event("k1", "k2")))
    assert seen == ["k1", "k2"] and counts.totals == {"PhotoAccepted": 1}


# -- outbox_relay ---------------------------------------------------------------------------------
class Funnel:
    def __init__(self, conflicts: int = 0) -> None:
        self.conflicts = conflicts
        self.counted: list[tuple[str, str]] = []

    def count(self, increments: list[tuple[str, str]], shard: int) -> None:
        if self.conflicts:
            self.conflicts -= 1
            raise TransientConflict()
        self.counted.extend(increments)


def outbox_insert(kind: str, outbox_id: str = "o1") -> dict[str, object]:
    new = {"pk": f"OUTBOX#{outbox_id}", "sk": "OUTBOX", "kind": kind, "registration_id": RID, "payload": {"x": 1}}
    return stream_record("INSERT", new)


def reg_image(**values: object) -> dict[str, object]:
    return {"pk": f"REG#{RID}", "sk": "REG", **values}


def relay(queues: dict[str, RecordingQueue], funnel: Funnel, counts: Counts | None = None) -> OutboxRelay:
    return OutboxRelay(queues, funnel, 16, decode_record, log, counts or Counts(), rng=random.Random(1))


def test_outbox_jobs_go_to_their_queues_and_registration_steps_are_counted() -> None:
    email, nik, funnel, counts = RecordingQueue(), RecordingQueue(), Funnel(), Counts()
    records = [
        stream_record("INSERT", reg_image(email_verified=False)),
        outbox_insert("EMAIL", "o1"),
        stream_record("MODIFY", reg_image(email_verified=True), reg_image(email_verified=False)),
        outbox_insert("NIK_CHECK", "o2"),
        stream_record("MODIFY", reg_image(email_verified=True), reg_image(email_verified=True)),  # nothing new
        stream_record("REMOVE", None, reg_image()),
    ]
    result = relay({"EMAIL": email, "NIK_CHECK": nik}, funnel, counts).relay(records)
    assert result == {"batchItemFailures": []}
    assert [json.loads(b) for b, _ in email.sent] == [
        {"outbox_id": "o1", "kind": "EMAIL", "registration_id": RID, "payload": {"x": 1}}
    ]
    assert [json.loads(b)["outbox_id"] for b, _ in nik.sent] == ["o2"]
    assert [step for _, step in funnel.counted] == ["registered", "email_verified"]
    assert counts.totals == {"RelayedEmail": 1, "RelayedNikCheck": 1}


def test_stream_records_of_other_items_are_neither_relayed_nor_counted() -> None:
    records = [
        stream_record("INSERT", {"pk": "EMAIL#budi@example.com", "sk": "EMAIL", "registration_id": RID}),
        stream_record("MODIFY", {"pk": "OUTBOX#o9", "sk": "OUTBOX", "kind": "EMAIL", "registration_id": RID}),
    ]
    changes = [decode_record(r) for r in records]
    assert all(c.outbox is None and c.registration is None for c in changes)
