"""Through the local gateway: Accept-Language reaches the functions, answers come in Indonesian or
English with Content-Language, slugs unchanged; the gateway's own answers are English and say so;
CORS lets the web client send Accept-Language."""

from __future__ import annotations

import pytest

from tests.e2e.client import Api, assert_problem

pytestmark = pytest.mark.e2e

ID = {"Accept-Language": "id-ID, id;q=0.9, en;q=0.5"}
EN = {"Accept-Language": "en, id;q=0.5"}


def test_a_person_walks_into_every_refusal_in_indonesian(api: Api) -> None:
    person = api.new_person()
    r = api.register(person, **ID)
    assert r.status_code == 201, r.text
    assert r.headers["Content-Language"] == "id" and "Accept-Language" in r.headers["Vary"]
    rid = r.json()["registration_id"]

    wrong = assert_problem(
        api.call("POST", f"/registrations/{rid}/email-verification", json={"code": "000000"}, headers=ID),
        400,
        "code-mismatch",
    )
    assert (wrong["title"], wrong["detail"], wrong["attempts_left"]) == (
        "Kode verifikasi salah",
        "Kode verifikasi salah.",
        4,
    )
    login = api.call("POST", "/sessions", json={"email": person["email"], "password": person["password"]}, headers=ID)
    unverified = assert_problem(login, 403, "email-not-verified")
    assert unverified["detail"] == (
        "Silakan verifikasi alamat email Anda terlebih dahulu (periksa kotak masuk email Anda)."
    )

    code = api.latest_code(person["email"])
    (mail,) = api.wait_mail(person["email"])
    assert mail["text"].index("Kode verifikasi Anda") < mail["text"].index("Your verification code")
    v = api.call("POST", f"/registrations/{rid}/email-verification", json={"code": code}, headers=ID)
    assert v.status_code == 200 and v.headers["Content-Language"] == "id"
    token = v.json()["access_token"]

    nik = api.call(
        "POST",
        f"/registrations/{rid}/nik",
        json={"nik": "9901010101900001", "full_name": "Siti Nurhaliza", "birth_date": "1990-01-01", "gender": "F"},
        token=token,
        headers=ID,
    )
    problem = assert_problem(nik, 422, "validation-error")
    assert nik.headers["Content-Language"] == "id"
    messages = [e["message"] for e in problem["errors"] if e["field"] == "nik"]
    assert "digit ke-1 dan ke-2 (99) bukan kode provinsi di Indonesia" in messages

    again = assert_problem(api.register(person, **ID), 409, "email-taken")
    assert again["title"] == "Email ini sudah terdaftar"


@pytest.mark.parametrize(
    ("headers", "language"), [(ID, "id"), (EN, "en"), ({}, "en"), ({"Accept-Language": "*"}, "en")]
)
def test_validation_in_both_languages_keeps_slug_and_fields(api: Api, headers: dict[str, str], language: str) -> None:
    body = {
        "email": "bukan-email",
        "password": "rahasia-sekali-123",
        "phone": "081234567890",
        "consent": {"terms_version": "2026-01", "accepted": True},
        "extra": 1,
    }
    r = api.call("POST", "/registrations", json=body, headers=headers)
    problem = assert_problem(r, 422, "validation-error")
    assert r.headers["Content-Language"] == language
    fields = {e["field"]: e["message"] for e in problem["errors"]}
    assert set(fields) == {"email", "full_name", "extra"}
    expected = {
        "id": {
            "email": "bukan alamat email yang valid",
            "full_name": "wajib diisi",
            "extra": "tidak dikenal; silakan hapus isian ini",
        },
        "en": {
            "email": "is not a valid email address",
            "full_name": "Field required",
            "extra": "Extra inputs are not permitted",
        },
    }
    assert fields == expected[language]


def test_success_answers_carry_the_negotiated_language(api: Api) -> None:
    for headers, language in ((ID, "id"), (EN, "en"), ({"Accept-Language": "en;q=0.5, id"}, "id")):
        r = api.call("GET", "/batches", headers=headers)
        assert r.status_code == 200 and r.headers["Content-Language"] == language
        assert "Content-Language" in r.headers["Access-Control-Expose-Headers"]


def test_the_gateways_own_answers_are_english_and_say_so(api: Api) -> None:
    missing = api.call("GET", "/no-such-route", headers=ID)
    assert assert_problem(missing, 404, "not-found")["title"] == "Not found"
    assert missing.headers["Content-Language"] == "en"
    wrong_method = api.call("PUT", "/registrations", headers=ID)
    assert_problem(wrong_method, 405, "method-not-allowed")
    assert wrong_method.headers["Content-Language"] == "en"


def test_the_preflight_allows_accept_language(api: Api) -> None:
    r = api.call(
        "OPTIONS",
        "/registrations",
        headers={
            "Origin": "https://example.org",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "accept-language, content-type, idempotency-key",
        },
    )
    assert r.status_code in (200, 204)
    allowed = {h.strip().lower() for h in r.headers["Access-Control-Allow-Headers"].split(",")}
    assert {"accept-language", "content-type", "idempotency-key"} <= allowed
