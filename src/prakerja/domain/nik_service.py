"""verify_nik (API: the request) and check_nik (worker: the registry check).

verify_nik: structural rules first (typos caught at once, no registry call), then ONE
transaction binds the NIK fingerprint to this registration, stores the encrypted details
and inserts the outbox job that the relay turns into a queue message. Nothing is lost:
if the submission is accepted, the check is queued.

check_nik: the worker calls the registry through the shared circuit breaker and the paced
call cap. Transient failures are delays (the message comes back later), never verdicts.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal, Protocol

from prakerja.domain import errors, resilience, security
from prakerja.domain.models import NIK_SUBMISSIONS_PER_DAY, OutboxJob, Registration, seconds_to_next_utc_day, utc_day
from prakerja.domain.nik import RegistryUnavailable, RegistryVerdict, check_nik_structure, mask_nik
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


class Registry(Protocol):
    def check(self, nik: str, full_name: str, birth_date: dt.date, gender: str) -> RegistryVerdict: ...


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


# -- the worker side -----------------------------------------------------------------------------
class Deferred(Exception):  # noqa: N818 - a signal
    """Do not call the registry now (breaker open / rate cap): come back after `delay_s`,
    without spending one of the message's attempts."""

    def __init__(self, delay_s: float) -> None:
        super().__init__("deferred")
        self.delay_s = delay_s


class Transient(Exception):  # noqa: N818
    """The registry failed transiently: retry with backoff (spends an attempt)."""

    def __init__(self, retry_after_s: float | None) -> None:
        super().__init__("transient registry failure")
        self.retry_after_s = retry_after_s


VERDICTS: dict[RegistryVerdict, tuple[str, str | None]] = {
    RegistryVerdict.MATCH: ("VERIFIED", None),
    RegistryVerdict.MISMATCH: ("REJECTED", "MISMATCH"),
    RegistryVerdict.NOT_FOUND: ("REJECTED", "NOT_FOUND"),
}


class Gate(Protocol):
    """Admission to the registry: circuit breaker + rate cap (see domain.resilience)."""

    def admit(self) -> None:
        """Return to call now; raise Deferred to wait."""

    def succeeded(self) -> None: ...

    def failed(self) -> None: ...


class NikCheckService:
    def __init__(self, store: NikStore, cipher: NikCipher, registry: Registry, gate: Gate) -> None:
        self._store = store
        self._cipher = cipher
        self._registry = registry
        self._gate = gate

    def check_nik(self, registration_id: str, seq: int) -> str:
        """Run one check; returns the outcome ("VERIFIED", "REJECTED" or "STALE").
        Raises Deferred or Transient when the check must happen later."""
        reg = self._store.get(registration_id)
        if reg is None or reg.nik_status != "PENDING" or reg.nik_seq != seq or not reg.nik_ct:
            return "STALE"
        details = json.loads(self._cipher.decrypt(reg.nik_ct, registration_id))
        self._gate.admit()
        try:
            verdict = self._registry.check(
                details["nik"], details["full_name"], dt.date.fromisoformat(details["birth_date"]), details["gender"]
            )
        except RegistryUnavailable as exc:
            self._gate.failed()
            if reg.nik_reason != "UNAVAILABLE":
                self._store.mark_nik_delayed(registration_id, seq)
            raise Transient(exc.retry_after_s) from exc
        self._gate.succeeded()
        status, reason = VERDICTS[verdict]
        job = OutboxJob(
            kind="EMAIL",
            registration_id=registration_id,
            payload={"template": "nik_result", "nik_status": status, "nik_reason": reason},
        )
        stored = self._store.record_nik_result(
            registration_id, seq, status, reason, reg.nik_fp if status == "REJECTED" else None, job
        )
        return status if stored else "STALE"


class RegistryGate:
    """Gate over the shared circuit breaker and the paced per-second call cap (domain.resilience)."""

    def __init__(
        self,
        breaker: resilience.BreakerStore,
        slots: resilience.SlotStore,
        clock: Clock,
        config: resilience.BreakerConfig,
        max_rps: int,
        max_wait_s: float = 2.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._breaker = breaker
        self._slots = slots
        self._clock = clock
        self._config = config
        self._max_rps = max_rps
        self._max_wait_s = max_wait_s
        self._sleep = sleep

    def admit(self) -> None:
        # The breaker first (usually one read), then the paced slot, so that the call leaves right
        # at its slot's moment. A probe claimed here waits at most max_wait_s, well inside its lease.
        decision = resilience.admit(self._breaker, self._clock.now(), self._config)
        if not decision.allowed:
            raise Deferred(decision.retry_after_s)
        if not resilience.paced_slot(self._slots, self._clock, self._max_rps, self._max_wait_s, self._sleep):
            raise Deferred(1.0)

    def succeeded(self) -> None:
        resilience.record(self._breaker, self._clock.now(), True, self._config)

    def failed(self) -> None:
        resilience.record(self._breaker, self._clock.now(), False, self._config)
