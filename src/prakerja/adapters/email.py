"""SES adapter. The boto3 client is injected."""

from __future__ import annotations

from typing import Any

from prakerja.domain.mail import Email, MailRejected


class SesMailer:
    """SendEmail naming the configuration set (CONFIGURATION_SET): SES publishes the message's
    bounces and complaints to EmailEventsTopic and keeps the reputation metrics."""

    def __init__(self, client: Any, sender: str, configuration_set: str) -> None:
        self._client = client
        self._sender = sender
        self._configuration_set = configuration_set

    def send(self, email: Email) -> str:
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
            raise MailRejected(str(exc.response.get("Error", {}).get("Message", ""))[:200]) from exc
        return str(resp.get("MessageId", ""))
