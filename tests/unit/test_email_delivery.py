"""Bounces and complaints (SES events) mark the registration and stop mail to it; SES
MessageRejected (e.g. sending paused) is retried / parked, never dropped; every send names the
configuration set. Fakes for the policy, moto for the adapters."""

from __future__ import annotations

import json
import logging
from typing import Any

import boto3
import pytest
from moto import mock_aws

from prakerja.adapters.email import SesMailer
from prakerja.adapters.email_delivery import DynamoDeliveryStore
from prakerja.adapters.registration_items import registration_to_item
from prakerja.adapters.table import Table
from prakerja.domain.email_delivery import DeliveryProblem, EmailDeliveryService, problems_of
from prakerja.domain.mail import Email, MailRejected, render
from prakerja.domain.models import Registration
from prakerja.workers.email_events import EmailEventWorker
from tests.conftest import queue_message
from tests.fakes import KEYS, Counts
from tests.unit.test_workers import OneRegistration as LeasedRegistration
from tests.unit.test_workers import email_job, email_worker
from tests.unit.test_workers import registration as pending_registration

log = logging.getLogger("tests.email")
RID = "c" * 32
REGION = "ap-southeast-3"


def bounce(address: str, kind: str = "Permanent") -> dict[str, Any]:
    """An SES event-publishing bounce event (docs: 'Examples of event data that Amazon SES publishes to Amazon SNS')."""
    return {
        "eventType": "Bounce",
        "bounce": {
            "bounceType": kind,
            "bounceSubType": "General",
            "bouncedRecipients": [{"emailAddress": address, "action": "failed", "status": "5.1.1"}],
            "timestamp": "2026-11-28T10:00:00.000Z",
            "feedbackId": "0100-x",
        },
        "mail": {"timestamp": "2026-11-28T09:59:59.000Z", "messageId": "m1", "destination": [address]},
    }


def complaint(address: str) -> dict[str, Any]:
    return {
        "eventType": "Complaint",
        "complaint": {"complainedRecipients": [{"emailAddress": address}], "complaintFeedbackType": "abuse"},
        "mail": {"messageId": "m2", "destination": [address]},
    }


def test_permanent_bounces_and_complaints_are_problems_soft_bounces_and_deliveries_are_not() -> None:
    assert problems_of(bounce("Budi@Example.com")) == [DeliveryProblem("budi@example.com", "BOUNCED")]
    assert problems_of(bounce("Budi <budi@example.com>")) == [DeliveryProblem("budi@example.com", "BOUNCED")]
    assert problems_of(bounce("budi@example.com", "Transient")) == []
    assert problems_of(complaint("budi@example.com")) == [DeliveryProblem("budi@example.com", "COMPLAINED")]
    assert problems_of({"eventType": "Delivery", "delivery": {}, "mail": {}}) == []
    # the older feedback-notification shape too
    legacy = {**bounce("x@example.com"), "notificationType": "Bounce"}
    del legacy["eventType"]
    assert problems_of(legacy) == [DeliveryProblem("x@example.com", "BOUNCED")]


class Store:
    def __init__(self) -> None:
        self.claims = {"budi@example.com": RID}
        self.marks: list[tuple[str, str, str]] = []

    def registration_for_email(self, email: str) -> str | None:
        return self.claims.get(email)

    def mark_delivery(self, registration_id: str, email: str, delivery: str, at: int) -> bool:
        self.marks.append((registration_id, email, delivery))
        return True


def test_the_worker_marks_the_registration_of_a_bounced_address_raw_or_in_an_sns_envelope() -> None:
    store, counts = Store(), Counts()
    worker = EmailEventWorker(EmailDeliveryService(store), log, counts, now=lambda: 1000.0)
    worker.handle_email_event(queue_message(json.dumps(bounce("budi@example.com"))))
    envelope = {"Type": "Notification", "MessageId": "n1", "Message": json.dumps(complaint("BUDI@example.com"))}
    worker.handle_email_event(queue_message(json.dumps(envelope)))
    worker.handle_email_event(queue_message(json.dumps(bounce("stranger@example.com"))))  # no registration
    assert store.marks == [(RID, "budi@example.com", "BOUNCED"), (RID, "budi@example.com", "COMPLAINED")]
    assert counts.totals == {"EmailBounced": 2, "EmailComplained": 1}


