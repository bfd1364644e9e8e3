"""Attempt budgets are reserved atomically BEFORE the check (issue 10): 40 parallel guesses check
at most the budget, and a right guess after the budget is spent fails. The fakes model the
adapters' conditional updates; each check is made slow, so a read-compare-write design would
let every parallel guess through (these tests fail on it)."""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from prakerja.domain import errors, passwords, security
from prakerja.domain.nik_service import NikSubmission, NikVerificationService
from prakerja.domain.password_reset import PasswordResetService
from prakerja.domain.registration import NewRegistration, RegistrationService
from tests.fakes import KEYS, FakeCipher, FakeClock, InMemoryNikStore, InMemoryResetStore

NEW = NewRegistration(email="budi@example.com", password="correct horse", full_name="Budi", phone="+6281234567890")
PARALLEL = 40


class Counted:
    """Wraps a check: counts the calls and holds each one a little, so guesses overlap."""

    def __init__(self, real: Callable[..., Any], hold_s: float = 0.005) -> None:
        self.real, self.hold_s, self.calls = real, hold_s, 0
        self._lock = threading.Lock()

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        with self._lock:
            self.calls += 1
        time.sleep(self.hold_s)
        return self.real(*args, **kwargs)


def fire(n: int, work: Callable[[int], Any], threads: int = 16) -> list[Any]:
    """Run work(i) n times on `threads` threads, all released at once; outcomes (value or error)."""
    start = threading.Barrier(min(n, threads))

    def one(i: int) -> Any:
        if i < threads:
            start.wait()
        try:
            return work(i)
        except errors.DomainError as exc:
            return exc

    with ThreadPoolExecutor(threads) as pool:
        return list(pool.map(one, range(n)))


def slugs(outcomes: list[Any]) -> list[str]:
    return [o.slug if isinstance(o, errors.DomainError) else "ok" for o in outcomes]


# -- email verification codes -----------------------------------------------------------------------
@pytest.fixture
def regs() -> tuple[RegistrationService, InMemoryResetStore, FakeClock]:
    clock, store = FakeClock(), InMemoryResetStore()
    return RegistrationService(store, KEYS, clock, scrypt_n=2**10, token_ttl_s=3600), store, clock


def _code(store: InMemoryResetStore, rid: str) -> str:
    return security.verification_code(KEYS.code, rid, store.regs[rid].code_nonce)


def _wrong(code: str, i: int) -> str:
    return f"{(int(code) + 1 + i) % 1_000_000:06d}"


def test_forty_parallel_code_guesses_check_at_most_five(regs, monkeypatch):
    service, store, _ = regs
    rid = service.register(NEW, idempotency_key=None, body_hash="h").registration_id
    right = _code(store, rid)
    checks = Counted(security.code_matches)
    monkeypatch.setattr(security, "code_matches", checks)
    # 39 wrong guesses and the right one last: it must not slip in past the budget.
    outcomes = slugs(
        fire(PARALLEL, lambda i: service.verify_email(rid, right if i == PARALLEL - 1 else _wrong(right, i)))
    )
    assert checks.calls <= 5
    assert outcomes.count("code-mismatch") + outcomes.count("ok") <= 5
    assert outcomes.count("too-many-attempts") >= PARALLEL - 5
    assert store.regs[rid].code_attempts == 5


def test_right_code_after_five_wrong_ones_is_refused(regs):
    service, store, _ = regs
    rid = service.register(NEW, idempotency_key=None, body_hash="h").registration_id
    right = _code(store, rid)
    fire(5, lambda i: service.verify_email(rid, _wrong(right, i)))
    with pytest.raises(errors.TooManyAttempts):
        service.verify_email(rid, right)
    assert not store.regs[rid].email_verified


def test_right_code_within_budget_verifies_and_wrong_ones_count_down(regs):
    service, store, _ = regs
    rid = service.register(NEW, idempotency_key=None, body_hash="h").registration_id
    right = _code(store, rid)
    with pytest.raises(errors.CodeMismatch) as exc:
        service.verify_email(rid, _wrong(right, 0))
    assert exc.value.extra["attempts_left"] == 4
    assert service.verify_email(rid, right).registration_id == rid
    with pytest.raises(errors.AlreadyVerified):
        service.verify_email(rid, right)


# -- sign-in ------------------------------------------------------------------------------------------
def test_forty_wrong_passwords_sixteen_at_a_time_check_at_most_five(regs, monkeypatch):
    service, store, _ = regs
    rid = service.register(NEW, idempotency_key=None, body_hash="h").registration_id
    service.verify_email(rid, _code(store, rid))
    checks = Counted(passwords.verify_password)
    monkeypatch.setattr(passwords, "verify_password", checks)
    outcomes = slugs(fire(PARALLEL, lambda i: service.create_session(NEW.email, f"wrong password {i}")))
    assert checks.calls <= 5
    assert outcomes.count("invalid-credentials") <= 5
    assert outcomes.count("too-many-attempts") >= PARALLEL - 5
    with pytest.raises(errors.TooManyAttempts) as exc:  # the right password, after the budget
        service.create_session(NEW.email, NEW.password)
    assert exc.value.retry_after_s is not None and 0 < exc.value.retry_after_s <= 15 * 60


