"""Registration domain, with in-memory fakes (no AWS, no network)."""

from __future__ import annotations

import threading

import pytest

from prakerja.domain import errors, security
from prakerja.domain.registration import NewRegistration, RegistrationService
from prakerja.http.views import registration_body
from tests.fakes import KEYS, FakeClock, InMemoryRegistrationStore

NEW = NewRegistration(
    email="budi@example.com",
    password="correct horse",
    full_name="Budi Santoso",
    phone="+6281234567890",
    terms_version="2026-01",
)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def store(clock: FakeClock) -> InMemoryRegistrationStore:
    return InMemoryRegistrationStore(now=clock.now)


@pytest.fixture
def service(store: InMemoryRegistrationStore, clock: FakeClock) -> RegistrationService:
    return RegistrationService(store, KEYS, clock, scrypt_n=2**10, token_ttl_s=3600)


def register(service: RegistrationService, new: NewRegistration = NEW) -> str:
    return service.register(new, idempotency_key=None, body_hash="h").registration_id


def emailed_code(store: InMemoryRegistrationStore, rid: str) -> str:
    job = [j for j in store.outbox if j.registration_id == rid][-1]
    return security.verification_code(KEYS.code, rid, job.payload["nonce"])


def sent_code(store: InMemoryRegistrationStore, rid: str, clock: FakeClock) -> str:
    """The latest code, its email handed to SES now (what the send_email worker stamps)."""
    job = [j for j in store.outbox if j.registration_id == rid][-1]
    store.mark_code_sent(rid, job.payload["nonce"], int(clock.now()))
    return emailed_code(store, rid)


def test_register_stores_hashed_password_and_queues_code_email(service, store):
    rid = register(service)
    reg = store.regs[rid]
    assert reg.password_hash.startswith("scrypt$") and "correct horse" not in reg.password_hash
    assert store.outbox[-1].kind == "EMAIL" and store.outbox[-1].payload["template"] == "verify_code"
    assert reg.status == "EMAIL_PENDING"


def test_duplicate_of_a_verified_email_is_refused(service, store, clock):
    rid = register(service)
    service.verify_email(rid, emailed_code(store, rid))
    clock.advance(3600)
    with pytest.raises(errors.EmailTaken):
        register(service)


def test_idempotent_retry_returns_same_registration(service, store):
    first = service.register(NEW, idempotency_key="k1", body_hash="body-a")
    again = service.register(NEW, idempotency_key="k1", body_hash="body-a")
    assert again.registration_id == first.registration_id and len(store.regs) == 1
    assert again.replayed and not first.replayed


def test_idempotency_key_with_other_body_is_422(service):
    service.register(NEW, idempotency_key="k1", body_hash="body-a")
    with pytest.raises(errors.IdempotencyKeyReused) as exc:
        service.register(NEW, idempotency_key="k1", body_hash="body-b")
    assert exc.value.slug == "idempotency-key-reused"