def test_an_unreadable_event_is_dropped_with_a_metric(caplog: pytest.LogCaptureFixture) -> None:
    counts = Counts()
    worker = EmailEventWorker(EmailDeliveryService(Store()), log, counts)
    worker.handle_email_event(queue_message("not json"))
    worker.handle_email_event(queue_message(json.dumps({"eventType": "Bounce"})))
    assert counts.totals == {"EmailEventUnreadable": 2}
    assert "budi" not in caplog.text


def registration(**changes: Any) -> Registration:
    reg = Registration(RID, "budi@example.com", "scrypt$x", "Budi", "+6281234567890", 0, code_nonce="n1")
    for name, value in changes.items():
        setattr(reg, name, value)
    return reg


def test_a_bounced_or_complaining_address_is_not_mailed_again() -> None:
    assert render(registration(), "verify_code", {"nonce": "n1"}, KEYS.code) is not None
    for state in ("BOUNCED", "COMPLAINED"):
        assert render(registration(email_delivery=state), "verify_code", {"nonce": "n1"}, KEYS.code) is None


class RejectingMailer:
    def send(self, email: Email) -> str:
        raise MailRejected("Sending paused for this account.")


def test_a_rejected_send_is_not_dropped_but_retried_then_parked() -> None:
    counts, regs = Counts(), LeasedRegistration(pending_registration())
    worker = email_worker(regs, RejectingMailer(), counts)  # type: ignore[arg-type]
    with pytest.raises(MailRejected):  # the message stays on the queue: visibility, then EmailDLQ
        worker.send_email(queue_message(email_job("n1")))
    assert counts.totals == {"EmailRejected": 1}
    assert regs.lease == (0, "")  # not sent: the send lease is released for the next receive
    assert not regs.reg or not regs.reg.code_sent_at  # and the code is not stamped as sent


# -- adapters under moto -----------------------------------------------------------------------------
@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Any:
    for name, value in {"AWS_ACCESS_KEY_ID": "t", "AWS_SECRET_ACCESS_KEY": "t", "AWS_DEFAULT_REGION": REGION}.items():
        monkeypatch.setenv(name, value)
    with mock_aws():
        yield boto3.session.Session(region_name=REGION)


def test_ses_sends_name_the_configuration_set_and_a_rejection_is_retryable(aws: Any) -> None:
    ses = aws.client("ses")
    ses.verify_email_identity(EmailAddress="no-reply@prakerja.id")
    ses.create_configuration_set(ConfigurationSet={"Name": "events"})
    calls: list[dict[str, Any]] = []
    ses.meta.events.register("provide-client-params.ses.SendEmail", lambda params, **_: calls.append(dict(params)))
    mail = Email("budi@example.com", "s", "t")
    assert SesMailer(ses, "no-reply@prakerja.id", "events").send(mail)
    assert calls[-1]["ConfigurationSetName"] == "events"
    with pytest.raises(MailRejected):  # moto rejects an unverified sender like SES does
        SesMailer(ses, "other@prakerja.id", "events").send(mail)


def test_the_mark_never_downgrades_and_follows_the_current_email(aws: Any) -> None:
    ddb = aws.client("dynamodb")
    ddb.create_table(
        TableName="t",
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": n, "AttributeType": "S"} for n in ("pk", "sk")],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
    )
    ddb.put_item(TableName="t", Item=registration_to_item(registration()))
    ddb.put_item(
        TableName="t",
        Item={"pk": {"S": "EMAIL#budi@example.com"}, "sk": {"S": "EMAIL"}, "registration_id": {"S": RID}},
    )
    store = DynamoDeliveryStore(Table(ddb, "t"))
    assert store.registration_for_email("budi@example.com") == RID
    assert store.registration_for_email("nobody@example.com") is None
    assert store.mark_delivery(RID, "budi@example.com", "COMPLAINED", 1)
    assert not store.mark_delivery(RID, "budi@example.com", "BOUNCED", 2)  # a complaint stays
    assert not store.mark_delivery(RID, "old@example.com", "BOUNCED", 3)  # not this registration's email
    item = ddb.get_item(TableName="t", Key={"pk": {"S": f"REG#{RID}"}, "sk": {"S": "REG"}})["Item"]
    assert item["email_delivery"] == {"S": "COMPLAINED"}
