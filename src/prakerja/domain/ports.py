"""Ports: what the domain needs from the outside world. Adapters implement them;
tests use in-memory fakes (tests/fakes.py)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from prakerja.domain.models import EmailClaim, IdempotencyRecord, LoginThrottle, OutboxJob, Registration


class Clock(Protocol):
    def now(self) -> float: ...


class SystemClock:
    def now(self) -> float:
        import time

        return time.time()


@dataclass(frozen=True)
class Keys:
    """Subkeys derived from the application secret."""

    token: bytes
    code: bytes
    nik: bytes


class IdempotencyHit(Exception):
    """The Idempotency-Key already has a stored outcome."""

    def __init__(self, record: IdempotencyRecord | None) -> None:
        super().__init__("idempotency key already used")
        self.record = record


class TransientConflict(Exception):
    """A concurrent transaction touched the same items; the caller may retry."""


class EmailClaimed(Exception):
    """The email address is already claimed (by a verified or an unverified registration)."""


class RegistrationStore(Protocol):
    def create(self, reg: Registration, job: OutboxJob, idempotency: IdempotencyRecord | None, expires_at: int) -> None:
        """Atomically store the registration, claim its email, store the idempotency record
        and the outbox job. Raises EmailClaimed, IdempotencyHit or TransientConflict."""

    def get_email_claim(self, email: str) -> EmailClaim | None:
        """The claim on this address as stored (an expired one included: TTL deletion lags)."""

    def replace_unverified(
        self,
        old: EmailClaim,
        reg: Registration,
        job: OutboxJob,
        idempotency: IdempotencyRecord | None,
        expires_at: int,
    ) -> bool:
        """Atomically delete the unverified registration holding `old`, move the claim (with its
        code counters) to `reg`, store `reg`, the idempotency record and the outbox job. False
        when the claim changed meanwhile (verified or replaced); raises IdempotencyHit or
        TransientConflict."""

    def get(self, registration_id: str) -> Registration | None: ...

    def get_idempotency(self, key_hash: str) -> IdempotencyRecord | None: ...

    def record_code_failure(self, registration_id: str, nonce: str, max_attempts: int) -> int | None:
        """Atomically count one wrong code for this nonce; the new count, or None when the
        code is already dead or was replaced."""

    def mark_email_verified(self, registration_id: str, email: str, nonce: str, now: int) -> bool:
        """Verify (and stop the expiry of) the registration and its email claim, appending the
        email_verified event; False when the code state or the claim changed meanwhile."""

    def replace_code(
        self,
        registration_id: str,
        email: str,
        old_nonce: str,
        new_nonce: str,
        sent_at: int,
        resend_day: str,
        resend_count: int,
        job: OutboxJob,
    ) -> bool: ...

    def login_lookup(self, email: str, throttle_key: str) -> tuple[str | None, LoginThrottle]: ...

    def record_login_failure(self, throttle_key: str, now: int, window_s: int) -> None: ...

    def reset_login_failures(self, throttle_key: str) -> None: ...