def test_concurrent_duplicate_emails_produce_one_registration(service, store):
    results: list[str] = []

    def attempt() -> None:
        try:
            register(service)
            results.append("ok")
        except errors.ResendTooSoon:  # the address just got a code: taking it over must wait
            results.append("too-soon")

    threads = [threading.Thread(target=attempt) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results.count("ok") == 1 and results.count("too-soon") == 7 and len(store.regs) == 1


def test_correct_code_verifies_and_issues_token(service, store, clock):
    rid = register(service)
    session = service.verify_email(rid, emailed_code(store, rid))
    claims = security.verify_token(KEYS.token, session.access_token, now=int(clock.now()))
    assert claims is not None and claims.registration_id == rid
    assert store.regs[rid].email_verified


def test_wrong_codes_count_down_then_lock(service, store):
    rid = register(service)
    good = emailed_code(store, rid)
    wrong = "000000" if good != "000000" else "111111"
    left = []
    for _ in range(5):
        with pytest.raises(errors.CodeMismatch) as exc:
            service.verify_email(rid, wrong)
        left.append(exc.value.extra["attempts_left"])
    assert left == [4, 3, 2, 1, 0]
    with pytest.raises(errors.TooManyAttempts):
        service.verify_email(rid, good)  # dead even with the right code


def test_code_expires_15_minutes_after_its_email_was_sent(service, store, clock):
    rid = register(service)
    clock.advance(40 * 60)  # a long email backlog: the code has not started to live yet
    code = sent_code(store, rid, clock)
    clock.advance(15 * 60)
    assert service.verify_email(rid, code).registration_id == rid


def test_code_expires_after_15_minutes_from_sending(service, store, clock):
    rid = register(service)
    code = sent_code(store, rid, clock)
    clock.advance(15 * 60 + 1)
    with pytest.raises(errors.CodeExpired):
        service.verify_email(rid, code)


def test_code_lifetime_is_configurable(store, clock):
    service = RegistrationService(store, KEYS, clock, scrypt_n=2**10, token_ttl_s=3600, code_ttl_s=30)
    rid = register(service)
    code = sent_code(store, rid, clock)
    clock.advance(31)
    with pytest.raises(errors.CodeExpired):
        service.verify_email(rid, code)


def test_resend_while_the_code_email_is_queued_sends_nothing_and_keeps_the_code(service, store, clock):
    rid = register(service)
    clock.advance(5 * 60)  # still in the email backlog
    service.resend_code(rid)  # 202, no second email
    service.resend_code(rid)
    assert len([j for j in store.outbox if j.registration_id == rid]) == 1
    code = sent_code(store, rid, clock)  # the queued email goes out with the same code
    assert service.verify_email(rid, code).registration_id == rid


def test_resend_of_a_code_email_queued_for_hours_issues_a_new_code(service, store, clock):
    rid = register(service)
    clock.advance(7 * 3600)  # presumed lost (parked in the DLQ)
    service.resend_code(rid)
    assert len([j for j in store.outbox if j.registration_id == rid]) == 2


def test_a_stale_code_is_never_stamped_sent(service, store, clock):
    rid = register(service)
    old_nonce = store.regs[rid].code_nonce
    sent_code(store, rid, clock)
    clock.advance(61)
    service.resend_code(rid)
    assert not store.mark_code_sent(rid, old_nonce, int(clock.now()))
    assert store.regs[rid].code_sent_at == 0  # the new code is queued


def test_verified_twice_is_conflict(service, store):
    rid = register(service)
    service.verify_email(rid, emailed_code(store, rid))
    with pytest.raises(errors.AlreadyVerified):
        service.verify_email(rid, emailed_code(store, rid))


def test_resend_cooldown_and_old_code_dies(service, store, clock):
    rid = register(service)
    old = sent_code(store, rid, clock)
    with pytest.raises(errors.ResendTooSoon) as exc:
        service.resend_code(rid)
    assert 1 <= int(exc.value.retry_after_s) <= 60
    clock.advance(60)
    service.resend_code(rid)
    new = emailed_code(store, rid)
    if new != old:
        with pytest.raises(errors.CodeMismatch):
            service.verify_email(rid, old)
    assert service.verify_email(rid, new).registration_id == rid


def test_resend_revives_a_dead_code(service, store, clock):
    rid = register(service)
    for _ in range(5):
        with pytest.raises(errors.CodeMismatch):
            service.verify_email(rid, "999999" if emailed_code(store, rid) != "999999" else "888888")
    sent_code(store, rid, clock)
    clock.advance(61)
    service.resend_code(rid)
    service.verify_email(rid, emailed_code(store, rid))


def test_at_most_five_resends_a_day(service, store, clock):
    rid = register(service)
    for _ in range(5):
        sent_code(store, rid, clock)
        clock.advance(61)
        service.resend_code(rid)
    sent_code(store, rid, clock)
    clock.advance(61)
    with pytest.raises(errors.ResendTooSoon) as exc:
        service.resend_code(rid)
    assert int(exc.value.retry_after_s) > 60


def test_login_same_answer_for_unknown_email_and_wrong_password(service, store):
    rid = register(service)
    service.verify_email(rid, emailed_code(store, rid))
    with pytest.raises(errors.InvalidCredentials) as a:
        service.create_session("nobody@example.com", "whatever1")
    with pytest.raises(errors.InvalidCredentials) as b:
        service.create_session(NEW.email, "wrong password")
    assert (a.value.slug, a.value.detail) == (b.value.slug, b.value.detail)


def test_login_requires_verified_email(service):
    register(service)
    with pytest.raises(errors.EmailNotVerified):
        service.create_session(NEW.email, NEW.password)


def test_repeated_login_failures_are_slowed_down(service, store, clock):
    rid = register(service)
    service.verify_email(rid, emailed_code(store, rid))
    for _ in range(5):
        with pytest.raises(errors.InvalidCredentials):
            service.create_session(NEW.email, "wrong password")
    with pytest.raises(errors.TooManyAttempts):
        service.create_session(NEW.email, NEW.password)
    clock.advance(15 * 60 + 1)
    assert service.create_session(NEW.email, NEW.password).registration_id == rid


def test_status_view_masks_email(service, store):
    rid = register(service)
    view = registration_body(service.get_registration(rid))
    assert view["email"] == "b***@example.com"
    assert view["status"] == "EMAIL_PENDING" and view["nik_status"] == "NONE" and view["batch_id"] is None
    assert view["created_at"].endswith("Z")


def test_unknown_registration_is_not_found(service):
    with pytest.raises(errors.NotFound):
        service.get_registration("0" * 32)
