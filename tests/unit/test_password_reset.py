"""Password reset and sign-out (issue 9), with in-memory fakes."""

from __future__ import annotations

import pytest

from prakerja.domain import errors, security
from prakerja.domain.models import Registration
from prakerja.domain.password_reset import PasswordResetService
from prakerja.domain.registration import NewRegistration, RegistrationService
from prakerja.domain.sessions import SessionService, ensure_current
from tests.fakes import KEYS, FakeClock, InMemoryResetStore

NEW = NewRegistration(email="budi@example.com", password="correct horse", full_name="Budi", phone="+6281234567890")
NEW_PASSWORD = "a brand new secret"


class World:
    def __init__(self) -> None:
        self.clock, self.store = FakeClock(), InMemoryResetStore()
        self.regs = RegistrationService(self.store, KEYS, self.clock, scrypt_n=2**10, token_ttl_s=3600)
        self.resets = PasswordResetService(self.store, KEYS, self.clock, scrypt_n=2**10, token_ttl_s=3600)
        self.sessions = SessionService(self.store, self.clock)

    def registered(self, *, verified: bool = True) -> str:
        rid = self.regs.register(NEW, idempotency_key=None, body_hash="h").registration_id
        if verified:
            code = security.verification_code(KEYS.code, rid, self.store.regs[rid].code_nonce)
            self.regs.verify_email(rid, code)
        return rid

    def reset_code(self, rid: str) -> str:
        job = [j for j in self.store.outbox if j.payload.get("template") == "reset_code"][-1]
        assert job.registration_id == rid
        return security.reset_code(KEYS.code, rid, job.payload["nonce"])

    def reg(self, rid: str) -> Registration:
        return self.store.regs[rid]

    def claims(self, token: str) -> security.TokenClaims:
        claims = security.verify_token(KEYS.token, token, now=int(self.clock.now()))
        assert claims is not None
        return claims


@pytest.fixture
def w() -> World:
    return World()


def reset_jobs(w: World) -> int:
    return sum(1 for j in w.store.outbox if j.payload.get("template") == "reset_code")


def test_reset_sets_new_password_and_answers_a_session(w):
    rid = w.registered()
    assert w.resets.request_password_reset(NEW.email)
    session = w.resets.confirm_password_reset(NEW.email, w.reset_code(rid), NEW_PASSWORD)
    assert session.registration_id == rid and w.claims(session.access_token).registration_id == rid
    with pytest.raises(errors.InvalidCredentials):
        w.regs.create_session(NEW.email, NEW.password)
    assert w.regs.create_session(NEW.email, NEW_PASSWORD).registration_id == rid
    assert ("password_reset", int(w.clock.now())) in w.store.events[rid]


def test_reset_revokes_every_earlier_token_but_not_its_own(w):
    rid = w.registered()
    old = w.regs.create_session(NEW.email, NEW.password)
    w.resets.request_password_reset(NEW.email)
    new = w.resets.confirm_password_reset(NEW.email, w.reset_code(rid), NEW_PASSWORD)  # same second
    with pytest.raises(errors.Unauthorized):
        ensure_current(w.reg(rid), w.claims(old.access_token).generation)
    ensure_current(w.reg(rid), w.claims(new.access_token).generation)


def test_reset_verifies_an_unverified_email(w):
    rid = w.registered(verified=False)
    w.resets.request_password_reset(NEW.email)
    w.resets.confirm_password_reset(NEW.email, w.reset_code(rid), NEW_PASSWORD)
    assert w.reg(rid).email_verified
    assert [e for e, _ in w.store.events[rid]] == ["email_verified", "password_reset"]
    assert w.regs.create_session(NEW.email, NEW_PASSWORD).registration_id == rid


