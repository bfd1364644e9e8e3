"""In-memory fakes of the domain ports, with the same conditional semantics as the adapters
(tests only: production wiring is prakerja.composition)."""

from __future__ import annotations

import copy
import dataclasses
import random
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from prakerja.domain import errors, security
from prakerja.domain.batch import Batch, BatchState, SeatOutcome, SeatShard
from prakerja.domain.models import (
    EmailClaim,
    IdempotencyRecord,
    LoginGrant,
    OutboxJob,
    ProcessingEvent,
    Registration,
)
from prakerja.domain.nik_service import PendingNik
from prakerja.domain.password_reset import CompletedReset, ResetState
from prakerja.domain.ports import EmailClaimed, IdempotencyHit, Keys, TransientConflict
from prakerja.domain.resilience import BreakerState


@dataclass(frozen=True)
class LoginThrottle:
    """The fake's sign-in budget of an email with no registration (the adapter's LOGIN# item)."""

    failures: int = 0
    window_start: int = 0


class FakeClock:
    def __init__(self, start: float = 1_767_225_600.0) -> None:  # 2026-01-01T00:00:00Z
        self.t = start

    def now(self) -> float:
        return self.t

    def advance(self, seconds: float) -> None:
        self.t += seconds


KEYS = Keys(token=b"t" * 32, code=b"c" * 32, nik=b"n" * 32)


def _with_event(reg: Registration, name: str, at: int) -> None:
    reg.events = (*reg.events, ProcessingEvent(name, at))


