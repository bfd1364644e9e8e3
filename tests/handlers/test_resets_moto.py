"""Password reset, sign-out, token revocation and the atomic attempt budgets: the real handlers and
adapters on moto. Parallel tests serialise each AWS call (as DynamoDB applies each conditional
write atomically) and hold every check a little, so the guesses really overlap."""

from __future__ import annotations

import json
import re
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any

import pytest

from infra.sandbox import FakeContext, Sandbox, api_event, load_handler, sandbox
from prakerja.domain import passwords, security
from tests.handlers.pipeline import Pipeline, body

PASSWORD = "password-123"
NEW_PASSWORD = "a brand new secret"


@pytest.fixture
def box() -> Iterator[Sandbox]:
    with sandbox() as b:
        yield b


def call(function: str, event: dict[str, Any]) -> dict[str, Any]:
    return load_handler(function)(event, FakeContext())  # type: ignore[no-any-return]


def post(function: str, path: str, payload: Any, token: str | None = None, rid: str | None = None) -> dict[str, Any]:
    resource = path.replace(rid, "{id}") if rid else path
    params = {"id": rid} if rid else None
    return call(function, api_event("POST", resource, path, body=payload, token=token, path_parameters=params))


def get_status(rid: str, token: str) -> dict[str, Any]:
    return call(
        "get_registration",
        api_event("GET", "/registrations/{id}", f"/registrations/{rid}", token=token, path_parameters={"id": rid}),
    )


def sign_out(token: str | None) -> dict[str, Any]:
    return call("delete_session", api_event("DELETE", "/sessions/current", "/sessions/current", token=token))


def login(email: str, password: str = PASSWORD) -> dict[str, Any]:
    return post("create_session", "/sessions", {"email": email, "password": password})


def codes_mailed(box: Sandbox, email: str) -> list[str]:
    pipe = Pipeline(box)
    pipe.settle()
    return [re.search(r"\b(\d{6})\b", m.body).group(1) for m in pipe.sent_emails(email)]  # type: ignore[union-attr]


def registered(box: Sandbox, *, verify: bool = True) -> tuple[str, str]:
    email = f"budi-{uuid.uuid4().hex[:8]}@example.com"
    person = {
        "email": email,
        "password": PASSWORD,
        "full_name": "Budi Santoso",
        "phone": "081234567890",
        "consent": {"terms_version": "2026-01", "accepted": True},
    }
    rid = body(post("register", "/registrations", person))["registration_id"]
    if verify:
        (code,) = codes_mailed(box, email)
        r = post("verify_email", f"/registrations/{rid}/email-verification", {"code": code}, rid=rid)
        assert r["statusCode"] == 200
    return rid, email


def reg_item(box: Sandbox, rid: str) -> dict[str, Any]:
    from prakerja.adapters.dynamo_codec import from_item
    from prakerja.adapters.keys import reg_key

    return from_item(box.client("dynamodb").get_item(TableName=box.env["TABLE_NAME"], Key=reg_key(rid))["Item"])


# -- password reset ---------------------------------------------------------------------------------
def test_reset_mails_a_code_sets_the_password_and_revokes_older_tokens(box):
    rid, email = registered(box)
    old_token = body(login(email))["access_token"]
    codes_before = codes_mailed(box, email)
    r = post("request_password_reset", "/password-resets", {"email": email})
    assert (r["statusCode"], body(r)) == (202, {})
    mails = codes_mailed(box, email)
    assert len(mails) == len(codes_before) + 1
    code = mails[-1]
    r = post(
        "confirm_password_reset",
        "/password-resets/confirm",
        {"email": email, "code": code, "new_password": NEW_PASSWORD},
    )
    assert r["statusCode"] == 200, r["body"]
    session = body(r)
    assert session["registration_id"] == rid and session["token_type"] == "Bearer" and session["expires_in"] > 0
    assert get_status(rid, old_token)["statusCode"] == 401
    assert get_status(rid, session["access_token"])["statusCode"] == 200
    assert login(email)["statusCode"] == 401
    assert login(email, NEW_PASSWORD)["statusCode"] == 200
    assert [e["e"] for e in reg_item(box, rid)["events"]][-1:] == ["password_reset"]


