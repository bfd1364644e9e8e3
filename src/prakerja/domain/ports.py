"""Ports: what the domain needs from the outside world. Adapters implement them;
tests use in-memory fakes (tests/fakes.py)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from prakerja.domain.models import EmailClaim, IdempotencyRecord, LoginGrant, OutboxJob, Registration
from prakerja.domain.security import Fingerprinter, KeyLike


class Clock(Protocol):
    def now(self) -> float: ...


class SystemClock:
    def now(self) -> float:
        import time

        return time.time()


@dataclass(frozen=True)
class Keys:
    """The keys of each purpose: token signing and verification-code rings (current + previous,
    loaded lazily, see security.KeyRing) and the NIK fingerprint (an HMAC inside KMS in production).
    Raw bytes are accepted too (one fixed key: tests, tools)."""

    token: KeyLike
    code: KeyLike
    nik: Fingerprinter | bytes


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

    def reserve_code_attempt(self, registration_id: str, max_attempts: int) -> Registration | None:
        """Atomically count one code check BEFORE it happens (if the email is not verified and
        fewer than max_attempts were counted): the registration as it is after the reservation
        (its nonce is the code to check against), or None when refused or gone."""

    def mark_email_verified(self, registration_id: str, email: str, nonce: str, max_attempts: int, now: int) -> bool:
        """Verified if the code of `nonce` is still current, within budget and not yet used: in one
        transaction the registration and its email claim are verified (both stop expiring) and the
        email_verified event is appended; False when the code state or the claim changed meanwhile."""

    def replace_code(
        self,
        registration_id: str,
        email: str,
        old_nonce: str,
        new_nonce: str,
        issued_at: int,
        resend_day: str,
        resend_count: int,
        job: OutboxJob,
    ) -> bool:
        """Replace the code (conditional on `old_nonce`): the new one is queued (code_sent_at 0)."""

    def find_registration_id(self, email: str) -> str | None:
        """The registration holding this (normalised) email, if any."""

    def reserve_login(
        self, registration_id: str | None, throttle_key: str, now: int, window_s: int, max_attempts: int
    ) -> LoginGrant:
        """Atomically reserve one password check of the email's budget BEFORE checking it
        (at most max_attempts per window of window_s). Known registration: the budget lives on
        the registration item and the grant carries the registration as read by the reservation;
        unknown email (or a claim whose registration is gone): on a throttle item of
        `throttle_key`, so both answer alike."""

    def release_login(self, registration_id: str) -> None:
        """The password was right: give the budget back (a new window starts at the next miss)."""
