"""Issue 9 (accounts), domain level with in-memory fakes: consent, re-registering an unverified
email, expiry, sign-in before verification, the password policy, the personal-data export and
the deletion of a registration."""

from __future__ import annotations

import dataclasses
import threading

import pytest

from prakerja.adapters.stream import decode_record
from prakerja.domain import errors, passwords, security
from prakerja.domain.models import UNVERIFIED_TTL_S
from prakerja.domain.outbox import plan
from prakerja.domain.personal_data import PersonalDataService
from prakerja.domain.registration import NewRegistration, RegistrationService
from prakerja.http.views import personal_data_body
from tests.conftest import stream_record
from tests.fakes import KEYS, FakeClock, InMemoryRegistrationStore, LoginThrottle

NEW = NewRegistration(
    email="budi@example.com",
    password="correct horse",
    full_name="Budi Santoso",
    phone="+6281234567890",
    terms_version="2026-01",
)


@dataclasses.dataclass
class RecordingPhotos:
    deleted: list[str] = dataclasses.field(default_factory=list)

    def delete(self, key: str) -> None:
        self.deleted.append(key)


@pytest.fixture
def store(clock: FakeClock) -> InMemoryRegistrationStore:
    return InMemoryRegistrationStore(now=clock.now)


@pytest.fixture
def service(store: InMemoryRegistrationStore, clock: FakeClock) -> RegistrationService:
    return RegistrationService(store, KEYS, clock, scrypt_n=2**10, token_ttl_s=3600)


@pytest.fixture
def photos() -> RecordingPhotos:
    return RecordingPhotos()


@pytest.fixture
def accounts(store: InMemoryRegistrationStore, photos: RecordingPhotos) -> PersonalDataService:
    return PersonalDataService(store, photos)


def register(service: RegistrationService, new: NewRegistration = NEW) -> str:
    return service.register(new, idempotency_key=None, body_hash="h").registration_id


def emailed_code(store: InMemoryRegistrationStore, rid: str) -> str:
    job = [j for j in store.outbox if j.registration_id == rid][-1]
    return security.verification_code(KEYS.code, rid, job.payload["nonce"])


# -- consent, events, expiry ------------------------------------------------------------------------
def test_consent_is_stored_with_the_time_of_acceptance_and_registered_event(service, store, clock):
    rid = register(service)
    reg = store.regs[rid]
    assert reg.consent is not None
    assert (reg.consent.terms_version, reg.consent.accepted_at) == ("2026-01", int(clock.now()))
    assert [(e.name, e.at) for e in reg.events] == [("registered", int(clock.now()))]
    assert reg.expires_at == int(clock.now()) + UNVERIFIED_TTL_S
    assert store.claims_by_email[NEW.email].expires_at == reg.expires_at


def test_verification_appends_its_event_and_stops_the_expiry(service, store, clock):
    rid = register(service)
    clock.advance(30)
    service.verify_email(rid, emailed_code(store, rid))
    reg = store.regs[rid]
    assert [e.name for e in reg.events] == ["registered", "email_verified"]
    assert reg.events[-1].at == int(clock.now())
    assert reg.expires_at is None
    claim = store.claims_by_email[NEW.email]
    assert claim.verified is True and claim.expires_at is None
    clock.advance(UNVERIFIED_TTL_S * 2)
    assert service.get_registration(rid).email_verified


def test_an_expired_unverified_registration_is_absent_before_ttl_deletion(service, store, clock):
    rid = register(service)
    code = emailed_code(store, rid)
    clock.advance(UNVERIFIED_TTL_S)
    assert rid in store.regs  # not deleted yet (TTL deletion lags) ...
    with pytest.raises(errors.NotFound):  # ... but treated as absent
        service.get_registration(rid)
    with pytest.raises(errors.NotFound):
        service.verify_email(rid, code)
    with pytest.raises(errors.InvalidCredentials):
        service.create_session(NEW.email, NEW.password)
    again = register(service)  # and the email is free again
    assert again != rid and rid not in store.regs


# -- sign-in before verification ----------------------------------------------------------------
def test_sign_in_before_verification_names_the_registration(service):
    rid = register(service)
    with pytest.raises(errors.EmailNotVerified) as exc:
        service.create_session(NEW.email, NEW.password)
    assert exc.value.extra == {"registration_id": rid}


