"""The handlers under moto answer in the language Accept-Language prefers: Indonesian problem
titles, details and field messages, Content-Language on every answer, slugs unchanged."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from infra.sandbox import FakeContext, Sandbox, api_event, load_handler, sandbox
from tests.handlers.pipeline import body

ID = {"Accept-Language": "id-ID, id;q=0.9, en;q=0.5"}  # what the web client sends in Indonesian


@pytest.fixture
def box() -> Iterator[Sandbox]:
    with sandbox() as b:
        yield b


def call(function: str, event: dict[str, Any]) -> dict[str, Any]:
    return load_handler(function)(event, FakeContext())  # type: ignore[no-any-return]


def person(**over: Any) -> dict[str, Any]:
    return {
        "email": f"siti-{uuid.uuid4().hex[:8]}@example.com",
        "password": "rahasia-sekali-123",
        "full_name": "Siti Nurhaliza",
        "phone": "081234567890",
        "consent": {"terms_version": "2026-01", "accepted": True},
        **over,
    }


def register(payload: Any, headers: dict[str, str] | None = None) -> dict[str, Any]:
    return call("register", api_event("POST", "/registrations", "/registrations", body=payload, headers=headers))


def header(response: dict[str, Any], name: str) -> str | None:
    return next((v for k, v in response["headers"].items() if k.lower() == name.lower()), None)


def test_health_says_which_language_was_negotiated(box: Sandbox) -> None:
    for headers, language in ((None, "en"), (ID, "id"), ({"Accept-Language": "fr"}, "en")):
        r = call("health", api_event("GET", "/health", "/health", headers=headers))
        assert r["statusCode"] == 200 and body(r) == {"status": "ok"}  # no prose: the body never changes
        assert header(r, "Content-Language") == language
        assert header(r, "Vary") == "Accept-Language"
        assert "Content-Language" in (header(r, "Access-Control-Expose-Headers") or "")


def test_validation_errors_name_each_field_in_indonesian(box: Sandbox) -> None:
    bad = person(email="bukan-email", password="pendek", phone=81234567890, nickname="Siti")
    del bad["full_name"]
    r = register(bad, {"Accept-Language": "en;q=0.5, id"})
    assert r["statusCode"] == 422 and header(r, "Content-Type") == "application/problem+json"
    assert header(r, "Content-Language") == "id"
    problem = body(r)
    assert (problem["type"], problem["title"]) == ("validation-error", "Permintaan tidak valid")
    messages = {e["field"]: e["message"] for e in problem["errors"]}
    assert messages == {
        "email": "bukan alamat email yang valid",
        "password": "harus 8 sampai 128 karakter",
        "full_name": "wajib diisi",
        "phone": "harus berupa teks",
        "nickname": "tidak dikenal; silakan hapus isian ini",
    }
    assert "full_name: wajib diisi" in problem["detail"]

    r = register(bad)  # no Accept-Language: English, same slug and fields
    assert header(r, "Content-Language") == "en"
    english = body(r)
    assert (english["type"], english["title"]) == ("validation-error", "The request is not valid")
    assert {e["field"]: e["message"] for e in english["errors"]}["full_name"] == "Field required"
    assert [e["field"] for e in english["errors"]] == [e["field"] for e in problem["errors"]]


def test_a_body_that_is_not_json_is_refused_in_indonesian(box: Sandbox) -> None:
    r = register("{not json", ID)
    assert r["statusCode"] == 422
    assert body(r)["errors"] == [{"field": "body", "message": "bukan JSON yang valid"}]


def test_the_funnel_refusals_in_indonesian(box: Sandbox) -> None:
    me = person()
    created = register(me, ID)
    assert created["statusCode"] == 201 and header(created, "Content-Language") == "id"
    rid = body(created)["registration_id"]

    again = register(me, ID)  # an unverified address is taken over, but not within a minute of its code email
    assert again["statusCode"] == 429
    assert (body(again)["type"], body(again)["title"]) == ("resend-too-soon", "Kode baru belum dapat dikirim")
    assert body(again)["detail"].startswith("Silakan tunggu ")

    wrong = call(
        "verify_email",
        api_event(
            "POST",
            "/registrations/{id}/email-verification",
            f"/registrations/{rid}/email-verification",
            body={"code": "000000"},
            path_parameters={"id": rid},
            headers=ID,
        ),
    )
    problem = body(wrong)
    assert wrong["statusCode"] == 400 and header(wrong, "Content-Language") == "id"
    assert (problem["type"], problem["detail"], problem["attempts_left"]) == (
        "code-mismatch",
        "Kode verifikasi salah.",
        4,
    )

    # the code email has been handed to SES (the sender stamps it), so a resend now is too soon
    box.client("dynamodb").update_item(
        TableName=box.env["TABLE_NAME"],
        Key={"pk": {"S": f"REG#{rid}"}, "sk": {"S": "REG"}},
        UpdateExpression="SET code_sent_at = :t",
        ExpressionAttributeValues={":t": {"N": str(int(time.time()))}},
    )
    soon = call(
        "resend_code",
        api_event(
            "POST",
            "/registrations/{id}/email-verification/resend",
            f"/registrations/{rid}/email-verification/resend",
            path_parameters={"id": rid},
            headers=ID,
        ),
    )
    assert soon["statusCode"] == 429 and int(header(soon, "Retry-After") or 0) > 0
    assert body(soon)["type"] == "resend-too-soon"
    assert body(soon)["detail"].startswith("Silakan tunggu ") and body(soon)["detail"].endswith(
        " detik sebelum meminta kode baru."
    )

    login = call(
        "create_session",
        api_event(
            "POST", "/sessions", "/sessions", body={"email": me["email"], "password": "salah-sekali-1"}, headers=ID
        ),
    )
    assert login["statusCode"] == 401 and body(login)["type"] == "invalid-credentials"
    assert (body(login)["title"], body(login)["detail"]) == (
        "Email atau kata sandi salah",
        "Email atau kata sandi salah.",
    )

    unverified = call(
        "create_session",
        api_event(
            "POST", "/sessions", "/sessions", body={"email": me["email"], "password": me["password"]}, headers=ID
        ),
    )
    assert unverified["statusCode"] == 403 and body(unverified)["type"] == "email-not-verified"
    assert body(unverified)["title"] == "Alamat email belum terverifikasi"


def test_an_unauthenticated_call_is_refused_in_indonesian_with_its_challenge(box: Sandbox) -> None:
    rid = "0" * 32
    r = call(
        "get_registration",
        api_event("GET", "/registrations/{id}", f"/registrations/{rid}", path_parameters={"id": rid}, headers=ID),
    )
    assert r["statusCode"] == 401 and header(r, "WWW-Authenticate") == 'Bearer realm="prakerja"'
    assert header(r, "Content-Language") == "id"
    assert body(r)["detail"] == "Diperlukan token akses yang valid. Silakan masuk terlebih dahulu."


@pytest.mark.parametrize("value", ["*", "fr-FR", ";;;", "id;q=x", "\u00ff" * 3000, "en;q=0.9"])
def test_anything_else_answers_in_english(box: Sandbox, value: str) -> None:
    r = register(person(phone="123"), {"Accept-Language": value})
    assert r["statusCode"] == 422 and header(r, "Content-Language") == "en"
    assert body(r)["errors"][0]["message"].startswith("must be an Indonesian mobile number")


def test_every_accept_language_line_counts(box: Sandbox) -> None:
    """API Gateway keeps only the last line of a repeated header in `headers`; all are in
    `multiValueHeaders`."""
    event = api_event("GET", "/health", "/health")
    event["headers"]["Accept-Language"] = "en;q=0.1"
    event["multiValueHeaders"]["Accept-Language"] = ["id", "en;q=0.1"]
    assert header(call("health", event), "Content-Language") == "id"