def test_unknown_email_gets_the_same_answers_and_no_email(w):
    w.registered()
    assert w.resets.request_password_reset("nobody@example.com")  # a phantom reset: no job
    assert reset_jobs(w) == 0
    answers = []
    for email in ("nobody@example.com", NEW.email):
        w.resets.request_password_reset(email)
        with pytest.raises(errors.CodeMismatch) as exc:
            w.resets.confirm_password_reset(email, "000000", NEW_PASSWORD)
        answers.append((exc.value.slug, exc.value.detail, exc.value.extra))
    assert answers[0] == answers[1] == ("code-mismatch", "The code is not correct.", {"attempts_left": 4})


def test_no_pending_reset_is_a_code_mismatch_with_no_attempts_left(w):
    w.registered()
    for email in ("nobody@example.com", NEW.email):
        with pytest.raises(errors.CodeMismatch) as exc:
            w.resets.confirm_password_reset(email, "123456", NEW_PASSWORD)
        assert exc.value.extra == {"attempts_left": 0}


def test_wrong_codes_count_down_then_lock_even_the_right_code(w):
    rid = w.registered()
    w.resets.request_password_reset(NEW.email)
    right = w.reset_code(rid)
    wrong = f"{(int(right) + 1) % 1_000_000:06d}"
    for left in (4, 3, 2, 1, 0):
        with pytest.raises(errors.CodeMismatch) as exc:
            w.resets.confirm_password_reset(NEW.email, wrong, NEW_PASSWORD)
        assert exc.value.extra["attempts_left"] == left
    with pytest.raises(errors.TooManyAttempts):
        w.resets.confirm_password_reset(NEW.email, right, NEW_PASSWORD)
    assert w.regs.create_session(NEW.email, NEW.password).registration_id == rid  # unchanged


def test_code_expires_after_15_minutes(w):
    rid = w.registered()
    w.resets.request_password_reset(NEW.email)
    w.clock.advance(15 * 60 + 1)
    with pytest.raises(errors.CodeExpired):
        w.resets.confirm_password_reset(NEW.email, w.reset_code(rid), NEW_PASSWORD)


def test_code_is_single_use(w):
    rid = w.registered()
    w.resets.request_password_reset(NEW.email)
    code = w.reset_code(rid)
    w.resets.confirm_password_reset(NEW.email, code, NEW_PASSWORD)
    with pytest.raises(errors.CodeMismatch):
        w.resets.confirm_password_reset(NEW.email, code, "yet another secret")


def test_emails_are_sixty_seconds_apart_and_five_a_day(w):
    rid = w.registered()
    assert w.resets.request_password_reset(NEW.email)
    first = w.reset_code(rid)
    assert not w.resets.request_password_reset(NEW.email)  # too soon: nothing sent, code unchanged
    assert reset_jobs(w) == 1 and w.reset_code(rid) == first
    for _ in range(4):
        w.clock.advance(61)
        assert w.resets.request_password_reset(NEW.email)
    w.clock.advance(61)
    assert not w.resets.request_password_reset(NEW.email)  # the sixth of the day
    assert reset_jobs(w) == 5
    w.clock.advance(24 * 3600)
    assert w.resets.request_password_reset(NEW.email)


def test_a_new_request_kills_the_old_code(w):
    rid = w.registered()
    w.resets.request_password_reset(NEW.email)
    old = w.reset_code(rid)
    w.clock.advance(61)
    w.resets.request_password_reset(NEW.email)
    with pytest.raises(errors.CodeMismatch):
        w.resets.confirm_password_reset(NEW.email, old, NEW_PASSWORD)
    w.resets.confirm_password_reset(NEW.email, w.reset_code(rid), NEW_PASSWORD)


def test_new_password_goes_through_the_policy_before_any_attempt(w):
    rid = w.registered()
    w.resets.request_password_reset(NEW.email)
    with pytest.raises(errors.ValidationFailed) as exc:
        w.resets.confirm_password_reset(NEW.email, w.reset_code(rid), "short")
    assert exc.value.errors[0].field == "new_password"
    assert w.store.resets[security.sha256_hex(NEW.email)].attempts == 0


def test_reset_code_is_not_a_verification_code(w):
    rid = w.registered(verified=False)
    w.resets.request_password_reset(NEW.email)
    verify = security.verification_code(KEYS.code, rid, w.store.outbox[-1].payload["nonce"])
    assert verify != w.reset_code(rid)