def test_sign_in_before_verification_with_a_wrong_password_reveals_nothing(service):
    register(service)
    with pytest.raises(errors.InvalidCredentials) as exc:
        service.create_session(NEW.email, "not the password")
    assert "registration_id" not in exc.value.extra


# -- re-registering an unverified email -----------------------------------------------------------
def test_unverified_email_can_be_registered_again_and_the_old_registration_is_gone(service, store, clock):
    old = register(service)
    old_code = emailed_code(store, old)
    clock.advance(61)
    new = register(service, dataclasses.replace(NEW, full_name="Budi Baru", password="another secret 9"))
    assert new != old
    assert old not in store.regs and store.claims_by_email[NEW.email].registration_id == new
    for call in (
        lambda: service.get_registration(old),
        lambda: service.verify_email(old, old_code),
        lambda: service.resend_code(old),
    ):
        with pytest.raises(errors.NotFound):
            call()
    # the new registration has its own code; the old password no longer signs in
    service.verify_email(new, emailed_code(store, new))
    with pytest.raises(errors.InvalidCredentials):
        service.create_session(NEW.email, NEW.password)
    assert service.create_session(NEW.email, "another secret 9").registration_id == new


def test_registering_again_within_a_minute_is_resend_too_soon(service, clock):
    register(service)
    clock.advance(20)
    with pytest.raises(errors.ResendTooSoon) as exc:
        register(service)
    assert exc.value.retry_after_s == 40


def test_code_emails_per_address_are_limited_across_registrations(service, store, clock):
    """1 code email on the first registration, then at most 5 more a UTC day, whether by resend
    or by registering again: counters live on the email claim and survive replacement."""
    rid = register(service)
    for i in range(5):
        # the sender hands each code email to SES at once (a resend while it is queued sends nothing)
        assert store.mark_code_sent(rid, store.regs[rid].code_nonce, int(clock.now()))
        clock.advance(61)
        if i % 2:
            service.resend_code(rid)
        else:
            rid = register(service)
    assert store.claims_by_email[NEW.email].code_count == 5
    clock.advance(61)
    with pytest.raises(errors.ResendTooSoon) as exc:
        register(service)
    assert exc.value.retry_after_s > 60
    assert store.mark_code_sent(rid, store.regs[rid].code_nonce, int(clock.now()) - 61)  # sent long ago
    with pytest.raises(errors.ResendTooSoon):  # the daily limit of the address
        service.resend_code(rid)
    clock.advance(exc.value.retry_after_s)  # next UTC day
    assert register(service) != rid


def test_a_verified_email_is_taken_even_for_an_old_claim_without_the_flag(service, store, clock):
    rid = register(service)
    service.verify_email(rid, emailed_code(store, rid))
    claim = store.claims_by_email[NEW.email]
    store.claims_by_email[NEW.email] = dataclasses.replace(claim, verified=None)  # written before the flag
    clock.advance(61)
    with pytest.raises(errors.EmailTaken):
        register(service)