def test_unknown_email_has_the_same_budget(regs, monkeypatch):
    service, _, _ = regs
    checks = Counted(passwords.verify_password)
    monkeypatch.setattr(passwords, "verify_password", checks)
    outcomes = slugs(fire(PARALLEL, lambda i: service.create_session("nobody@example.com", f"pw {i}")))
    assert checks.calls <= 5
    assert outcomes.count("invalid-credentials") <= 5 and outcomes.count("too-many-attempts") >= PARALLEL - 5


def test_a_right_password_gives_the_budget_back(regs, monkeypatch):
    service, store, clock = regs
    rid = service.register(NEW, idempotency_key=None, body_hash="h").registration_id
    service.verify_email(rid, _code(store, rid))
    for _ in range(4):
        with pytest.raises(errors.InvalidCredentials):
            service.create_session(NEW.email, "wrong password")
    assert service.create_session(NEW.email, NEW.password).registration_id == rid
    for _ in range(5):  # a fresh budget
        with pytest.raises(errors.InvalidCredentials):
            service.create_session(NEW.email, "wrong password")
    with pytest.raises(errors.TooManyAttempts):
        service.create_session(NEW.email, NEW.password)
    clock.advance(15 * 60 + 1)
    assert service.create_session(NEW.email, NEW.password).registration_id == rid


# -- NIK submissions --------------------------------------------------------------------------------
NIK = "3201012107900001"


def _nik_world() -> tuple[NikVerificationService, InMemoryNikStore, RegistrationService, FakeClock]:
    clock, store = FakeClock(), InMemoryNikStore()
    regs = RegistrationService(store, KEYS, clock, scrypt_n=2**10, token_ttl_s=3600)
    return NikVerificationService(store, FakeCipher(), KEYS, clock), store, regs, clock


def _person(regs: RegistrationService, store: InMemoryNikStore, i: int) -> str:
    rid = regs.register(
        NewRegistration(f"p{i}@example.com", "password-123", "Budi Santoso", "+6281234567890"),
        idempotency_key=None,
        body_hash="x",
    ).registration_id
    store.regs[rid].email_verified = True
    return rid


def test_nik_taken_answers_spend_the_daily_budget_before_kms(monkeypatch):
    service, store, regs, _ = _nik_world()
    owner, prober = _person(regs, store, 0), _person(regs, store, 1)
    good = NikSubmission(nik=NIK, full_name="Budi Santoso", birth_date=dt.date(1990, 7, 21), gender="M")
    service.verify_nik(owner, good)
    cipher = FakeCipher()
    encrypts = Counted(cipher.encrypt, hold_s=0.002)
    monkeypatch.setattr(service, "_cipher", type("C", (), {"encrypt": staticmethod(encrypts)})())
    # A prober tries many NIKs already bound to someone: at most 5 get an answer about them.
    probes = [
        NikSubmission(nik=NIK, full_name=f"Nama {chr(65 + i % 26)}", birth_date=dt.date(1990, 7, 21), gender="M")
        for i in range(PARALLEL)
    ]
    outcomes = slugs(fire(PARALLEL, lambda i: service.verify_nik(prober, probes[i])))
    assert outcomes.count("nik-taken") <= 5
    assert outcomes.count("too-many-attempts") >= PARALLEL - 5
    assert encrypts.calls <= 5
    assert store.regs[prober].nik_day_count == 5


def test_sixth_nik_submission_of_the_day_is_refused_even_if_taken_first(monkeypatch):
    service, store, regs, clock = _nik_world()
    owner, prober = _person(regs, store, 0), _person(regs, store, 1)
    good = NikSubmission(nik=NIK, full_name="Budi Santoso", birth_date=dt.date(1990, 7, 21), gender="M")
    service.verify_nik(owner, good)
    for i in range(5):
        with pytest.raises(errors.NikTaken):
            service.verify_nik(prober, NikSubmission(NIK, f"Nama {i}", dt.date(1990, 7, 21), "M"))
    with pytest.raises(errors.TooManyAttempts):
        service.verify_nik(prober, NikSubmission(NIK, "Nama X", dt.date(1990, 7, 21), "M"))
    clock.advance(24 * 3600)  # a new day, a new budget
    with pytest.raises(errors.NikTaken):
        service.verify_nik(prober, NikSubmission(NIK, "Nama Y", dt.date(1990, 7, 21), "M"))


# -- password-reset codes ---------------------------------------------------------------------------
def test_forty_parallel_reset_guesses_check_at_most_five(monkeypatch):
    clock, store = FakeClock(), InMemoryResetStore()
    regs = RegistrationService(store, KEYS, clock, scrypt_n=2**10, token_ttl_s=3600)
    resets = PasswordResetService(store, KEYS, clock, scrypt_n=2**10, token_ttl_s=3600)
    rid = regs.register(NEW, idempotency_key=None, body_hash="h").registration_id
    assert resets.request_password_reset(NEW.email)
    nonce = store.outbox[-1].payload["nonce"]
    right = security.reset_code(KEYS.code, rid, nonce)
    checks = Counted(security.reset_code_matches)
    monkeypatch.setattr(security, "reset_code_matches", checks)
    outcomes = slugs(
        fire(
            PARALLEL,
            lambda i: resets.confirm_password_reset(
                NEW.email, right if i == PARALLEL - 1 else _wrong(right, i), "a new password 1"
            ),
        )
    )
    assert checks.calls <= 5
    assert outcomes.count("code-mismatch") + outcomes.count("ok") <= 5
    assert outcomes.count("too-many-attempts") >= PARALLEL - 5
    assert store.reset_checks_reserved <= 5
