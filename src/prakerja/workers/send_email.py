"""send_email: one EmailQueue message -> the email rendered from the registration's current
state -> SES. A stale job (the code was replaced, the registration is gone) sends nothing."""

from __future__ import annotations

import json
from typing import Protocol

from prakerja.domain.mail import Email, MailRejected, PermanentEmailFailure, render
from prakerja.domain.models import Registration
from prakerja.domain.security import KeyLike
from prakerja.workers import Count, Log, QueueMessage


class Registrations(Protocol):
    def get(self, registration_id: str) -> Registration | None: ...


class Mailer(Protocol):
    def send(self, email: Email) -> str: ...


class SendEmailWorker:
    def __init__(self, registrations: Registrations, mailer: Mailer, code_key: KeyLike, log: Log, count: Count) -> None:
        self._registrations = registrations
        self._mailer = mailer
        self._code_key = code_key
        self._log = log
        self._count = count

    def send_email(self, message: QueueMessage) -> None:
        try:
            job = json.loads(message.body)
            registration_id, payload = str(job["registration_id"]), dict(job.get("payload") or {})
        except (ValueError, KeyError, TypeError):
            self._log.error("malformed email job dropped", extra={"message_id": message.message_id})
            return
        template = str(payload.get("template"))
        reg = self._registrations.get(registration_id)
        email = render(reg, template, payload, self._code_key) if reg else None
        if email is None:
            self._log.info("email job skipped (stale)", extra={"template": template})
            return
        try:
            self._mailer.send(email)
        except MailRejected as exc:  # e.g. sending paused: retried later, then parked in EmailDLQ
            self._log.warning("email rejected by SES, retried later", extra={"template": template, "reason": str(exc)})
            self._count("EmailRejected", 1)
            raise
        except PermanentEmailFailure:
            self._log.warning("email permanently rejected", extra={"template": template})
            self._count("EmailRejected", 1)
            return
        self._count("EmailSent", 1)
