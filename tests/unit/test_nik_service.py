"""NIK submission and check logic with in-memory fakes: typos caught at once, one NIK per person,
transient registry failures are delays (never verdicts), the breaker stops calls."""

from __future__ import annotations

import datetime as dt
import threading

import pytest

from prakerja.domain import errors, resilience
from prakerja.domain.nik import RegistryUnavailable, RegistryVerdict
from prakerja.domain.nik_service import NikSubmission, NikVerificationService
from prakerja.domain.ports import Keys
from prakerja.domain.registration import NewRegistration, RegistrationService
from prakerja.domain.registry_check import Deferred, NikCheckService, RegistryGate, Transient
from prakerja.domain.security import KeyRing, SigningKey
from tests.fakes import KEYS, FakeCipher, FakeClock, InMemoryBreakerStore, InMemoryNikStore, InMemorySlotStore

NIK = "3201012107900001"  # Jawa Barat / Kab. Bogor, born 21-07-1990, male
GOOD = NikSubmission(nik=NIK, full_name="Budi Santoso", birth_date=dt.date(1990, 7, 21), gender="M")


class FakeRegistry:
    def __init__(self, answers: list[object]) -> None:
        self.answers = list(answers)
        self.calls = 0

    def check(self, nik: str, full_name: str, birth_date: dt.date, gender: str) -> RegistryVerdict:
        self.calls += 1
        answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        if isinstance(answer, Exception):
            raise answer
        assert isinstance(answer, RegistryVerdict)
        return answer


@pytest.fixture
def world():
    clock, store = FakeClock(), InMemoryNikStore()
    regs = RegistrationService(store, KEYS, clock, scrypt_n=2**10, token_ttl_s=3600)

    def person(i: int = 0) -> str:
        rid = regs.register(
            NewRegistration(f"p{i}@example.com", "password-123", "Budi Santoso", "+6281234567890"),
            idempotency_key=None,
            body_hash="x",
        ).registration_id
        store.regs[rid].email_verified = True
        return rid

    submit = NikVerificationService(store, FakeCipher(), KEYS, clock)
    breaker = InMemoryBreakerStore()
    gate = RegistryGate(
        breaker,
        InMemorySlotStore(),
        clock,
        resilience.BreakerConfig(failure_threshold=3, cooldown_s=30),
        max_rps=5,
        max_wait_s=2,
        sleep=clock.advance,
    )
    return clock, store, person, submit, gate, breaker


def checker(store, gate, registry) -> NikCheckService:  # type: ignore[no-untyped-def]
    return NikCheckService(store, FakeCipher(), registry, gate)


def test_typo_is_rejected_at_once_naming_the_field(world):
    _, store, person, submit, _, _ = world
    rid = person()
    with pytest.raises(errors.ValidationFailed) as exc:
        submit.verify_nik(
            rid, NikSubmission(nik="3201012107900001", full_name="Siti", birth_date=dt.date(1990, 7, 21), gender="F")
        )  # a woman's NIK has day + 40
    assert {e.field for e in exc.value.errors} & {"nik", "birth_date", "gender"}
    assert store.regs[rid].nik_status == "NONE" and not store.outbox[1:]
    assert NIK not in str(exc.value.extra)


def test_submission_is_stored_encrypted_and_queued(world):
    _, store, person, submit, _, _ = world
    rid = person()
    submit.verify_nik(rid, GOOD)
    reg = store.regs[rid]
    assert reg.nik_status == "PENDING" and reg.nik_ct and NIK not in reg.nik_ct
    assert NIK not in (reg.nik_fp or "") and reg.nik_masked != NIK
    assert store.outbox[-1].kind == "NIK_CHECK" and store.outbox[-1].payload == {"nik_seq": 1}
    assert NIK not in str(store.outbox[-1])


def test_identical_resubmission_while_pending_is_idempotent_other_is_conflict(world):
    _, store, person, submit, _, _ = world
    rid = person()
    submit.verify_nik(rid, GOOD)
    submit.verify_nik(rid, GOOD)
    assert len([j for j in store.outbox if j.kind == "NIK_CHECK"]) == 1
    with pytest.raises(errors.NikAlreadySubmitted):
        submit.verify_nik(rid, NikSubmission(nik=NIK, full_name="Budi Santosa", birth_date=GOOD.birth_date, gender="M"))


def test_an_identical_retry_is_still_recognised_after_the_token_keys_rotate(world):
    clock, store, person, _, _, _ = world
    old, new = SigningKey("k1", b"o" * 32), SigningKey("k2", b"w" * 32)
    before = NikVerificationService(store, FakeCipher(), Keys(KeyRing.of(old), b"c" * 32, b"n" * 32), clock)
    after = NikVerificationService(store, FakeCipher(), Keys(KeyRing.of(new, old), b"c" * 32, b"n" * 32), clock)
    rid = person()
    before.verify_nik(rid, GOOD)
    after.verify_nik(rid, GOOD)  # the same request, retried across the rotation: 202 again
    assert len([j for j in store.outbox if j.kind == "NIK_CHECK"]) == 1
    with pytest.raises(errors.NikAlreadySubmitted):
        after.verify_nik(rid, NikSubmission(nik=NIK, full_name="Budi Santosa", birth_date=GOOD.birth_date, gender="M"))


