"""SES adapter. The boto3 client is injected."""

from __future__ import annotations

from typing import Any

from prakerja.domain.mail import Email, PermanentEmailFailure


class SesMailer:
    def __init__(self, client: Any, sender: str) -> None:
        self._client = client
        self._sender = sender

    def send(self, email: Email) -> str:
        try:
            resp = self._client.send_email(
                Source=self._sender,
                Destination={"ToAddresses": [email.to]},
                Message={
                    "Subject": {"Data": email.subject, "Charset": "UTF-8"},
                    "Body": {"Text": {"Data": email.text, "Charset": "UTF-8"}},
                },
            )
        except self._client.exceptions.MessageRejected as exc:
            raise PermanentEmailFailure("rejected") from exc
        return str(resp.get("MessageId", ""))
