"""The SES adapter: a refused message travels on as a category, never with SES's text (which can
name the address), so the worker's log line holds no personal data."""

from __future__ import annotations

import boto3
import pytest
from botocore.stub import Stubber

from prakerja.adapters.email import SesMailer
from prakerja.domain.mail import Email, MailRejected


@pytest.mark.parametrize(
    ("ses_message", "category"),
    [
        ("Email address is not verified. The following identities failed: budi@example.com", "message-rejected"),
        ("Sending paused for this account.", "sending-paused"),
    ],
)
def test_a_rejected_message_is_a_category_without_the_address(ses_message: str, category: str) -> None:
    client = boto3.client("ses", region_name="ap-southeast-3", aws_access_key_id="x", aws_secret_access_key="x")
    with Stubber(client) as stub:
        stub.add_client_error("send_email", "MessageRejected", ses_message, 400)
        with pytest.raises(MailRejected) as refused:
            SesMailer(client, "noreply@example.com", "set").send(Email("budi@example.com", "Kode", "123456"))
    assert str(refused.value) == category
    assert "budi" not in str(refused.value)