def test_reset_verifies_an_unverified_email(box):
    rid, email = registered(box, verify=False)
    post("request_password_reset", "/password-resets", {"email": email})
    code = codes_mailed(box, email)[-1]  # the reset code (the verification code came first)
    r = post(
        "confirm_password_reset",
        "/password-resets/confirm",
        {"email": email, "code": code, "new_password": NEW_PASSWORD},
    )
    assert r["statusCode"] == 200
    assert reg_item(box, rid)["email_verified"] is True
    assert body(get_status(rid, body(r)["access_token"]))["status"] == "EMAIL_VERIFIED"


def test_unknown_email_answers_like_a_known_one_and_mails_nothing(box):
    _, email = registered(box)
    shapes = []
    for address in (email, "nobody-here@example.com"):
        r = post("request_password_reset", "/password-resets", {"email": address})
        assert (r["statusCode"], body(r)) == (202, {})
        wrong = post(
            "confirm_password_reset",
            "/password-resets/confirm",
            {"email": address, "code": "000000", "new_password": NEW_PASSWORD},
        )
        b = body(wrong)
        shapes.append((wrong["statusCode"], b["type"], b["detail"], b["attempts_left"]))
    assert shapes[0] == shapes[1] == (400, "code-mismatch", "The code is not correct.", 4)
    assert codes_mailed(box, "nobody-here@example.com") == []


def test_confirm_without_a_pending_reset_is_400_and_bad_input_is_422(box):
    r = post(
        "confirm_password_reset",
        "/password-resets/confirm",
        {"email": "x@example.com", "code": "123456", "new_password": NEW_PASSWORD},
    )
    assert r["statusCode"] == 400 and body(r)["type"] == "code-mismatch" and body(r)["attempts_left"] == 0
    r = post(
        "confirm_password_reset",
        "/password-resets/confirm",
        {"email": "x@example.com", "code": "123456", "new_password": "short"},
    )
    assert r["statusCode"] == 422 and body(r)["errors"][0]["field"] == "new_password"
    r = post("request_password_reset", "/password-resets", {"email": "not-an-email"})
    assert r["statusCode"] == 422 and body(r)["errors"][0]["field"] == "email"


def test_a_second_request_within_a_minute_sends_nothing(box):
    _, email = registered(box)
    before = len(codes_mailed(box, email))
    for _ in range(3):
        assert post("request_password_reset", "/password-resets", {"email": email})["statusCode"] == 202
    assert len(codes_mailed(box, email)) == before + 1


# -- sign-out and revocation on every authenticated route --------------------------------------------
def test_sign_out_revokes_this_and_earlier_tokens_on_every_route(box):
    rid, email = registered(box)
    first = body(login(email))["access_token"]
    second = body(login(email))["access_token"]  # the same second as the sign-out below
    assert sign_out(second)["statusCode"] == 204
    for token in (first, second):
        assert get_status(rid, token)["statusCode"] == 401
        assert (
            post("upload_photo", f"/registrations/{rid}/photo", {"content_type": "image/jpeg"}, token, rid)[
                "statusCode"
            ]
            == 401
        )
        nik = {"nik": "3201012107900001", "full_name": "Budi Santoso", "birth_date": "1990-07-21", "gender": "M"}
        assert post("verify_nik", f"/registrations/{rid}/nik", nik, token, rid)["statusCode"] == 401
        assert post("join_batch", f"/registrations/{rid}/batch", {"batch_id": "b-1"}, token, rid)["statusCode"] == 401
        assert sign_out(token)["statusCode"] == 401
    after = body(login(email))["access_token"]
    assert get_status(rid, after)["statusCode"] == 200
    assert (
        post("upload_photo", f"/registrations/{rid}/photo", {"content_type": "image/jpeg"}, after, rid)["statusCode"]
        == 201
    )
    assert [e["e"] for e in reg_item(box, rid)["events"]][-1:] == ["signed_out"]


def test_sign_out_needs_a_valid_token(box):
    r = sign_out(None)
    assert r["statusCode"] == 401 and r["headers"]["Content-Type"] == "application/problem+json"
    assert sign_out("not.a.token")["statusCode"] == 401


# -- atomic attempt budgets, 40 in parallel -----------------------------------------------------------
@contextmanager
def atomic_calls() -> Iterator[Counter[str]]:
    """Each AWS call applied atomically (one at a time), like DynamoDB's per-item writes; counts them."""
    import botocore.client

    original = botocore.client.BaseClient._make_api_call
    lock = threading.Lock()
    calls: Counter[str] = Counter()

    def serialised(self: Any, operation: str, params: dict[str, Any]) -> Any:
        with lock:
            calls[f"{self.meta.service_model.service_name}:{operation}"] += 1
            return original(self, operation, params)

    botocore.client.BaseClient._make_api_call = serialised  # type: ignore[method-assign]
    try:
        yield calls
    finally:
        botocore.client.BaseClient._make_api_call = original  # type: ignore[method-assign]


