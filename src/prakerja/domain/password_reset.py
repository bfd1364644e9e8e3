"""request_password_reset / confirm_password_reset.

The reset state of an email lives on its own item (one per email hash), whether or not an
account holds the email: an unknown email gets the same item, the same counters and the same
answers (a "phantom" reset no code can match), so neither route tells who has an account.
Codes are never stored: code = HMAC(code_key, "reset:" + registration_id | nonce) -> 6 digits;
the item keeps the nonce, the email job carries it and the sender recomputes the code.

Rules (as for email verification): a code is valid 15 minutes from sending; each check is
reserved atomically BEFORE the comparison (at most 5 checks per code, then 429); >= 60 s between
emails and <= 5 a day per email (beyond that the request still answers 202 and sends nothing).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from prakerja.domain import errors, passwords, security
from prakerja.domain.models import (
    CODE_MAX_ATTEMPTS,
    CODE_TTL_S,
    RESEND_COOLDOWN_S,
    RESENDS_PER_DAY,
    OutboxJob,
    Registration,
    utc_day,
)
from prakerja.domain.ports import Clock, Keys
from prakerja.domain.sessions import Session, issue_session

MISMATCH_DETAIL = "The code is not correct."


@dataclass(frozen=True)
class ResetState:
    """The pending reset of one email. registration_id None: no account holds the email."""

    registration_id: str | None
    nonce: str
    sent_at: int
    attempts: int
    day: str
    count: int


@dataclass(frozen=True)
class CompletedReset:
    registration_id: str
    email: str
    email_hash: str
    nonce: str
    password_hash: str
    verify_email: bool  # the email was unverified: the code proves control of it
    expected_generation: int
    now: int


class ResetStore(Protocol):
    def lookup(self, email: str, email_hash: str) -> tuple[str | None, ResetState | None]:
        """The registration holding the email (if any) and the email's reset state (one read)."""

    def start_reset(
        self,
        email: str,
        email_hash: str,
        previous: ResetState | None,
        new: ResetState,
        expires_at: int,
        job: OutboxJob | None,
    ) -> bool:
        """Store `new` (if the state is still `previous`) and, for a known email, the email job
        (for an unknown one: on condition the email is still free), in one transaction. False
        when a concurrent request changed the state first."""

    def reserve_reset_attempt(self, email_hash: str, max_attempts: int) -> tuple[bool, ResetState | None]:
        """Atomically count one check of the pending code BEFORE it happens, if fewer than
        max_attempts were counted: (True, the state after the reservation; its nonce is the code
        to check against), (False, the state as it is), or (False, None) when none is pending."""

    def get(self, registration_id: str) -> Registration | None: ...

    def complete_reset(self, done: CompletedReset) -> str:
        """One transaction: new password hash, email verified, token generation raised (if still
        `expected_generation`), login budget released, events appended, the reset consumed (if
        its nonce is still current) and the email still held by the registration.
        "OK", "STALE_GENERATION" (retry from a fresh read) or "GONE" (the reset or the
        registration is no longer there)."""


def reset_code_email_job(registration_id: str, nonce: str) -> OutboxJob:
    return OutboxJob(kind="EMAIL", registration_id=registration_id, payload={"template": "reset_code", "nonce": nonce})


class PasswordResetService:
    def __init__(self, store: ResetStore, keys: Keys, clock: Clock, *, scrypt_n: int, token_ttl_s: int) -> None:
        self._store = store
        self._keys = keys
        self._clock = clock
        self._scrypt_n = scrypt_n
        self._token_ttl_s = token_ttl_s

    # -- request ------------------------------------------------------------------------------
    def request_password_reset(self, email: str) -> bool:
        """Always succeeds for the caller (202, no enumeration). True when a new code was issued
        (an email goes out for a known address); False when the limits hold it back."""
        now = int(self._clock.now())
        email_hash = security.sha256_hex(email)
        registration_id, previous = self._store.lookup(email, email_hash)
        today = utc_day(now)
        count = 0
        if previous is not None:
            if now < previous.sent_at + RESEND_COOLDOWN_S:
                return False
            count = previous.count if previous.day == today else 0
            if count >= RESENDS_PER_DAY:
                return False
        new = ResetState(registration_id, security.new_nonce(), now, 0, today, count + 1)
        job = reset_code_email_job(registration_id, new.nonce) if registration_id else None
        # Kept a day past the last request, so the daily limit outlives the code.
        return self._store.start_reset(email, email_hash, previous, new, now + 2 * 24 * 3600, job)

    # -- confirm ------------------------------------------------------------------------------
    def confirm_password_reset(self, email: str, code: str, new_password: str) -> Session:
        passwords.require_acceptable_password(new_password, email, field="new_password")  # the registration's policy
        email_hash = security.sha256_hex(email)
        # The check is counted BEFORE the comparison (one conditional write that also reads the
        # state): N parallel guesses compare at most CODE_MAX_ATTEMPTS codes.
        reserved, state = self._store.reserve_reset_attempt(email_hash, CODE_MAX_ATTEMPTS)
        if state is None:  # no reset pending (known or unknown email alike)
            security.reset_code_matches(self._keys.code, None, "-", code)  # the same work as a check
            raise errors.CodeMismatch(MISMATCH_DETAIL, extra={"attempts_left": 0})
        if not reserved:
            raise errors.TooManyAttempts("Too many wrong codes: request a new code.")
        if int(self._clock.now()) > state.sent_at + CODE_TTL_S:
            raise errors.CodeExpired("The code has expired: request a new code.")
        registration_id = state.registration_id
        # A phantom reset (unknown email) does the same work and never matches.
        if not security.reset_code_matches(self._keys.code, registration_id, state.nonce, code):
            attempts_left = max(0, CODE_MAX_ATTEMPTS - state.attempts)
            raise errors.CodeMismatch(MISMATCH_DETAIL, extra={"attempts_left": attempts_left})
        if registration_id is None:  # unreachable: a phantom never matches (kept for the type)
            raise errors.CodeMismatch(MISMATCH_DETAIL, extra={"attempts_left": 0})
        password_hash = passwords.hash_password(new_password, n=self._scrypt_n)
        for _ in range(3):
            reg = self._store.get(registration_id)
            if reg is None or reg.email != email:
                break
            now = int(self._clock.now())
            outcome = self._store.complete_reset(
                CompletedReset(
                    registration_id=reg.registration_id,
                    email=email,
                    email_hash=email_hash,
                    nonce=state.nonce,
                    password_hash=password_hash,
                    verify_email=not reg.email_verified,
                    expected_generation=reg.token_gen,
                    now=now,
                )
            )
            if outcome == "OK":
                generation = reg.token_gen + 1
                return issue_session(self._keys.token, reg.registration_id, now, generation, self._token_ttl_s)
            if outcome != "STALE_GENERATION":
                break
        else:
            raise errors.ServiceUnavailable("Please retry.")
        # The reset was consumed by a concurrent request, or the account is gone / replaced.
        raise errors.CodeMismatch(MISMATCH_DETAIL, extra={"attempts_left": 0})
