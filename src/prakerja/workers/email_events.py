"""handle_email_event: one EmailEventsQueue message (SES event JSON, delivered raw by SNS; an SNS
envelope is unwrapped too) -> the registrations to stop mailing (domain.email_delivery).

A message this code cannot read is dropped with an error log (retrying cannot fix it); a
DynamoDB failure raises, so the message comes back (visibility timeout) and ends in
EmailEventsDLQ after maxReceiveCount. Addresses are never logged.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

from prakerja.domain.email_delivery import EmailDeliveryService, MalformedEvent, problems_of
from prakerja.workers import Count, Log, QueueMessage


def ses_event(body: str) -> dict[str, Any]:
    doc = json.loads(body)
    if isinstance(doc, dict) and doc.get("Type") == "Notification" and isinstance(doc.get("Message"), str):
        doc = json.loads(doc["Message"])  # an SNS envelope (subscription without raw delivery)
    if not isinstance(doc, dict):
        raise MalformedEvent("not a JSON object")
    return doc


class EmailEventWorker:
    def __init__(
        self, service: EmailDeliveryService, log: Log, count: Count, now: Callable[[], float] = time.time
    ) -> None:
        self._service = service
        self._log = log
        self._count = count
        self._now = now

    def handle_email_event(self, message: QueueMessage) -> None:
        try:
            problems = problems_of(ses_event(message.body))
        except (ValueError, MalformedEvent):
            self._log.error("unreadable email event dropped", extra={"message_id": message.message_id})
            self._count("EmailEventUnreadable", 1)
            return
        for problem in problems:
            marked = self._service.record(problem, int(self._now()))
            metric = "EmailBounced" if problem.delivery == "BOUNCED" else "EmailComplained"
            self._count(metric, 1)
            self._log.info(
                "email delivery problem", extra={"delivery": problem.delivery, "registration_marked": marked}
            )
