"""Password reset, sign-out and the attempt budgets over HTTP against the real local stack:
the routes of docs/API.md, the races (reset confirm vs a login), 40 guesses fired in parallel."""

from __future__ import annotations

import concurrent.futures as cf
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest
import requests

from tests.e2e.client import CODE, Api, assert_problem

pytestmark = pytest.mark.e2e

NEW_PASSWORD = "kata-sandi-baru-456"


def reset_code(api: Api, email: str, count: int = 1) -> str:
    messages = [m for m in api.wait_mail(email, count + 1) if "atur ulang" in m["subject"].lower()]
    assert len(messages) >= count, f"expected {count} reset emails, got {len(messages)}"
    match = CODE.search(messages[-1]["text"])
    assert match, "no 6-digit code in the email"
    return match.group(1)


def request_reset(api: Api, email: str) -> None:
    r = api.call("POST", "/password-resets", json={"email": email})
    assert r.status_code == 202 and r.json() == {}, r.text


def confirm(api: Api, email: str, code: str, new_password: str = NEW_PASSWORD) -> requests.Response:
    return api.call(
        "POST", "/password-resets/confirm", json={"email": email, "code": code, "new_password": new_password}
    )


def login(api: Api, email: str, password: str) -> requests.Response:
    return api.call("POST", "/sessions", json={"email": email, "password": password})


def sign_out(api: Api, token: str) -> requests.Response:
    return api.call("DELETE", "/sessions/current", token=token)


def fire(n: int, make: Callable[[int], requests.Response], threads: int = 16) -> Counter[tuple[int, Any]]:
    """n requests, `threads` at a time; (status, problem type) counts."""

    def one(i: int) -> tuple[int, Any]:
        r = make(i)
        body = r.json() if r.content else {}
        return r.status_code, body.get("type")

    with cf.ThreadPoolExecutor(threads) as pool:
        return Counter(pool.map(one, range(n)))


def wrong(code: str, i: int) -> str:
    return f"{(int(code) + 1 + i) % 1_000_000:06d}"


# -- password reset ---------------------------------------------------------------------------------
def test_reset_flow_new_password_new_session_old_tokens_revoked(api: Api):
    person, rid, old_token = api.verified_person()
    email = person["email"]
    request_reset(api, email)
    r = confirm(api, email, reset_code(api, email))
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["registration_id"] == rid and body["token_type"] == "Bearer" and body["expires_in"] > 0
    assert_problem(api.call("GET", f"/registrations/{rid}", token=old_token), 401, "unauthorized")
    assert api.status(rid, body["access_token"])["registration_id"] == rid
    assert_problem(login(api, email, person["password"]), 401, "invalid-credentials")
    assert login(api, email, NEW_PASSWORD).status_code == 200
    assert_problem(confirm(api, email, reset_code(api, email)), 400, "code-mismatch")  # single use


def test_reset_of_an_unverified_email_verifies_it(api: Api):
    person = api.new_person()
    rid = api.register(person).json()["registration_id"]
    api.latest_code(person["email"])  # the verification email came first
    request_reset(api, person["email"])
    r = confirm(api, person["email"], reset_code(api, person["email"]))
    assert r.status_code == 200, r.text
    assert api.status(rid, r.json()["access_token"])["email_verified"] is True


def test_unknown_email_is_answered_like_a_known_one(api: Api):
    person, _, _ = api.verified_person()
    ghost = api.new_person()["email"]
    shapes = []
    for email in (person["email"], ghost):
        request_reset(api, email)
        body = assert_problem(confirm(api, email, "000000"), 400, "code-mismatch")
        shapes.append((body["detail"], body["attempts_left"], sorted(body)))
    assert shapes[0] == shapes[1]
    assert api.wait_mail(ghost, 1, timeout_s=2) == []
    never = assert_problem(confirm(api, api.new_person()["email"], "123456"), 400, "code-mismatch")
    assert never["attempts_left"] == 0


def test_reset_errors(api: Api):
    person, _, _ = api.verified_person()
    email = person["email"]
    request_reset(api, email)
    right = reset_code(api, email)
    body = assert_problem(confirm(api, email, right, "short"), 422, "validation-error")
    assert body["errors"][0]["field"] == "new_password"
    assert_problem(api.call("POST", "/password-resets", json={"email": "nope"}), 422, "validation-error")
    assert_problem(api.call("POST", "/password-resets/confirm", json={"email": email}), 422, "validation-error")
    for left in (4, 3, 2, 1, 0):
        assert assert_problem(confirm(api, email, wrong(right, left)), 400, "code-mismatch")["attempts_left"] == left
    assert_problem(confirm(api, email, right), 429, "too-many-attempts")  # right, but after the budget
    request_reset(api, email)  # within 60 s: still 202, but nothing is sent and the code stays dead
    assert len([m for m in api.mailbox(email) if "atur ulang" in m["subject"].lower()]) == 1