@dataclass
class InMemoryRegistrationStore:
    """Registrations and email claims with the conditions of the DynamoDB store. `now` is the
    time used to treat expired (TTL passed, not yet deleted) items as absent."""

    regs: dict[str, Registration] = field(default_factory=dict)
    claims_by_email: dict[str, EmailClaim] = field(default_factory=dict)
    idempotency: dict[str, IdempotencyRecord] = field(default_factory=dict)
    outbox: list[OutboxJob] = field(default_factory=list)
    throttles: dict[str, LoginThrottle] = field(default_factory=dict)
    send_leases: dict[str, tuple[int, str]] = field(default_factory=dict)  # registration -> (until, holder)
    events: dict[str, list[tuple[str, int]]] = field(default_factory=dict)
    code_checks_reserved: int = 0
    nik_claims: dict[str, str] = field(default_factory=dict)
    seats_taken: dict[tuple[str, int], int] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)
    now: Callable[[], float] | None = None
    # Called (outside the lock) after get_email_claim: to interleave a concurrent request.
    after_claim_read: Callable[[], None] | None = None

    @property
    def emails(self) -> dict[str, str]:
        return {e: c.registration_id for e, c in self.claims_by_email.items()}

    def _clock(self) -> float:
        return self.now() if self.now else 0.0

    def _claim(self, reg: Registration) -> EmailClaim:
        return EmailClaim(
            reg.email, reg.registration_id, False, reg.expires_at, reg.code_issued_at, reg.resend_day, reg.resend_count
        )

    def create(self, reg: Registration, job: OutboxJob, idempotency: IdempotencyRecord | None, expires_at: int) -> None:
        with self.lock:
            if idempotency is not None and idempotency.key_hash in self.idempotency:
                raise IdempotencyHit(self.idempotency[idempotency.key_hash])
            if reg.email in self.claims_by_email:
                raise EmailClaimed()
            self._store_new(reg, job, idempotency)

    def _store_new(self, reg: Registration, job: OutboxJob, idempotency: IdempotencyRecord | None) -> None:
        self.regs[reg.registration_id] = copy.deepcopy(reg)
        self.claims_by_email[reg.email] = self._claim(reg)
        self.outbox.append(job)
        if idempotency is not None:
            self.idempotency[idempotency.key_hash] = idempotency

    def get_email_claim(self, email: str) -> EmailClaim | None:
        claim = self.claims_by_email.get(email)
        if self.after_claim_read is not None:
            self.after_claim_read()
        return claim

    def replace_unverified(
        self,
        old: EmailClaim,
        reg: Registration,
        job: OutboxJob,
        idempotency: IdempotencyRecord | None,
        expires_at: int,
    ) -> bool:
        with self.lock:
            if idempotency is not None and idempotency.key_hash in self.idempotency:
                raise IdempotencyHit(self.idempotency[idempotency.key_hash])
            current = self.claims_by_email.get(reg.email)
            holder = self.regs.get(old.registration_id)
            if (
                current is None
                or current.registration_id != old.registration_id
                or current.code_sent_at != old.code_sent_at
                or current.verified
                or (holder is not None and holder.email_verified)
            ):
                return False
            self.regs.pop(old.registration_id, None)
            self._store_new(reg, job, idempotency)
            return True

    def get(self, registration_id: str) -> Registration | None:
        reg = self.regs.get(registration_id)
        if reg is None or (reg.expires_at is not None and reg.expires_at <= self._clock()):
            return None
        return copy.deepcopy(reg)

    def get_idempotency(self, key_hash: str) -> IdempotencyRecord | None:
        return self.idempotency.get(key_hash)

    def reserve_code_attempt(self, registration_id: str, max_attempts: int) -> Registration | None:
        """Like the adapter's conditional UpdateItem: count first, under the condition."""
        with self.lock:
            reg = self.regs.get(registration_id)
            if reg is None or reg.email_verified or reg.code_attempts >= max_attempts:
                return None
            if reg.expires_at is not None and reg.expires_at <= self._clock():
                return None  # past its TTL: absent
            reg.code_attempts += 1
            self.code_checks_reserved += 1
            return copy.deepcopy(reg)

    def mark_email_verified(self, registration_id: str, email: str, nonce: str, max_attempts: int, now: int) -> bool:
        with self.lock:
            reg = self.regs.get(registration_id)
            claim = self.claims_by_email.get(email)
            if reg is None or reg.code_nonce != nonce or reg.email_verified or reg.code_attempts > max_attempts:
                return False
            if claim is None or claim.registration_id != registration_id:
                return False
            reg.email_verified, reg.expires_at = True, None
            _with_event(reg, "email_verified", now)
            self.claims_by_email[email] = dataclasses.replace(claim, verified=True, expires_at=None)
            return True

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
        with self.lock:
            reg = self.regs[registration_id]
            claim = self.claims_by_email.get(email)
            if reg.code_nonce != old_nonce or reg.email_verified:
                return False
            if claim is None or claim.registration_id != registration_id:
                return False
            reg.code_nonce, reg.code_issued_at, reg.code_sent_at, reg.code_attempts = new_nonce, issued_at, 0, 0
            self.send_leases.pop(registration_id, None)  # the lease was for the old code's email
            reg.resend_day, reg.resend_count = resend_day, resend_count
            self.claims_by_email[email] = dataclasses.replace(
                claim, code_sent_at=issued_at, code_day=resend_day, code_count=resend_count
            )
            self.outbox.append(job)
            return True

    def delete_registration(self, reg: Registration) -> bool:
        with self.lock:
            current = self.regs.get(reg.registration_id)
            if current is None or (current.nik_seq, current.batch_id, current.photo_upload_key) != (
                reg.nik_seq,
                reg.batch_id,
                reg.photo_upload_key,
            ):
                return False
            del self.regs[reg.registration_id]
            claim = self.claims_by_email.get(reg.email)
            if claim is not None and claim.registration_id == reg.registration_id:
                del self.claims_by_email[reg.email]
            self.throttles.pop(security.sha256_hex(reg.email), None)
            if reg.nik_fp and self.nik_claims.get(reg.nik_fp) == reg.registration_id:
                del self.nik_claims[reg.nik_fp]
            if reg.batch_id is not None and reg.seat_shard is not None:
                self.seats_taken[(reg.batch_id, reg.seat_shard)] -= 1
            return True

    def claim_code_send(self, registration_id: str, nonce: str, holder: str, now: int, lease_s: int) -> bool:
        with self.lock:
            reg = self.regs.get(registration_id)
            if reg is None or reg.code_nonce != nonce or reg.code_sent_at or reg.email_verified:
                return False
            until, held_by = self.send_leases.get(registration_id, (0, ""))
            if until >= now and held_by != holder:
                return False
            self.send_leases[registration_id] = (now + lease_s, holder)
            return True

    def release_code_send(self, registration_id: str, holder: str) -> None:
        with self.lock:
            if self.send_leases.get(registration_id, (0, ""))[1] == holder:
                del self.send_leases[registration_id]

    def mark_code_sent(self, registration_id: str, nonce: str, sent_at: int) -> bool:
        with self.lock:
            reg = self.regs.get(registration_id)
            if reg is None or reg.code_nonce != nonce or reg.code_sent_at:
                return False
            reg.code_sent_at = sent_at
            return True

    def find_registration_id(self, email: str) -> str | None:
        claim = self.claims_by_email.get(email)
        if claim is not None and claim.expires_at is not None and claim.expires_at <= self._clock():
            return None  # TTL passed, deletion pending: absent
        return claim.registration_id if claim else None

    def reserve_login(
        self, registration_id: str | None, throttle_key: str, now: int, window_s: int, max_attempts: int
    ) -> LoginGrant:
        with self.lock:
            reg = self.regs.get(registration_id) if registration_id else None
            if reg is not None:
                attempts, window = reg.login_attempts, reg.login_window
            else:
                t = self.throttles.get(throttle_key, LoginThrottle())
                attempts, window = t.failures, t.window_start
            if window and window > now - window_s:
                if attempts >= max_attempts:
                    return LoginGrant(False, None, window + window_s - now)
                attempts += 1
            else:
                attempts, window = 1, now
            if reg is not None:
                reg.login_attempts, reg.login_window = attempts, window
            else:
                self.throttles[throttle_key] = LoginThrottle(attempts, window)
            return LoginGrant(True, copy.deepcopy(reg) if reg else None, 0)

    def release_login(self, registration_id: str) -> None:
        with self.lock:
            reg = self.regs.get(registration_id)
            if reg is not None:
                reg.login_attempts, reg.login_window = 0, 0

    def revoke_tokens(self, registration_id: str, generation: int, now: int) -> bool:
        with self.lock:
            reg = self.regs.get(registration_id)
            if reg is None or not reg.accepts_token(generation):
                return False
            reg.token_gen = generation + 1
            self.events.setdefault(registration_id, []).append(("signed_out", now))
            _with_event(reg, "signed_out", now)
            return True