class Counted:
    def __init__(self, real: Callable[..., Any]) -> None:
        self.real, self.calls, self._lock = real, 0, threading.Lock()

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        with self._lock:
            self.calls += 1
        time.sleep(0.005)
        return self.real(*args, **kwargs)


def fire(n: int, make: Callable[[int], dict[str, Any]], threads: int = 16) -> Counter[Any]:
    with ThreadPoolExecutor(threads) as pool:
        responses = list(pool.map(make, range(n)))
    return Counter((r["statusCode"], json.loads(r["body"] or "{}").get("type")) for r in responses)


def wrong(code: str, i: int) -> str:
    return f"{(int(code) + 1 + i) % 1_000_000:06d}"


def test_forty_parallel_code_guesses_check_at_most_five(box, monkeypatch):
    email = f"p-{uuid.uuid4().hex[:8]}@example.com"
    person = {
        "email": email,
        "password": PASSWORD,
        "full_name": "Budi Santoso",
        "phone": "081234567890",
        "consent": {"terms_version": "2026-01", "accepted": True},
    }
    rid = body(post("register", "/registrations", person))["registration_id"]
    (right,) = codes_mailed(box, email)
    checks = Counted(security.code_matches)
    monkeypatch.setattr(security, "code_matches", checks)
    path = f"/registrations/{rid}/email-verification"
    with atomic_calls():
        outcomes = fire(
            40, lambda i: post("verify_email", path, {"code": right if i == 39 else wrong(right, i)}, rid=rid)
        )
    assert checks.calls <= 5, outcomes
    assert outcomes[(429, "too-many-attempts")] >= 35, outcomes
    assert int(reg_item(box, rid)["code_attempts"]) == 5


def test_forty_wrong_passwords_sixteen_at_a_time_check_at_most_five(box, monkeypatch):
    _, email = registered(box)
    checks = Counted(passwords.verify_password)
    monkeypatch.setattr(passwords, "verify_password", checks)
    with atomic_calls():
        outcomes = fire(40, lambda i: login(email, f"wrong password {i}"))
    assert checks.calls <= 5, outcomes
    assert outcomes[(401, "invalid-credentials")] <= 5 and outcomes[(429, "too-many-attempts")] >= 35
    r = login(email)  # the right password after the budget is spent
    assert r["statusCode"] == 429 and int(r["headers"]["Retry-After"]) > 0


def test_forty_parallel_reset_guesses_check_at_most_five(box, monkeypatch):
    _, email = registered(box)
    post("request_password_reset", "/password-resets", {"email": email})
    right = codes_mailed(box, email)[-1]
    checks = Counted(security.reset_code_matches)
    monkeypatch.setattr(security, "reset_code_matches", checks)

    def guess(i: int) -> dict[str, Any]:
        code = right if i == 39 else wrong(right, i)
        return post(
            "confirm_password_reset",
            "/password-resets/confirm",
            {"email": email, "code": code, "new_password": NEW_PASSWORD},
        )

    with atomic_calls():
        outcomes = fire(40, guess)
    assert checks.calls <= 5, outcomes
    assert outcomes[(429, "too-many-attempts")] >= 35, outcomes


def test_nik_taken_answers_and_kms_calls_stay_within_the_daily_budget(box):
    owner_rid, owner_email = registered(box)
    owner_token = body(login(owner_email))["access_token"]
    nik = {"nik": "3201012107900001", "full_name": "Budi Santoso", "birth_date": "1990-07-21", "gender": "M"}
    assert post("verify_nik", f"/registrations/{owner_rid}/nik", nik, owner_token, owner_rid)["statusCode"] == 202
    rid, email = registered(box)
    token = body(login(email))["access_token"]

    def probe(i: int) -> dict[str, Any]:
        names = f"Nama {chr(65 + i % 26)}{chr(65 + i // 26)}"
        return post("verify_nik", f"/registrations/{rid}/nik", {**nik, "full_name": names}, token, rid)

    with atomic_calls() as calls:
        outcomes = fire(40, probe)
    assert outcomes[(409, "nik-taken")] <= 5, outcomes
    assert outcomes[(429, "too-many-attempts")] >= 35, outcomes
    assert calls["kms:Encrypt"] <= 5, calls
    assert int(reg_item(box, rid)["nik_day_count"]) == 5
