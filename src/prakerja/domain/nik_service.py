"""verify_nik (the API's side: the submission; the check itself is domain.registry_check).

Structural rules first (typos caught at once, no registry call), then ONE transaction binds the
NIK fingerprint to this registration, stores the encrypted details and inserts the outbox job
that the relay turns into a queue message. Nothing is lost: if the submission is accepted, the
check is queued. The worker calls the registry through the shared circuit breaker and the paced
call cap; transient failures are delays (the message comes back later), never verdicts.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
from dataclasses import dataclass
from typing import Literal, Protocol

from prakerja.domain import errors, security
from prakerja.domain.models import NIK_SUBMISSIONS_PER_DAY, OutboxJob, Registration, seconds_to_next_utc_day, utc_day
from prakerja.domain.nik import check_nik_structure, mask_nik
from prakerja.domain.ports import Clock, Keys, TransientConflict
from prakerja.domain.sessions import ensure_current


@dataclass(frozen=True)
class NikSubmission:
    nik: str
    full_name: str
    birth_date: dt.date
    gender: Literal["M", "F"]

    def canonical(self) -> str:
        name = " ".join(self.full_name.split()).casefold()
        return json.dumps([self.nik, name, self.birth_date.isoformat(), self.gender], separators=(",", ":"))

    def digest(self, key: bytes) -> str:
        """What identifies this exact submission (an identical retry while its check is pending
        is answered 202 again): an HMAC of the canonical form under a key derived for this one
        purpose from the token-signing ring, which the route holds anyway. So the NIK, name and
        birth date cannot be recovered from the stored value, and it costs no KMS call (the NIK's
        own fingerprint is KMS's GenerateMac: one per submission, not two)."""
        subkey = security.derive_key(key, "nik-request")
        return hmac.new(subkey, self.canonical().encode("utf-8"), hashlib.sha256).hexdigest()

    def is_digest(self, keys: tuple[security.SigningKey, ...], stored: str | None) -> bool:
        """`stored` came from this very submission, under any key of the ring (current or previous)."""
        return stored is not None and any(hmac.compare_digest(stored, self.digest(k.key)) for k in keys)


@dataclass(frozen=True)
class PendingNik:
    """What a submission writes (the NIK itself only inside `ciphertext`)."""

    fingerprint: str
    masked: str
    ciphertext: str
    request_hash: str
    seq: int


class NikCipher(Protocol):
    def encrypt(self, plaintext: str, registration_id: str) -> str: ...

    def decrypt(self, ciphertext: str, registration_id: str) -> str: ...


class NikStore(Protocol):
    def get(self, registration_id: str) -> Registration | None: ...

    def reserve_nik_submission(
        self, registration_id: str, day: str, max_per_day: int, token_generation: int | None
    ) -> tuple[bool, Registration | None]:
        """Atomically count one submission of `day` BEFORE it is processed, if the registration
        can take one (email verified, no NIK pending or verified, a token of `token_generation`
        still valid; None: no token to check) and fewer than max_per_day were counted: (True, the registration after the
        reservation) or (False, the registration as it is; None when it does not exist)."""

    def submit_nik(self, registration_id: str, expected_seq: int, pending: PendingNik, job: OutboxJob) -> None:
        """Atomically: registration -> PENDING (if its nik_seq is still expected_seq), bind the
        fingerprint to it, insert the job. Raises NikTaken, or TransientConflict when the
        registration changed meanwhile."""

    def record_nik_result(
        self,
        registration_id: str,
        seq: int,
        status: str,
        reason: str | None,
        release_fingerprint: str | None,
        job: OutboxJob,
    ) -> bool:
        """Atomically store the verdict (if the check `seq` is still pending), release the NIK
        binding on rejection and queue the result email. False when stale."""

    def mark_nik_delayed(self, registration_id: str, seq: int) -> None: ...


def nik_check_job(registration_id: str, seq: int) -> OutboxJob:
    return OutboxJob(kind="NIK_CHECK", registration_id=registration_id, payload={"nik_seq": seq})


class NikVerificationService:
    def __init__(self, store: NikStore, cipher: NikCipher, keys: Keys, clock: Clock) -> None:
        self._store = store
        self._cipher = cipher
        self._keys = keys
        self._clock = clock

    def verify_nik(self, registration_id: str, sub: NikSubmission, *, token_generation: int | None = None) -> None:
        problems = check_nik_structure(sub.nik, sub.birth_date, sub.gender)
        if problems:
            raise errors.ValidationFailed(problems)
        ring = security.as_ring(self._keys.token)
        request_hash = sub.digest(ring.current.key)
        # One of today's submissions is reserved atomically BEFORE anything can answer nik-taken
        # or spend a KMS call: the route is no unlimited "is this NIK registered?" oracle, and N
        # parallel submissions get at most NIK_SUBMISSIONS_PER_DAY past this line. The
        # reservation is also the read: it is refused (spending nothing) when the registration
        # cannot take a submission, and the answer is decided from the state it returns.
        now = self._clock.now()
        today = utc_day(now)
        reserved, reg = self._store.reserve_nik_submission(
            registration_id, today, NIK_SUBMISSIONS_PER_DAY, token_generation
        )
        if reg is None:
            raise errors.NotFound("No registration with this id.")
        ensure_current(reg, token_generation)
        if not reserved:
            if self._already_done(reg, sub, ring):
                return
            raise errors.TooManyAttempts(
                "At most 5 NIK submissions a day: try again tomorrow.", retry_after_s=seconds_to_next_utc_day(now)
            )
        details = json.dumps(
            {"nik": sub.nik, "full_name": sub.full_name, "birth_date": sub.birth_date.isoformat(), "gender": sub.gender}
        )
        ciphertext = self._cipher.encrypt(details, registration_id)
        for _ in range(3):
            pending = PendingNik(
                fingerprint=security.fingerprint(self._keys.nik, sub.nik),
                masked=mask_nik(sub.nik),
                ciphertext=ciphertext,
                request_hash=request_hash,
                seq=reg.nik_seq + 1,
            )
            try:
                self._store.submit_nik(
                    registration_id, reg.nik_seq, pending, nik_check_job(registration_id, pending.seq)
                )
                return
            except TransientConflict:
                # The registration changed under us: decide again from fresh state.
                reg = self._require(registration_id, token_generation)
                if self._already_done(reg, sub, ring):
                    return
        raise errors.ServiceUnavailable("Please retry.")

    def _require(self, registration_id: str, token_generation: int | None) -> Registration:
        reg = self._store.get(registration_id)
        if reg is None:
            raise errors.NotFound("No registration with this id.")
        ensure_current(reg, token_generation)
        return reg

    def _already_done(self, reg: Registration, sub: NikSubmission, ring: security.KeyRing) -> bool:
        if reg.nik_status == "PENDING":
            if sub.is_digest(ring.keys(), reg.nik_request_hash):
                return True  # identical resubmission while pending: idempotent
            raise errors.NikAlreadySubmitted("A NIK check is already pending for this registration.")
        if reg.nik_status == "VERIFIED":
            raise errors.NikAlreadySubmitted("The NIK of this registration is already verified.")
        if not reg.email_verified:
            raise errors.EmailNotVerified("Verify your email address first.")
        return False
