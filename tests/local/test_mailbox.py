"""The dev mailbox index (infra/local/mailbox.py): a read parses only what is new."""

from __future__ import annotations

from typing import Any

from infra.local.mailbox import Mailbox


class Sent:
    """A message as moto's SES keeps it (SendEmail: destinations + subject + body)."""

    parsed = 0

    def __init__(self, to: list[str], subject: str, body: str) -> None:
        self.destinations = {"ToAddresses": to}
        self.subject = subject
        self._body = body

    @property
    def body(self) -> str:
        Sent.parsed += 1
        return self._body


class Outbox:
    def __init__(self) -> None:
        self.sent: list[Any] = []
        self.reads_from: list[int] = []

    def since(self, start: int) -> list[Any]:
        self.reads_from.append(start)
        return self.sent[start:]


def test_messages_are_filed_by_recipient_case_insensitively_oldest_first():
    outbox = Outbox()
    mailbox = Mailbox(outbox.since)
    outbox.sent += [
        Sent(["Siti <Siti@Example.com>"], "Kode verifikasi", "123456"),
        Sent(["budi@example.com", "siti@example.com"], "Kabar", "halo"),
    ]
    assert mailbox.messages_for(" SITI@example.com ") == [
        {"to": "Siti@Example.com", "subject": "Kode verifikasi", "text": "123456"},
        {"to": "siti@example.com", "subject": "Kabar", "text": "halo"},
    ]
    assert [m["text"] for m in mailbox.messages_for("budi@example.com")] == ["halo"]
    assert mailbox.messages_for("nobody@example.com") == []


def test_a_read_takes_only_the_mail_sent_since_the_previous_read():
    outbox = Outbox()
    mailbox = Mailbox(outbox.since)
    outbox.sent += [Sent([f"u{i}@example.com"], "Kode", str(i)) for i in range(500)]
    Sent.parsed = 0
    assert mailbox.messages_for("u7@example.com")[0]["text"] == "7"
    for _ in range(50):
        mailbox.messages_for("u7@example.com")
    outbox.sent.append(Sent(["u7@example.com"], "Kode", "again"))
    assert [m["text"] for m in mailbox.messages_for("u7@example.com")] == ["7", "again"]
    assert Sent.parsed == 501  # each email parsed once, not once per read
    assert outbox.reads_from[0] == 0 and set(outbox.reads_from[1:-1]) == {500} and outbox.reads_from[-1] == 500