class FakeCipher:
    """Reversible stand-in for KMS that also checks the encryption context."""

    def encrypt(self, plaintext: str, registration_id: str) -> str:
        return f"ct:{registration_id}:{plaintext[::-1]}"

    def decrypt(self, ciphertext: str, registration_id: str) -> str:
        prefix = f"ct:{registration_id}:"
        assert ciphertext.startswith(prefix), "encryption context mismatch"
        return ciphertext[len(prefix) :][::-1]


@dataclass
class InMemoryNikStore(InMemoryRegistrationStore):
    submissions_reserved: int = 0

    def reserve_nik_submission(
        self, registration_id: str, day: str, max_per_day: int, token_generation: int | None
    ) -> tuple[bool, Registration | None]:
        with self.lock:
            reg = self.regs.get(registration_id)
            if reg is None:
                return False, None
            count = reg.nik_day_count if reg.nik_day == day else 0
            can_submit = reg.email_verified and reg.nik_status in ("NONE", "REJECTED")
            revoked = token_generation is not None and not reg.accepts_token(token_generation)
            if not can_submit or revoked or count >= max_per_day:
                return False, copy.deepcopy(reg)
            reg.nik_day, reg.nik_day_count = day, count + 1
            self.submissions_reserved += 1
            return True, copy.deepcopy(reg)

    @property
    def claims(self) -> dict[str, str]:
        return self.nik_claims

    def submit_nik(self, registration_id: str, expected_seq: int, pending: PendingNik, job: OutboxJob) -> None:
        with self.lock:
            reg = self.regs[registration_id]
            owner = self.claims.get(pending.fingerprint)
            if owner is not None and owner != registration_id:
                raise errors.NikTaken("taken")
            if reg.nik_seq != expected_seq:
                raise TransientConflict()
            self.claims[pending.fingerprint] = registration_id
            reg.nik_status, reg.nik_reason = "PENDING", None
            reg.nik_fp, reg.nik_masked, reg.nik_ct = pending.fingerprint, pending.masked, pending.ciphertext
            reg.nik_request_hash, reg.nik_seq = pending.request_hash, pending.seq
            _with_event(reg, "nik_submitted", int(self._clock()))
            self.outbox.append(job)

    def record_nik_result(
        self,
        registration_id: str,
        seq: int,
        status: str,
        reason: str | None,
        release_fingerprint: str | None,
        job: OutboxJob,
    ) -> bool:
        with self.lock:
            reg = self.regs[registration_id]
            if reg.nik_seq != seq or reg.nik_status != "PENDING":
                return False
            reg.nik_status, reg.nik_reason, reg.nik_ct = status, reason, None  # type: ignore[assignment]
            _with_event(reg, "nik_verified" if status == "VERIFIED" else "nik_rejected", int(self._clock()))
            if release_fingerprint and self.claims.get(release_fingerprint) == registration_id:
                del self.claims[release_fingerprint]
            self.outbox.append(job)
            return True

    def mark_nik_delayed(self, registration_id: str, seq: int) -> None:
        with self.lock:
            reg = self.regs[registration_id]
            if reg.nik_seq == seq and reg.nik_status == "PENDING":
                reg.nik_reason = "UNAVAILABLE"


