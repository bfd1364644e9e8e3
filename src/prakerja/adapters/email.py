"""SES adapter. The boto3 client is injected."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from prakerja.adapters.aws_errors import busy
from prakerja.domain.mail import Email, EmailThrottled, MailRejected


class SesMailer:
    """SendEmail naming the configuration set (CONFIGURATION_SET): SES publishes the message's
    bounces and complaints to EmailEventsTopic and keeps the reputation metrics."""

    def __init__(self, client: Any, sender: str, configuration_set: str) -> None:
        self._client = client
        self._sender = sender
        self._configuration_set = configuration_set

    def send(self, email: Email) -> str:
        """The SES message id. MailRejected when SES refuses the message (MessageRejected: the
        job is not dropped, it is retried and parked in EmailDLQ); EmailThrottled when SES is over
        the account's sending rate or failing transiently (after botocore's own retries): nothing
        was sent, the job is retried later."""
        try:
            resp = self._client.send_email(
                Source=self._sender,
                Destination={"ToAddresses": [email.to]},
                Message={
                    "Subject": {"Data": email.subject, "Charset": "UTF-8"},
                    "Body": {"Text": {"Data": email.text, "Charset": "UTF-8"}},
                },
                ConfigurationSetName=self._configuration_set,
            )
        except self._client.exceptions.MessageRejected as exc:
            # SES's message text can name the address (e.g. an unverified identity): only a category
            # of it travels on, so no personal data reaches the logs.
            message = str(exc.response.get("Error", {}).get("Message", "")).lower()
            raise MailRejected("sending-paused" if "paused" in message else "message-rejected") from exc
        except Exception as exc:
            if busy(exc) is not None:
                code = exc.response.get("Error", {}).get("Code") if isinstance(exc, ClientError) else None
                raise EmailThrottled(str(code or type(exc).__name__)) from exc
            raise
        return str(resp.get("MessageId", ""))
