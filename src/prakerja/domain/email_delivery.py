"""Bounces and complaints: SES delivery events -> the registration's `email_delivery`.

A permanent bounce marks the registration BOUNCED, a complaint COMPLAINED (worse: the person
asked not to be mailed); transient bounces change nothing (SES retried already). A marked
registration is not mailed again (domain.mail.render) and GET /registrations/{id} shows the
state, so the person can fix it. Only the registration whose email is still the bounced
address is marked.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal, Protocol

EmailDelivery = Literal["OK", "BOUNCED", "COMPLAINED"]
DELIVERY_RANK = {"OK": 0, "BOUNCED": 1, "COMPLAINED": 2}


@dataclass(frozen=True)
class DeliveryProblem:
    email: str  # normalised (strip + lower), as the email claim is keyed
    delivery: EmailDelivery


class MalformedEvent(ValueError):
    """Not an SES bounce/complaint/delivery event this code can read."""


def _address(value: Any) -> str | None:
    if not isinstance(value, str):
        return None
    # "Budi <budi@example.com>" or a bare address
    text = value.strip()
    if "<" in text and text.endswith(">"):
        text = text[text.rindex("<") + 1 : -1]
    text = text.strip().lower()
    return text if "@" in text and len(text) <= 254 else None


def problems_of(event: Mapping[str, Any]) -> list[DeliveryProblem]:
    """The addresses an SES event (event publishing `eventType`, or a feedback notification's
    `notificationType`) says must not be mailed again; [] for deliveries, sends, soft bounces."""
    kind = event.get("eventType") or event.get("notificationType")
    if not isinstance(kind, str):
        raise MalformedEvent("no eventType")
    if kind == "Bounce":
        bounce = event.get("bounce")
        if not isinstance(bounce, Mapping):
            raise MalformedEvent("bounce without details")
        if bounce.get("bounceType") != "Permanent":
            return []
        recipients, delivery = bounce.get("bouncedRecipients"), "BOUNCED"
    elif kind == "Complaint":
        complaint = event.get("complaint")
        if not isinstance(complaint, Mapping):
            raise MalformedEvent("complaint without details")
        if complaint.get("complaintFeedbackType") == "not-spam":
            return []
        recipients, delivery = complaint.get("complainedRecipients"), "COMPLAINED"
    else:
        return []
    if not isinstance(recipients, list):
        raise MalformedEvent("no recipients")
    found = []
    for recipient in recipients:
        address = _address(recipient.get("emailAddress") if isinstance(recipient, Mapping) else None)
        if address:
            found.append(DeliveryProblem(address, delivery))  # type: ignore[arg-type]
    return found


class DeliveryStore(Protocol):
    def registration_for_email(self, email: str) -> str | None: ...

    def mark_delivery(self, registration_id: str, email: str, delivery: EmailDelivery, at: int) -> bool:
        """Set email_delivery unless the registration's email changed or a worse state is set;
        True when it changed."""


class EmailDeliveryService:
    def __init__(self, store: DeliveryStore) -> None:
        self._store = store

    def record(self, problem: DeliveryProblem, now: int) -> bool:
        registration_id = self._store.registration_for_email(problem.email)
        if registration_id is None:
            return False
        return self._store.mark_delivery(registration_id, problem.email, problem.delivery, now)


def worse(current: str, new: str) -> bool:
    return DELIVERY_RANK.get(new, 0) > DELIVERY_RANK.get(current, 0)