@dataclass
class InMemoryResetStore(InMemoryRegistrationStore):
    """A ResetStore with the adapter's conditional semantics (one lock = DynamoDB's atomic item ops)."""

    resets: dict[str, ResetState] = field(default_factory=dict)
    reset_checks_reserved: int = 0

    def lookup(self, email: str, email_hash: str) -> tuple[str | None, ResetState | None]:
        return self.emails.get(email), self.resets.get(email_hash)

    def start_reset(
        self,
        email: str,
        email_hash: str,
        previous: ResetState | None,
        new: ResetState,
        expires_at: int,
        job: OutboxJob | None,
    ) -> bool:
        with self.lock:
            if job is None and email in self.emails:
                return False
            current = self.resets.get(email_hash)
            if (current.nonce if current else None) != (previous.nonce if previous else None):
                return False
            self.resets[email_hash] = new
            if job is not None:
                self.outbox.append(job)
            return True

    def reserve_reset_attempt(self, email_hash: str, max_attempts: int) -> tuple[bool, ResetState | None]:
        with self.lock:
            state = self.resets.get(email_hash)
            if state is None or state.attempts >= max_attempts:
                return False, state
            state = dataclasses.replace(state, attempts=state.attempts + 1)
            self.resets[email_hash] = state
            self.reset_checks_reserved += 1
            return True, state

    def complete_reset(self, done: CompletedReset) -> str:
        with self.lock:
            reg = self.regs.get(done.registration_id)
            state = self.resets.get(done.email_hash)
            if reg is None or state is None or state.nonce != done.nonce:
                return "GONE"
            if self.emails.get(done.email) != done.registration_id:
                return "GONE"
            if reg.token_gen != done.expected_generation:
                return "STALE_GENERATION"
            reg.password_hash, reg.email_verified = done.password_hash, True
            reg.token_gen = done.expected_generation + 1
            reg.login_attempts, reg.login_window = 0, 0
            del self.resets[done.email_hash]
            names = ["email_verified", "password_reset"] if done.verify_email else ["password_reset"]
            self.events.setdefault(done.registration_id, []).extend((n, done.now) for n in names)
            for n in names:
                _with_event(reg, n, done.now)
            return "OK"


class InMemoryBreakerStore:
    """A `BreakerStore` with the conditional-save semantics of the DynamoDB one."""

    def __init__(self, initial: BreakerState | None = None) -> None:
        self._state = initial or BreakerState()
        self._lock = threading.Lock()
        self.saves = 0
        self.conflicts = 0

    def load(self) -> BreakerState:
        with self._lock:
            return self._state

    def save(self, new: BreakerState, expected_version: int) -> bool:
        with self._lock:
            if self._state.version != expected_version:
                self.conflicts += 1
                return False
            self._state = new
            self.saves += 1
            return True


class InMemorySlotStore:
    """A `SlotStore` with the semantics of the DynamoDB one."""

    def __init__(self) -> None:
        self.next: dict[int, int] = {}
        self._lock = threading.Lock()

    def take(self, second: int, cap: int, min_index: int = 0) -> int | None:
        with self._lock:
            index = max(self.next.get(second, 0), min_index)
            if index >= cap:
                return None
            self.next[second] = index + 1
            return index


# -- batches --------------------------------------------------------------------------------


def eligible(registration_id: str, **changes: object) -> Registration:
    reg = Registration(
        registration_id=registration_id,
        email=f"{registration_id}@example.com",
        password_hash="x",
        full_name="Budi",
        phone="+6281234567890",
        created_at=0,
        email_verified=True,
        nik_status="VERIFIED",
        photo_status="ACCEPTED",
    )
    for name, value in changes.items():
        setattr(reg, name, value)
    return reg