def test_reset_releases_a_locked_sign_in(w):
    rid = w.registered()
    for _ in range(5):
        with pytest.raises(errors.InvalidCredentials):
            w.regs.create_session(NEW.email, "wrong password")
    w.resets.request_password_reset(NEW.email)
    w.resets.confirm_password_reset(NEW.email, w.reset_code(rid), NEW_PASSWORD)
    assert w.regs.create_session(NEW.email, NEW_PASSWORD).registration_id == rid


# -- sign-out ---------------------------------------------------------------------------------------
def test_sign_out_revokes_this_and_earlier_tokens_only(w):
    rid = w.registered()
    first = w.regs.create_session(NEW.email, NEW.password)
    second = w.regs.create_session(NEW.email, NEW.password)  # the same second
    w.sessions.sign_out(rid, w.claims(second.access_token).generation)
    for token in (first, second):
        with pytest.raises(errors.Unauthorized):
            ensure_current(w.reg(rid), w.claims(token.access_token).generation)
    after = w.regs.create_session(NEW.email, NEW.password)  # still the same second
    ensure_current(w.reg(rid), w.claims(after.access_token).generation)
    assert [e for e, _ in w.store.events[rid]] == ["signed_out"]


def test_signing_out_twice_with_one_token_is_401(w):
    rid = w.registered()
    token = w.regs.create_session(NEW.email, NEW.password)
    w.sessions.sign_out(rid, w.claims(token.access_token).generation)
    with pytest.raises(errors.Unauthorized):
        w.sessions.sign_out(rid, w.claims(token.access_token).generation)


def test_sign_in_that_read_before_a_reset_gets_a_revoked_token(w):
    """The race: the login's reservation read the old state, then the reset committed."""
    rid = w.registered()
    grant = w.store.reserve_login(rid, security.sha256_hex(NEW.email), int(w.clock.now()), 900, 5)
    assert grant.registration is not None
    w.resets.request_password_reset(NEW.email)
    w.resets.confirm_password_reset(NEW.email, w.reset_code(rid), NEW_PASSWORD)
    racing = security.issue_token(
        KEYS.token, rid, now=int(w.clock.now()), ttl_s=60, generation=grant.registration.token_gen
    )
    with pytest.raises(errors.Unauthorized):
        ensure_current(w.reg(rid), w.claims(racing).generation)


def test_tokens_without_a_generation_claim_are_generation_zero(w):
    rid = w.registered()
    import base64
    import hashlib
    import hmac
    import json

    def b64(raw: bytes) -> str:
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()

    kid = security.as_ring(KEYS.token).current.kid  # a token before `gen`: the kid header, no gen claim
    header = b64(json.dumps({"alg": "HS256", "typ": "JWT", "kid": kid}, separators=(",", ":")).encode())
    now = int(w.clock.now())
    body = b64(json.dumps({"iss": "prakerja", "sub": rid, "iat": now, "exp": now + 60}, separators=(",", ":")).encode())
    sig = b64(hmac.new(KEYS.token, f"{header}.{body}".encode(), hashlib.sha256).digest())
    claims = w.claims(f"{header}.{body}.{sig}")
    assert claims.generation == 0
    ensure_current(w.reg(rid), claims.generation)
    w.sessions.sign_out(rid, 0)
    with pytest.raises(errors.Unauthorized):
        ensure_current(w.reg(rid), claims.generation)


def test_reset_email_is_indonesian_first_with_the_code(w):
    from prakerja.domain.mail import render

    rid = w.registered()
    w.resets.request_password_reset(NEW.email)
    job = w.store.outbox[-1]
    email = render(w.reg(rid), "reset_code", job.payload, KEYS.code)
    assert email is not None and email.to == NEW.email
    code = w.reset_code(rid)
    assert email.text.count(code) == 2
    assert email.text.index("Kode untuk mengatur ulang") < email.text.index("Your password reset code")
    assert email.subject.startswith("Kode atur ulang kata sandi")