def test_a_submission_fingerprints_only_the_nik_and_stores_nothing_readable(world):
    clock, store, person, _, _, _ = world

    class CountingFingerprinter:
        def __init__(self) -> None:
            self.values: list[str] = []

        def fingerprint(self, value: str) -> str:
            self.values.append(value)
            return "fp-" + str(len(self.values))

    mac = CountingFingerprinter()
    submit = NikVerificationService(store, FakeCipher(), Keys(b"t" * 32, b"c" * 32, mac), clock)
    rid = person()
    submit.verify_nik(rid, GOOD)
    assert mac.values == [NIK]  # one KMS GenerateMac per submission (KMS's HMAC quota is per second)
    stored = store.regs[rid].nik_request_hash or ""
    assert len(stored) == 64 and NIK not in stored and "santoso" not in stored.lower()


def test_six_accounts_racing_for_one_nik_exactly_one_wins(world):
    _, _, person, submit, _, _ = world
    rids = [person(i) for i in range(6)]
    results: list[str] = []

    def go(rid: str) -> None:
        try:
            submit.verify_nik(rid, GOOD)
            results.append("ok")
        except errors.NikTaken:
            results.append("taken")

    threads = [threading.Thread(target=go, args=(r,)) for r in rids]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == ["ok"] + ["taken"] * 5


@pytest.mark.parametrize(
    ("verdict", "status", "reason"),
    [
        (RegistryVerdict.MATCH, "VERIFIED", None),
        (RegistryVerdict.MISMATCH, "REJECTED", "MISMATCH"),
        (RegistryVerdict.NOT_FOUND, "REJECTED", "NOT_FOUND"),
    ],
)
def test_check_records_the_registry_verdict_and_emails_it(world, verdict, status, reason):
    _, store, person, submit, gate, _ = world
    rid = person()
    submit.verify_nik(rid, GOOD)
    assert checker(store, gate, FakeRegistry([verdict])).check_nik(rid, 1) == status
    reg = store.regs[rid]
    assert (reg.nik_status, reg.nik_reason, reg.nik_ct) == (status, reason, None)
    assert store.outbox[-1].payload["template"] == "nik_result"


def test_rejection_releases_the_nik_for_another_account(world):
    _, store, person, submit, gate, _ = world
    first, second = person(1), person(2)
    submit.verify_nik(first, GOOD)
    with pytest.raises(errors.NikTaken):
        submit.verify_nik(second, GOOD)
    checker(store, gate, FakeRegistry([RegistryVerdict.MISMATCH])).check_nik(first, 1)
    submit.verify_nik(second, GOOD)
    assert store.regs[second].nik_status == "PENDING"


def test_resubmission_after_rejection_is_allowed_five_times_a_day(world):
    _, store, person, submit, gate, _ = world
    rid = person()
    reg_check = checker(store, gate, FakeRegistry([RegistryVerdict.MISMATCH]))
    for seq in range(1, 6):
        submit.verify_nik(rid, GOOD)
        reg_check.check_nik(rid, seq)
    with pytest.raises(errors.TooManyAttempts):
        submit.verify_nik(rid, GOOD)


def test_transient_failure_is_a_delay_not_a_verdict(world):
    _, store, person, submit, gate, _ = world
    rid = person()
    submit.verify_nik(rid, GOOD)
    flaky = FakeRegistry([RegistryUnavailable("timeout"), RegistryVerdict.MATCH])
    with pytest.raises(Transient):
        checker(store, gate, flaky).check_nik(rid, 1)
    assert (store.regs[rid].nik_status, store.regs[rid].nik_reason) == ("PENDING", "UNAVAILABLE")
    assert checker(store, gate, flaky).check_nik(rid, 1) == "VERIFIED"
    assert store.regs[rid].nik_reason is None


def test_open_breaker_stops_calls_then_probe_closes_it(world):
    clock, store, person, submit, gate, breaker = world
    rids = [person(i) for i in range(5)]
    niks = [f"32010121079000{i + 1:02d}" for i in range(5)]
    for rid, nik in zip(rids, niks, strict=True):
        submit.verify_nik(rid, NikSubmission(nik=nik, full_name="Budi", birth_date=GOOD.birth_date, gender="M"))
    down = FakeRegistry([RegistryUnavailable("503")])
    for rid in rids[:3]:
        with pytest.raises(Transient):
            checker(store, gate, down).check_nik(rid, 1)
    assert breaker.load().mode == resilience.BreakerMode.OPEN
    with pytest.raises(Deferred) as wait:
        checker(store, gate, down).check_nik(rids[3], 1)
    assert down.calls == 3 and 0 < wait.value.delay_s <= 30
    clock.advance(31)
    up = FakeRegistry([RegistryVerdict.MATCH])
    assert checker(store, gate, up).check_nik(rids[3], 1) == "VERIFIED"
    assert breaker.load().mode == resilience.BreakerMode.CLOSED
    assert all(store.regs[r].nik_status != "REJECTED" for r in rids)


def test_stale_message_is_ignored(world):
    _, store, person, submit, gate, _ = world
    rid = person()
    submit.verify_nik(rid, GOOD)
    registry = FakeRegistry([RegistryVerdict.MATCH])
    assert checker(store, gate, registry).check_nik(rid, 1) == "VERIFIED"
    assert checker(store, gate, registry).check_nik(rid, 1) == "STALE"
    assert registry.calls == 1
