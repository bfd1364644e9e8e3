"""send_email: one EmailQueue message -> the email rendered from the registration's current
state -> SES. A stale job (the code was replaced, the registration is gone) sends nothing.

Verification codes live from when their email is handed to SES: after SES accepts it, the
worker stamps `code_sent_at` (only if that code is still the current one and not stamped yet).
The stamp also makes the job idempotent: a redelivered job whose code is already stamped sends
nothing. Duplicates of one job running at the same time (the outbox relay is at-least-once; a
slow receive can outlast its visibility) are kept apart by a short send lease on the registration,
taken by one receive before it sends (released again when SES throttles): the other waits, then
finds the stamp. So a code email goes out once, short of SES accepting an email whose answer is
lost (a read timeout: SES has no idempotency token), where the job is retried (never lost).

SES throttling ("Maximum sending rate exceeded") is not the job's fault: nothing was sent, the
job's visibility is pushed out with exponential backoff and full jitter and it comes back later
(never lost; EmailQueue's maxReceiveCount bounds how long before it is parked in EmailDLQ).
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import NoReturn, Protocol

from prakerja.domain.mail import Email, EmailThrottled, MailRejected, PermanentEmailFailure, render
from prakerja.domain.models import CODE_TTL_S, Registration
from prakerja.domain.ports import Clock
from prakerja.domain.resilience import backoff_delay
from prakerja.domain.security import KeyLike
from prakerja.workers import Count, Log, QueueMessage, RetryLater

VERIFY_CODE = "verify_code"
SEND_LEASE_S = 60  # well over one send (the function's 10 s timeout): a crashed sender's claim expires


class Registrations(Protocol):
    def get(self, registration_id: str) -> Registration | None: ...

    def claim_code_send(self, registration_id: str, nonce: str, holder: str, now: int, lease_s: int) -> bool:
        """`holder` (one receive of a queue message) takes the right to send code `nonce`'s email for `lease_s`, so
        a concurrent duplicate of the job is refused: only while that code is current and unsent and
        no other holder's lease runs."""

    def release_code_send(self, registration_id: str, holder: str) -> None:
        """Give the send lease back (nothing was sent), if `holder` still holds it."""

    def mark_code_sent(self, registration_id: str, nonce: str, sent_at: int) -> bool:
        """Stamp when the email of code `nonce` was handed to SES, if that code is still current and
        not stamped yet; False otherwise."""


class Mailer(Protocol):
    def send(self, email: Email) -> str:
        """Raises MailRejected (retried on the queue, then parked in EmailDLQ), PermanentEmailFailure
        (never retried) or EmailThrottled (retried later with backoff)."""


class VisibilityQueue(Protocol):
    def change_visibility(self, receipt_handle: str, timeout_s: int) -> None: ...


@dataclass(frozen=True)
class EmailPolicy:
    code_ttl_s: int = CODE_TTL_S
    backoff_base_s: int = 1
    backoff_cap_s: int = 60


class SendEmailWorker:
    def __init__(
        self,
        registrations: Registrations,
        mailer: Mailer,
        queue: VisibilityQueue,
        code_key: KeyLike,
        clock: Clock,
        policy: EmailPolicy,
        log: Log,
        count: Count,
        *,
        jitter: Callable[[], float] = random.random,
    ) -> None:
        self._registrations = registrations
        self._mailer = mailer
        self._queue = queue
        self._code_key = code_key
        self._clock = clock
        self._policy = policy
        self._log = log
        self._count = count
        self._jitter = jitter

    def send_email(self, message: QueueMessage) -> None:
        try:
            job = json.loads(message.body)
            registration_id, payload = str(job["registration_id"]), dict(job.get("payload") or {})
        except (ValueError, KeyError, TypeError):
            self._log.error("malformed email job dropped", extra={"message_id": message.message_id})
            return
        template = str(payload.get("template"))
        reg = self._registrations.get(registration_id)
        email = render(reg, template, payload, self._code_key, code_ttl_s=self._policy.code_ttl_s) if reg else None
        if email is None or reg is None:
            self._log.info("email job skipped (stale)", extra={"template": template})
            return
        if template == VERIFY_CODE and not self._claim(message, reg):
            return
        try:
            self._mailer.send(email)
        except MailRejected as exc:  # e.g. sending paused: retried later, then parked in EmailDLQ
            self._log.warning("email rejected by SES, retried later", extra={"template": template, "reason": str(exc)})
            self._count("EmailRejected", 1)
            if template == VERIFY_CODE:  # not sent: the next receive of this job claims again
                self._registrations.release_code_send(registration_id, message.receipt_handle)
            raise
        except PermanentEmailFailure:
            self._log.warning("email permanently rejected", extra={"template": template})
            self._count("EmailRejected", 1)
            return
        except EmailThrottled as busy:
            self._count("EmailThrottled", 1)
            if template == VERIFY_CODE:  # not sent: the next receive of this job claims again
                self._registrations.release_code_send(registration_id, message.receipt_handle)
            self._retry_later(message, template, str(busy))
        if template == VERIFY_CODE and not self._registrations.mark_code_sent(
            registration_id, reg.code_nonce, int(self._clock.now())
        ):
            self._log.info("code replaced or stamped while its email was sent", extra={"template": template})
        self._count("EmailSent", 1)

    def _claim(self, message: QueueMessage, reg: Registration) -> bool:
        """May this message send the code email? False when it was sent already (or is stale);
        RetryLater while a duplicate of this job holds the send lease."""
        if reg.code_sent_at:
            self._log.info("email job skipped (this code was sent already)", extra={"template": VERIFY_CODE})
            return False
        now = int(self._clock.now())
        # The holder is this receive of the message (its receipt handle): the same job received
        # again after its visibility ran out while the first receive is still sending must wait too.
        if self._registrations.claim_code_send(
            reg.registration_id, reg.code_nonce, message.receipt_handle, now, SEND_LEASE_S
        ):
            return True
        fresh = self._registrations.get(reg.registration_id)
        if fresh is None or fresh.code_sent_at or fresh.code_nonce != reg.code_nonce or fresh.email_verified:
            self._log.info("email job skipped (sent or replaced meanwhile)", extra={"template": VERIFY_CODE})
            return False
        self._queue.change_visibility(message.receipt_handle, SEND_LEASE_S)
        self._log.info("a duplicate of this email job is sending: checked again later", extra={"template": VERIFY_CODE})
        raise RetryLater()

    def _retry_later(self, message: QueueMessage, template: str, reason: str) -> NoReturn:
        delay = backoff_delay(
            message.receive_count,
            base_s=self._policy.backoff_base_s,
            cap_s=self._policy.backoff_cap_s,
            rng=self._jitter,
        )
        self._queue.change_visibility(message.receipt_handle, delay)
        extra = {"template": template, "attempt": message.receive_count, "delay_s": delay, "reason": reason}
        if reason == "Throttling":
            self._log.info("mail service throttled: email retried later", extra=extra)
        else:  # a timeout or a failing SES: the email may have gone out (SES has no idempotency token)
            self._log.warning("mail service unavailable: email retried later", extra=extra)
        raise RetryLater()