def test_two_takeovers_of_one_unverified_email_at_once_leave_one_live_registration(service, store, clock):
    first = register(service)
    clock.advance(61)
    barrier = threading.Barrier(2)
    reads = iter(range(2))

    def both_read_first() -> None:  # both requests read the same claim before either writes
        if next(reads, None) is not None:
            barrier.wait(timeout=5)

    store.after_claim_read = both_read_first
    results: list[str] = []

    def attempt() -> None:
        try:
            results.append(register(service))
        except errors.ResendTooSoon:
            results.append("too-soon")
        except threading.BrokenBarrierError:
            results.append("broken")

    threads = [threading.Thread(target=attempt) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    store.after_claim_read = None
    winners = [r for r in results if r != "too-soon"]
    assert len(winners) == 1 and results.count("too-soon") == 1, results
    assert first not in store.regs and list(store.regs) == winners
    assert store.claims_by_email[NEW.email].registration_id == winners[0]


# -- password policy ----------------------------------------------------------------------------------
@pytest.mark.parametrize("password", ["12345678", "password", "qwertyuiop", "PassWord", "iloveyou", "sunshine"])
def test_common_passwords_are_refused_naming_password(service, password):
    with pytest.raises(errors.ValidationFailed) as exc:
        register(service, dataclasses.replace(NEW, password=password))
    assert [e.field for e in exc.value.errors] == ["password"]
    assert exc.value.errors[0].message == passwords.TOO_COMMON


@pytest.mark.parametrize(
    ("email", "password", "refused"),
    [
        ("budi@example.com", "my-BUDI-secret", True),
        ("budi.santoso@example.com", "xxbudi.santosoxx", True),
        ("budi.santoso@example.com", "budi-santoso-x", False),  # contains "budi" only, not the local part
        ("bo@example.com", "bo-bo-rahasia", False),  # local parts under 3 characters are not checked
    ],
)
def test_passwords_containing_the_email_local_part_are_refused(email, password, refused):
    problem = passwords.password_problem(password, email)
    assert (problem == passwords.CONTAINS_EMAIL) is refused


@pytest.mark.parametrize(("length", "ok"), [(7, False), (8, True), (128, True), (129, False)])
def test_password_length_is_8_to_128(length, ok):
    password = ("Zq7!" * 40)[:length]
    assert (passwords.password_problem(password, "budi@example.com") is None) is ok


def test_the_common_password_list_is_shipped_and_loaded_lazily():
    passwords.common_passwords.cache_clear()
    assert passwords.common_passwords.cache_info().currsize == 0
    assert passwords.password_problem("Zq7!Zq7!x", "budi@example.com") is None
    common = passwords.common_passwords()
    assert len(common) >= 10_000 and {"12345678", "password", "qwertyuiop"} <= common
    assert all(8 <= len(p) <= 128 and p == p.lower() for p in common)


def test_password_hash_is_salted_and_verifies():
    a = passwords.hash_password("s3cret-pass", n=2**10)
    b = passwords.hash_password("s3cret-pass", n=2**10)
    assert a != b
    assert passwords.verify_password("s3cret-pass", a)
    assert not passwords.verify_password("s3cret-pasS", a)
    assert not passwords.verify_password("x", "garbage")


# -- personal data --------------------------------------------------------------------------------------
def joined(store: InMemoryRegistrationStore, service: RegistrationService, clock: FakeClock) -> str:
    """A registration that went the whole way (NIK verified, photo accepted, seat taken)."""
    rid = register(service)
    service.verify_email(rid, emailed_code(store, rid))
    reg = store.regs[rid]
    reg.nik_status, reg.nik_fp, reg.nik_masked, reg.nik_seq = "VERIFIED", "fp1", "3201**********01", 1
    reg.photo_status, reg.photo_key, reg.photo_upload_key = "ACCEPTED", f"uploads/{rid}/a", f"uploads/{rid}/a"
    reg.batch_id, reg.seat_shard = "b1", 2
    store.nik_claims["fp1"] = rid
    store.seats_taken[("b1", 2)] = 3
    store.throttles[security.sha256_hex(NEW.email)] = LoginThrottle(1, int(clock.now()))
    return rid


def test_personal_data_lists_every_field_and_the_processing_history(service, store, clock, accounts):
    rid = joined(store, service, clock)
    body = personal_data_body(accounts.get_personal_data(rid))
    assert body["email"] == NEW.email and body["phone"] == NEW.phone and body["full_name"] == NEW.full_name
    assert body["consent"] == {"terms_version": "2026-01", "accepted": True, "accepted_at": "2026-01-01T00:00:00Z"}
    assert body["created_at"] == "2026-01-01T00:00:00Z"
    assert body["nik"] == {"masked": "3201**********01", "status": "VERIFIED", "reason": None}
    assert body["photo"]["status"] == "ACCEPTED" and body["batch"] == {"batch_id": "b1"}
    assert [p["event"] for p in body["processing"]] == ["registered", "email_verified"]
    assert all(p["at"].endswith("Z") for p in body["processing"])
    assert "password_hash" not in body and "nik_fp" not in body


def test_personal_data_of_an_unknown_registration_is_not_found(accounts):
    with pytest.raises(errors.NotFound):
        accounts.get_personal_data("0" * 32)


# -- deletion -------------------------------------------------------------------------------------------
def test_deletion_needs_the_password(service, store, clock, accounts, photos):
    rid = joined(store, service, clock)
    with pytest.raises(errors.InvalidCredentials):
        accounts.delete_registration(rid, "wrong password")
    assert rid in store.regs and photos.deleted == []


def test_deletion_removes_every_item_keyed_by_personal_data_and_gives_the_seat_back(
    service, store, clock, accounts, photos
):
    rid = joined(store, service, clock)
    accounts.delete_registration(rid, NEW.password)
    assert rid not in store.regs and NEW.email not in store.claims_by_email
    assert "fp1" not in store.nik_claims and store.seats_taken[("b1", 2)] == 2
    assert security.sha256_hex(NEW.email) not in store.throttles
    assert photos.deleted == [f"uploads/{rid}/a"]
    with pytest.raises(errors.NotFound):
        accounts.get_personal_data(rid)
    with pytest.raises(errors.InvalidCredentials):
        service.create_session(NEW.email, NEW.password)
    assert register(service) != rid  # the email is free again


def test_deletion_retries_from_a_fresh_read_when_the_registration_changed(service, store, clock, accounts, photos):
    rid = joined(store, service, clock)
    real = store.delete_registration
    calls = []

    def changed_once(reg):  # a new photo upload lands between the read and the delete
        calls.append(reg.photo_upload_key)
        if len(calls) == 1:
            store.regs[rid].photo_upload_key = f"uploads/{rid}/b"
        return real(reg)

    store.delete_registration = changed_once  # type: ignore[method-assign]
    accounts.delete_registration(rid, NEW.password)
    assert calls == [f"uploads/{rid}/a", f"uploads/{rid}/b"]
    assert set(photos.deleted) == {f"uploads/{rid}/a", f"uploads/{rid}/b"} and rid not in store.regs


def test_a_rejected_nik_claim_now_held_by_someone_else_is_left_alone(service, store, clock, accounts):
    rid = joined(store, service, clock)
    store.regs[rid].nik_status = "REJECTED"
    store.nik_claims["fp1"] = "someone-else"
    accounts.delete_registration(rid, NEW.password)
    assert store.nik_claims["fp1"] == "someone-else"


def test_the_funnel_does_not_count_down_when_a_registration_is_removed():
    record = stream_record(
        "REMOVE", None, {"pk": "REG#" + "a" * 32, "sk": "REG", "email_verified": True, "batch_id": "b1"}
    )
    change = decode_record(record)
    assert change.registration is None and change.outbox is None
    assert plan([change]).increments == []


def test_a_retried_registration_write_is_not_refused_by_itself(service, store):
    """The client library retries a write after a timeout; the first attempt had gone through."""
    real = store.create

    def applied_then_timed_out(reg, job, record, expires_at):
        real(reg, job, record, expires_at)
        return real(reg, job, record, expires_at)  # the retry meets its own claim

    store.create = applied_then_timed_out  # type: ignore[method-assign]
    rid = register(service)
    assert store.claims_by_email[NEW.email].registration_id == rid and list(store.regs) == [rid]


def test_a_verification_whose_write_went_through_unseen_still_gets_its_session(service, store):
    rid = register(service)
    code = emailed_code(store, rid)
    real = store.mark_email_verified

    def applied_then_timed_out(*args):
        real(*args)
        return real(*args)  # the retry finds the email verified already

    store.mark_email_verified = applied_then_timed_out  # type: ignore[method-assign]
    assert service.verify_email(rid, code).registration_id == rid
    store.mark_email_verified = real  # type: ignore[method-assign]
    with pytest.raises(errors.AlreadyVerified):  # a later attempt is the usual 409
        service.verify_email(rid, code)


def test_a_takeover_is_not_counted_as_a_second_registration_but_its_progress_is():
    new = {"pk": "REG#" + "b" * 32, "sk": "REG", "email_verified": False, "takeover": True}
    inserted = decode_record(stream_record("INSERT", new))
    assert plan([inserted]).increments == []
    verified = decode_record(stream_record("MODIFY", {**new, "email_verified": True}, new))
    assert [step for _, _, step in plan([verified]).increments] == ["email_verified"]
    fresh = decode_record(stream_record("INSERT", {**new, "takeover": None}))
    assert [step for _, _, step in plan([fresh]).increments] == ["registered"]