@dataclass
class InMemoryBatchStore:
    regs: dict[str, Registration] = field(default_factory=dict)
    batches: dict[str, Batch] = field(default_factory=dict)
    # (batch_id, shard) -> [allot, taken]
    seats: dict[tuple[str, int], list[int]] = field(default_factory=dict)
    joined_at: dict[str, int] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)
    # Share of seat transactions that fail with a transaction conflict (before any effect).
    conflict_rate: float = 0.0
    # Reads of the shards show nothing taken (a maximally stale eventually consistent read).
    stale_reads: bool = False
    # Called at the start of each seat transaction (to simulate a concurrent change).
    before_take: Callable[[str, int], None] | None = None
    take_calls: int = 0
    rng: random.Random = field(default_factory=lambda: random.Random(7))

    def add(self, reg: Registration) -> None:
        self.regs[reg.registration_id] = copy.deepcopy(reg)

    def get_registration(self, registration_id: str) -> Registration | None:
        with self.lock:
            reg = self.regs.get(registration_id)
            return copy.deepcopy(reg) if reg else None

    def _state(self, batch: Batch) -> BatchState:
        shards = []
        for k in range(batch.shards):
            allot, taken = self.seats[(batch.batch_id, k)]
            shards.append(SeatShard(k, allot, 0 if self.stale_reads else taken))
        return BatchState(batch, tuple(shards))

    def get_batch(self, batch_id: str) -> BatchState | None:
        with self.lock:
            batch = self.batches.get(batch_id)
            return self._state(batch) if batch else None

    def list_batches(self) -> list[BatchState]:
        with self.lock:
            return [self._state(b) for b in self.batches.values()]

    def create_batch(self, batch: Batch, allot: list[int]) -> bool:
        with self.lock:
            if batch.batch_id in self.batches:
                return False
            self.batches[batch.batch_id] = batch
            for k, n in enumerate(allot):
                self.seats[(batch.batch_id, k)] = [n, 0]
            return True

    def take_seat(self, registration_id: str, batch_id: str, shard: int, joined_at: int) -> SeatOutcome:
        if self.before_take is not None:
            self.before_take(registration_id, shard)
        with self.lock:
            self.take_calls += 1
            if self.conflict_rate and self.rng.random() < self.conflict_rate:
                raise TransientConflict()
            reg = self.regs.get(registration_id)
            seat = self.seats.get((batch_id, shard))
            reg_ok = (
                reg is not None
                and reg.batch_id is None
                and reg.nik_status == "VERIFIED"
                and reg.photo_status == "ACCEPTED"
            )
            if not reg_ok:
                return SeatOutcome.REGISTRATION_REFUSED
            if seat is None or not seat[1] < seat[0]:
                return SeatOutcome.SHARD_FULL
            seat[1] += 1
            assert reg is not None
            reg.batch_id, reg.seat_shard = batch_id, shard
            _with_event(reg, "batch_joined", joined_at)
            self.joined_at[registration_id] = joined_at
            return SeatOutcome.JOINED

    def taken(self, batch_id: str) -> int:
        return sum(t for (b, _), (_, t) in self.seats.items() if b == batch_id)


# -- workers' outside world ---------------------------------------------------------------------
@dataclass
class RecordingQueue:
    """A work queue that records what was sent and every visibility change; `fail` lists the
    body indexes a send_batch call reports as failed."""

    sent: list[tuple[str, int]] = field(default_factory=list)
    visibility: list[tuple[str, int]] = field(default_factory=list)
    fail: set[int] = field(default_factory=set)

    def send(self, body: str, delay_s: int = 0) -> None:
        self.sent.append((body, delay_s))

    def send_batch(self, bodies: list[str], delay_s: int = 0) -> list[int]:
        failed = sorted(i for i in self.fail if i < len(bodies))
        self.sent.extend((b, delay_s) for i, b in enumerate(bodies) if i not in self.fail)
        return failed

    def change_visibility(self, receipt_handle: str, timeout_s: int) -> None:
        self.visibility.append((receipt_handle, timeout_s))


@dataclass
class Counts:
    """Collects the metrics a worker emits (name -> total)."""

    totals: dict[str, int] = field(default_factory=dict)

    def __call__(self, name: str, value: int) -> None:
        self.totals[name] = self.totals.get(name, 0) + value
