"""SES adapter. The boto3 client is injected."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from prakerja.adapters.aws_errors import busy
from prakerja.domain.mail import Email, EmailThrottled, PermanentEmailFailure


class SesMailer:
    def __init__(self, client: Any, sender: str) -> None:
        self._client = client
        self._sender = sender

    def send(self, email: Email) -> str:
        """The SES message id. PermanentEmailFailure when SES refuses the message for good;
        EmailThrottled when it is over the account's sending rate or failing transiently
        (after botocore's own retries): nothing was sent, the job is retried later."""
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
        except Exception as exc:
            if busy(exc) is not None:
                code = exc.response.get("Error", {}).get("Code") if isinstance(exc, ClientError) else None
                raise EmailThrottled(str(code or type(exc).__name__)) from exc
            raise
        return str(resp.get("MessageId", ""))