# -- sign-out ---------------------------------------------------------------------------------------
def test_sign_out_revokes_this_and_every_earlier_token(api: Api):
    person, rid, verify_token = api.verified_person()
    token = login(api, person["email"], person["password"]).json()["access_token"]  # likely the same second
    r = sign_out(api, token)
    assert r.status_code == 204 and r.content == b""
    for old in (verify_token, token):
        assert_problem(api.call("GET", f"/registrations/{rid}", token=old), 401, "unauthorized")
        assert_problem(
            api.call("POST", f"/registrations/{rid}/photo", json={"content_type": "image/jpeg"}, token=old), 401
        )
        assert_problem(sign_out(api, old), 401, "unauthorized")
    fresh = login(api, person["email"], person["password"]).json()["access_token"]
    assert api.status(rid, fresh)["registration_id"] == rid
    assert_problem(api.call("DELETE", "/sessions/current"), 401, "unauthorized")


# -- races ------------------------------------------------------------------------------------------
def test_reset_confirm_racing_a_login(api: Api):
    """The login either wins with the old password before the reset (and its token is revoked by
    the reset) or loses after it; the reset's own token works; only the new password works after."""
    outcomes = Counter()
    for _ in range(6):
        person, rid, _ = api.verified_person()
        email = person["email"]
        request_reset(api, email)
        code = reset_code(api, email)
        with cf.ThreadPoolExecutor(2) as pool:
            racing_login = pool.submit(login, api, email, person["password"])
            reset = pool.submit(confirm, api, email, code)
            lr, rr = racing_login.result(), reset.result()
        assert rr.status_code == 200, rr.text
        assert lr.status_code in (200, 401), lr.text
        outcomes[lr.status_code] += 1
        if lr.status_code == 200:
            assert_problem(api.call("GET", f"/registrations/{rid}", token=lr.json()["access_token"]), 401)
        assert api.status(rid, rr.json()["access_token"])["registration_id"] == rid
        assert_problem(login(api, email, person["password"]), 401, "invalid-credentials")
        assert login(api, email, NEW_PASSWORD).status_code == 200
    assert sum(outcomes.values()) == 6


# -- attempt budgets under 40 parallel requests ------------------------------------------------------
def test_forty_parallel_code_guesses_check_at_most_five(api: Api):
    person = api.new_person()
    rid = api.register(person).json()["registration_id"]
    right = api.latest_code(person["email"])
    path = f"/registrations/{rid}/email-verification"
    outcomes = fire(40, lambda i: api.call("POST", path, json={"code": right if i == 39 else wrong(right, i)}))
    checked = sum(n for (status, _), n in outcomes.items() if status != 429)
    assert checked <= 5, outcomes
    assert outcomes[(429, "too-many-attempts")] >= 35, outcomes
    assert_problem(api.call("POST", path, json={"code": right}), 429, "too-many-attempts")


def test_forty_wrong_passwords_sixteen_at_a_time_check_at_most_five(api: Api):
    person, _, _ = api.verified_person()
    email = person["email"]
    outcomes = fire(40, lambda i: login(api, email, f"salah-{i:02d}-password"))
    assert outcomes[(401, "invalid-credentials")] <= 5, outcomes
    assert outcomes[(429, "too-many-attempts")] >= 35, outcomes
    refused = assert_problem(login(api, email, person["password"]), 429, "too-many-attempts")
    assert refused["detail"]


def test_forty_parallel_reset_guesses_check_at_most_five(api: Api):
    person, _, _ = api.verified_person()
    email = person["email"]
    request_reset(api, email)
    right = reset_code(api, email)
    outcomes = fire(40, lambda i: confirm(api, email, right if i == 39 else wrong(right, i)))
    checked = sum(n for (status, _), n in outcomes.items() if status != 429)
    assert checked <= 5, outcomes
    assert outcomes[(429, "too-many-attempts")] >= 35, outcomes


def test_nik_taken_is_no_oracle_forty_probes_get_at_most_five_answers(api: Api):
    from tests.e2e.people import next_person

    owner = next_person()
    _, owner_rid, owner_token = api.verified_person()
    nik = {
        "nik": owner["nik"],
        "full_name": owner["full_name"],
        "birth_date": owner["birth_date"],
        "gender": owner["gender"],
    }
    r = api.call("POST", f"/registrations/{owner_rid}/nik", json=nik, token=owner_token)
    assert r.status_code == 202, r.text
    _, rid, token = api.verified_person()
    names = [f"Nama Penguji {chr(65 + i % 26)}{chr(65 + i // 26)}" for i in range(40)]
    outcomes = fire(
        40, lambda i: api.call("POST", f"/registrations/{rid}/nik", json={**nik, "full_name": names[i]}, token=token)
    )
    assert outcomes[(409, "nik-taken")] <= 5, outcomes
    assert outcomes[(429, "too-many-attempts")] >= 35, outcomes
