"""register, verify_email, resend_code, create_session, get_registration.

Pure domain: talks to storage through the RegistrationStore port only.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from prakerja.domain import errors, passwords, security
from prakerja.domain.models import (
    CODE_MAX_ATTEMPTS,
    CODE_TTL_S,
    LOGIN_MAX_ATTEMPTS,
    LOGIN_WINDOW_S,
    QUEUED_CODE_GRACE_S,
    RESEND_COOLDOWN_S,
    RESENDS_PER_DAY,
    UNVERIFIED_TTL_S,
    Consent,
    EmailClaim,
    IdempotencyRecord,
    OutboxJob,
    ProcessingEvent,
    Registration,
    seconds_to_next_utc_day,
    utc_day,
)
from prakerja.domain.ports import (
    Clock,
    EmailClaimed,
    IdempotencyHit,
    Keys,
    RegistrationStore,
    TransientConflict,
)
from prakerja.domain.sessions import Session, issue_session

IDEMPOTENCY_TTL_S = 24 * 3600
REGISTER_ROUNDS = 3  # create / replace attempts when the email claim changes under us
INVALID_CREDENTIALS = "Email or password is not correct."
EMAIL_TAKEN = "This email address already has a registration; log in instead."


def code_budget_refusal(sent_at: int | None, day: str, count: int, now: int) -> errors.ResendTooSoon | None:
    """The 429 for one more code email to an address now, or None when it may go. The first email
    of a registration is free of the daily count only for a fresh address; every further code
    email (a resend, or registering the address again) counts, at most RESENDS_PER_DAY a UTC day,
    and at least RESEND_COOLDOWN_S apart."""
    if sent_at is not None:
        wait = sent_at + RESEND_COOLDOWN_S - now
        if wait > 0:
            return errors.ResendTooSoon(f"Wait {wait} s before asking for a new code.", retry_after_s=wait)
    if day == utc_day(now) and count >= RESENDS_PER_DAY:
        return errors.ResendTooSoon(
            "At most 5 new codes a day: try again tomorrow.", retry_after_s=seconds_to_next_utc_day(now)
        )
    return None


@dataclass(frozen=True)
class NewRegistration:
    email: str  # normalised
    password: str
    full_name: str
    phone: str  # E.164
    terms_version: str = ""


@dataclass(frozen=True)
class Registered:
    registration_id: str
    status: str
    replayed: bool = False  # the answer stored for this Idempotency-Key, not a new registration


def verify_code_email_job(registration_id: str, nonce: str) -> OutboxJob:
    return OutboxJob(kind="EMAIL", registration_id=registration_id, payload={"template": "verify_code", "nonce": nonce})


class RegistrationService:
    def __init__(
        self,
        store: RegistrationStore,
        keys: Keys,
        clock: Clock,
        *,
        scrypt_n: int,
        token_ttl_s: int,
        code_ttl_s: int = CODE_TTL_S,
    ) -> None:
        self._store = store
        self._code_ttl_s = code_ttl_s
        self._keys = keys
        self._clock = clock
        self._scrypt_n = scrypt_n
        self._token_ttl_s = token_ttl_s
        self._dummy_hash: str | None = None

    # -- register -------------------------------------------------------------------------
    def register(self, new: NewRegistration, *, idempotency_key: str | None, body_hash: str) -> Registered:
        """One TransactWriteItems when the address is free. An address held by an unverified
        registration is taken over (the old registration is deleted in the same transaction and
        its code dies); one held by a verified registration is refused."""
        passwords.require_acceptable_password(new.password, new.email)
        now = int(self._clock.now())
        registration_id = secrets.token_hex(16)
        nonce = security.new_nonce()
        reg = Registration(
            registration_id=registration_id,
            email=new.email,
            password_hash=passwords.hash_password(new.password, n=self._scrypt_n),
            full_name=new.full_name,
            phone=new.phone,
            created_at=now,
            consent=Consent(new.terms_version, now),
            expires_at=now + UNVERIFIED_TTL_S,
            events=(ProcessingEvent("registered", now),),
            code_nonce=nonce,
            code_issued_at=now,  # queued: code_sent_at is stamped by the sender once SES has the email
            resend_day=utc_day(now),
        )
        outcome = Registered(registration_id, "EMAIL_PENDING")
        record = None
        if idempotency_key is not None:
            record = IdempotencyRecord(
                key_hash=security.sha256_hex(idempotency_key),
                body_hash=body_hash,
                registration_id=registration_id,
                status=outcome.status,
            )
        job = verify_code_email_job(registration_id, nonce)
        idem_expires = now + IDEMPOTENCY_TTL_S
        try:
            for _ in range(REGISTER_ROUNDS):
                try:
                    self._store.create(reg, job, record, idem_expires)
                    return outcome
                except EmailClaimed:
                    pass
                claim = self._store.get_email_claim(new.email)
                if claim is None:
                    continue  # released meanwhile: claim it afresh
                if claim.registration_id == registration_id:
                    return outcome  # our own write, retried by the client library after a timeout
                self._refuse_if_verified(claim, now)
                refusal = code_budget_refusal(claim.code_sent_at, claim.code_day, claim.code_count, now)
                if refusal is not None:
                    raise refusal
                today = utc_day(now)
                reg.resend_day = today
                reg.resend_count = (claim.code_count if claim.code_day == today else 0) + 1
                if self._store.replace_unverified(claim, reg, job, record, idem_expires):
                    return outcome
        except IdempotencyHit as hit:
            return self._replay(hit.record, body_hash)
        except TransientConflict as exc:
            if record is not None:
                raise errors.IdempotencyInProgress(
                    "The first request with this Idempotency-Key is still in flight; retry shortly."
                ) from exc
            raise errors.ServiceUnavailable("Please retry.") from exc
        raise errors.ServiceUnavailable("Please retry.")

    def _refuse_if_verified(self, claim: EmailClaim, now: int) -> None:
        if claim.verified:
            raise errors.EmailTaken(EMAIL_TAKEN)
        if claim.verified is None:  # a claim from before the flag: ask its registration
            holder = self._store.get(claim.registration_id)
            if holder is not None and holder.email_verified:
                raise errors.EmailTaken(EMAIL_TAKEN)

    def _replay(self, record: IdempotencyRecord | None, body_hash: str) -> Registered:
        if record is None:
            raise errors.IdempotencyInProgress("Retry shortly.")
        if record.body_hash != body_hash:
            raise errors.IdempotencyKeyReused(
                "This Idempotency-Key was used with a different request body; use a new key."
            )
        return Registered(record.registration_id, record.status, replayed=True)

    # -- email verification -------------------------------------------------------------------
    def verify_email(self, registration_id: str, code: str) -> Session:
        # The attempt is counted BEFORE the code is compared (one conditional write that also
        # reads the state): N parallel guesses compare at most CODE_MAX_ATTEMPTS codes.
        reg = self._store.reserve_code_attempt(registration_id, CODE_MAX_ATTEMPTS)
        if reg is None:
            return self._refused(registration_id)
        now = self._clock.now()
        # A code lives code_ttl_s from when its email was handed to SES; while it is still queued
        # nobody can have it, so it has not started to expire (a guess counts as a wrong code).
        if reg.code_sent_at and now > reg.code_sent_at + self._code_ttl_s:
            raise errors.CodeExpired("The code has expired: request a new code.")
        if security.code_matches(self._keys.code, registration_id, reg.code_nonce, code):
            if not self._store.mark_email_verified(
                registration_id, reg.email, reg.code_nonce, CODE_MAX_ATTEMPTS, int(now)
            ):
                return self._refused(registration_id, verified_nonce=reg.code_nonce, now=now)
            return self._session(registration_id, now, reg.token_gen)
        raise errors.CodeMismatch(
            "The code is not correct.", extra={"attempts_left": max(0, CODE_MAX_ATTEMPTS - reg.code_attempts)}
        )

    def _refused(self, registration_id: str, *, verified_nonce: str | None = None, now: float = 0) -> Session:
        """The reservation (or the verification) was refused: say why, from the fresh state. A
        caller holding the right code for the very nonce that verified the email (a double
        submit, or our own write retried after a timeout) gets its session."""
        reg = self._require(registration_id)
        if reg.email_verified and verified_nonce is not None and reg.code_nonce == verified_nonce:
            return self._session(registration_id, now, reg.token_gen)
        if reg.email_verified:
            raise errors.AlreadyVerified("This email address is already verified; log in instead.")
        if reg.code_attempts >= CODE_MAX_ATTEMPTS:
            raise errors.TooManyAttempts("Too many wrong codes: request a new code.")
        # A new code was sent meanwhile (the attempts were reset): this guess was for the old one.
        raise errors.CodeMismatch(
            "The code is not correct.",
            extra={"attempts_left": max(0, CODE_MAX_ATTEMPTS - reg.code_attempts)},
        )

    def resend_code(self, registration_id: str) -> None:
        reg = self._require(registration_id)
        now = int(self._clock.now())
        if reg.email_verified:
            raise errors.AlreadyVerified("This email address is already verified.")
        if reg.code_queued and now - reg.code_issued_at < QUEUED_CODE_GRACE_S:
            return  # the code email is still queued and will go out: no second email, same code
        # The registration's counters mirror those on its email claim (every code email updates
        # both in one transaction, and a registration taking over an address starts from them).
        refusal = code_budget_refusal(reg.code_sent_at or None, reg.resend_day, reg.resend_count, now)
        if refusal is not None:
            raise refusal
        today = utc_day(now)
        count = reg.resend_count if reg.resend_day == today else 0
        nonce = security.new_nonce()
        replaced = self._store.replace_code(
            registration_id,
            reg.email,
            reg.code_nonce,
            nonce,
            now,
            today,
            count + 1,
            verify_code_email_job(registration_id, nonce),
        )
        if not replaced:
            raise errors.ResendTooSoon("A new code was just sent.", retry_after_s=RESEND_COOLDOWN_S)

    # -- sessions -------------------------------------------------------------------------------
    def create_session(self, email: str, password: str) -> Session:
        now = int(self._clock.now())
        registration_id = self._store.find_registration_id(email)
        # One password check of the email's budget is reserved BEFORE checking (a conditional
        # write that also reads the registration): N parallel guesses check at most the budget.
        grant = self._store.reserve_login(
            registration_id, security.sha256_hex(email), now, LOGIN_WINDOW_S, LOGIN_MAX_ATTEMPTS
        )
        if not grant.allowed:
            raise errors.TooManyAttempts(
                "Too many failed logins for this email: wait and try again.",
                retry_after_s=max(1, grant.retry_after_s),
            )
        reg = grant.registration
        if reg is None:
            passwords.verify_password(password, self._dummy())  # same cost as a real check
            raise errors.InvalidCredentials(INVALID_CREDENTIALS)
        if not passwords.verify_password(password, reg.password_hash):
            raise errors.InvalidCredentials(INVALID_CREDENTIALS)
        self._store.release_login(reg.registration_id)
        if not reg.email_verified:
            raise errors.EmailNotVerified(
                "Verify your email address first (check your inbox).",
                extra={"registration_id": reg.registration_id},
            )
        # The token's generation is the one read by the reservation: a password reset or
        # sign-out committed after that read revokes this token too.
        return self._session(reg.registration_id, now, reg.token_gen)

    def _dummy(self) -> str:
        if self._dummy_hash is None:
            self._dummy_hash = passwords.hash_password(secrets.token_hex(8), n=self._scrypt_n)
        return self._dummy_hash

    # -- status -----------------------------------------------------------------------------------
    def get_registration(self, registration_id: str) -> Registration:
        return self._require(registration_id)

    # -- helpers ----------------------------------------------------------------------------------
    def _require(self, registration_id: str) -> Registration:
        reg = self._store.get(registration_id)
        if reg is None:
            raise errors.NotFound("No registration with this id.")
        return reg

    def _session(self, registration_id: str, now: float, generation: int) -> Session:
        return issue_session(self._keys.token, registration_id, now, generation, self._token_ttl_s)
