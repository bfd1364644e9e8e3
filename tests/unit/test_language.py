"""Language of the API's answers: Accept-Language negotiation, Indonesian problem bodies, the
bilingual emails."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from prakerja.domain import errors, mail
from prakerja.domain.errors import FieldProblem
from prakerja.domain.models import Registration
from prakerja.http import i18n, problems


# -- negotiation -------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("header", "language"),
    [
        (None, "en"),
        ("", "en"),
        ("id", "id"),
        ("id-ID", "id"),
        ("ID-id", "id"),
        ("id_ID", "id"),  # an underscore, as some HTTP libraries write a locale
        ("in-ID", "id"),  # the old code old Android/Java locales still send
        ("en", "en"),
        ("en-US", "en"),
        ("en;q=0.5, id", "id"),  # q-values, not order, decide
        ("en;q=0.8, id-ID;q=0.9", "id"),
        ("id;q=0.4, en;q=0.6", "en"),
        ("en, id", "en"),  # a tie goes to the range listed first
        ("id, en", "id"),
        ("id-ID, id;q=0.9, en;q=0.5", "id"),  # the web client, Indonesian chosen
        ("en, id;q=0.5", "en"),  # the web client, English chosen
        ("id-ID,id;q=0.9,en-US;q=0.8,en;q=0.7", "id"),  # a browser set to Indonesian
        ("en-US,en;q=0.9,id;q=0.8", "en"),
        ("id-ID;q=0.2, id;q=0.9, en;q=0.5", "id"),  # the best q of the ranges naming a language
        ("*", "en"),  # anything: the default
        ("*;q=0.1, id", "id"),
        ("id;q=0.5, *", "en"),  # * (q=1) stands for English, which id;q=0.5 does not name
        ("fr", "en"),  # unsupported -> English
        ("fr, de;q=0.9", "en"),
        ("fr, id;q=0.1", "id"),  # the only supported language the client accepts
        ("id;q=0", "en"),  # q=0: "not Indonesian"
        ("en;q=0, id;q=0", "en"),  # nothing acceptable: English rather than 406
        ("id;q=1.000", "id"),
        ("id;Q=0.9, en;q=0.8", "id"),
        ("  id  ;  q=0.9 , en;q=0.1", "id"),
        ("id;q=abc", "en"),  # a malformed q drops that element only
        ("id;q=1.5", "en"),
        ("id;q=-1, en", "en"),
        ("id;q=abc, en;q=0.1", "en"),
        ("id;level=1", "id"),  # other parameters are ignored
        ("garbage;;;,,==", "en"),
        ("i d", "en"),
        ("id-", "en"),
        ("indonesian", "en"),
        ("\x00\xff\u200b", "en"),
        ("id" + ",x" * 5000, "id"),
        ("en;q=0.1," * 2000 + "id", "en"),  # only the first elements of a huge header are read
    ],
)
def test_negotiation(header: str | None, language: str) -> None:
    assert i18n.negotiate(header) == language


@given(st.text(max_size=300))
def test_any_header_value_negotiates_a_supported_language_without_raising(header: str) -> None:
    assert i18n.negotiate(header) in i18n.SUPPORTED


@given(st.lists(st.tuples(st.sampled_from(["id", "id-ID", "en", "en-GB", "fr", "*"]), st.integers(0, 1000))))
def test_the_language_with_the_highest_q_wins(ranges: list[tuple[str, int]]) -> None:
    header = ", ".join(f"{r};q={q / 1000:.3f}" for r, q in ranges)
    got = i18n.negotiate(header)
    best_id = max([q for r, q in ranges if r.startswith("id")], default=None)
    best_en = max([q for r, q in ranges if r.startswith("en")], default=None)
    star = next((q for r, q in ranges if r == "*"), None)
    q_id = best_id if best_id is not None else (star or 0)
    q_en = best_en if best_en is not None else (star or 0)
    if q_id > q_en:
        assert got == "id", header
    elif q_en > q_id or q_id == 0:
        assert got == "en", header


# -- problem bodies ----------------------------------------------------------------------------------
def in_language(err: errors.DomainError, language: str = "id") -> tuple[int, dict[str, Any], dict[str, str]]:
    """What the API answers for `err` when `language` was negotiated (http/api.py does the same)."""
    status, body, headers = problems.from_domain(err)
    return status, problems.localise(body, language), headers


def test_an_indonesian_problem_keeps_its_type_status_headers_and_extra_members() -> None:
    err = errors.CodeMismatch("The code is not correct.", extra={"attempts_left": 3})
    status, body, headers = in_language(err)
    assert (status, body["type"], body["status"], body["attempts_left"]) == (400, "code-mismatch", 400, 3)
    assert (body["title"], body["detail"]) == ("Kode verifikasi salah", "Kode verifikasi salah.")
    assert in_language(err, "en")[1] == problems.from_domain(err)[1]
    assert problems.from_domain(err)[1]["detail"] == "The code is not correct."

    status, body, headers = in_language(
        errors.ResendTooSoon("Wait 42 s before asking for a new code.", retry_after_s=42)
    )
    assert (status, headers) == (429, {"Retry-After": "42"})
    assert body["detail"] == "Silakan tunggu 42 detik sebelum meminta kode baru."
    _, body, headers = in_language(errors.Unauthorized())
    assert headers == {"WWW-Authenticate": 'Bearer realm="prakerja"'}
    assert body["detail"] == "Diperlukan token akses yang valid. Silakan masuk terlebih dahulu."


def test_a_problem_without_a_detail_gets_the_indonesian_title_as_detail() -> None:
    _, body, _ = in_language(errors.EmailTaken())
    assert body["title"] == body["detail"] == "Email ini sudah terdaftar"


def test_validation_errors_translate_each_field_message_and_the_detail_built_from_them() -> None:
    err = errors.ValidationFailed(
        [
            FieldProblem("full_name", "Field required"),
            FieldProblem("nickname", "Extra inputs are not permitted"),
            FieldProblem("phone", "String should have at most 40 characters"),
            FieldProblem("gender", "Input should be 'M' or 'F'"),
            FieldProblem("consent.accepted", "Input should be True"),
            FieldProblem("email", "is not a valid email address"),
        ]
    )
    _, body, _ = in_language(err)
    assert body["type"] == "validation-error" and body["title"] == "Permintaan tidak valid"
    assert body["errors"] == [
        {"field": "full_name", "message": "wajib diisi"},
        {"field": "nickname", "message": "tidak dikenal; silakan hapus isian ini"},
        {"field": "phone", "message": "harus paling banyak 40 karakter"},
        {"field": "gender", "message": "harus bernilai 'M' atau 'F'"},
        {"field": "consent.accepted", "message": "harus bernilai true"},
        {"field": "email", "message": "bukan alamat email yang valid"},
    ]
    assert body["detail"] == "; ".join(f"{e['field']}: {e['message']}" for e in body["errors"])


def test_numbers_are_grouped_the_indonesian_way_and_free_text_parameters_are_left_alone() -> None:
    assert i18n.translate("must be a whole number from 1 to 1,000,000", "id") == (
        "harus bilangan bulat dari 1 sampai 1.000.000"
    )
    # a quoted value is the client's or operator's text: " and " inside it is not a list to translate
    assert i18n.translate("Input should be 'Jakarta and Bogor'", "id") == "harus bernilai 'Jakarta and Bogor'"
    assert i18n.translate("Batch b1 already exists with name 'Bogor' and 1,200 seats.", "id") == (
        "Gelombang b1 sudah ada dengan nama 'Bogor' dan 1.200 kursi."
    )


def test_a_text_without_translation_falls_back_to_generic_indonesian_and_is_reported() -> None:
    body = problems.problem_body("not-found", 404, "Not found", "An English sentence nobody translated.")
    localised = i18n.localise_problem(body, "id")
    assert localised.body["detail"] == "Tidak ditemukan."
    assert localised.untranslated == ("detail:not-found",)
    body = problems.problem_body(
        "brand-new-slug", 400, "Request failed", "x", {"errors": [{"field": "f", "message": "?"}]}
    )
    localised = i18n.localise_problem(body, "id")
    assert localised.body["title"] == "Permintaan gagal"
    assert localised.body["errors"] == [{"field": "f", "message": "tidak valid"}]
    assert set(localised.untranslated) == {"title:brand-new-slug", "field:f", "detail:brand-new-slug"}


def test_the_internal_error_is_indonesian_too() -> None:
    status, english, _ = problems.internal_error()
    body = problems.localise(english, "id")
    assert (status, body["type"]) == (500, "internal-error")
    assert body["detail"] == "Terjadi kesalahan pada sistem kami. Silakan coba lagi."


# -- emails: Indonesian first, then English ---------------------------------------------------------
def _reg(**over: object) -> Registration:
    base = dict(
        registration_id="a" * 32,
        email="siti@example.com",
        password_hash="x",
        full_name="Siti Nurhaliza",
        phone="+6281234567890",
        created_at=0,
        code_nonce="n1",
    )
    return Registration(**{**base, **over})  # type: ignore[arg-type]


def _parts(text: str, indonesian: str, english: str) -> None:
    assert indonesian in text and english in text
    assert text.index(indonesian) < text.index(english)


@pytest.mark.parametrize(
    ("template", "payload", "indonesian", "english"),
    [
        ("verify_code", {"nonce": "n1"}, "Kode verifikasi Anda", "Your verification code"),
        ("nik_result", {"nik_status": "VERIFIED"}, "NIK Anda telah terverifikasi", "Your NIK is verified"),
        (
            "nik_result",
            {"nik_status": "REJECTED", "nik_reason": "MISMATCH"},
            "NIK Anda belum dapat diverifikasi. Data tidak cocok dengan data kependudukan.",
            "Your NIK could not be verified. The details do not match the population registry.",
        ),
        (
            "nik_result",
            {"nik_status": "REJECTED", "nik_reason": "NOT_FOUND"},
            "NIK Anda belum dapat diverifikasi. NIK tidak ditemukan dalam data kependudukan.",
            "Your NIK could not be verified. The NIK was not found in the population registry.",
        ),
        (
            "nik_result",
            {"nik_status": "REJECTED", "nik_reason": "SOMETHING_NEW"},
            "NIK Anda belum dapat diverifikasi.\n",
            "Your NIK could not be verified.\n",
        ),
    ],
)
def test_every_email_is_indonesian_first_with_an_english_part(
    template: str, payload: dict[str, str], indonesian: str, english: str
) -> None:
    email = mail.render(_reg(), template, payload, b"k" * 32)
    assert email is not None
    indonesian_subject, _, english_subject = email.subject.partition(" / ")
    assert indonesian_subject and english_subject
    _parts(email.text, indonesian, english)
    assert email.text.startswith("Halo Siti Nurhaliza,")
    assert ". ." not in email.text and " / " not in email.text  # no half-translated lines


# -- the deployed API: CORS and API Gateway's own answers -------------------------------------------
def test_the_template_lets_the_web_client_negotiate_and_labels_gateway_answers_english() -> None:
    from pathlib import Path

    from cfnlint.decode import cfn_yaml

    template = cfn_yaml.load(str(Path(__file__).resolve().parents[2] / "template.yaml"))
    api = template["Resources"]["Api"]["Properties"]
    allowed = {h.strip().lower() for h in api["Cors"]["AllowHeaders"].strip("'").split(",")}
    assert "accept-language" in allowed  # the web client sends it on every call
    for name, response in api["GatewayResponses"].items():
        # a gateway response template cannot choose a language: English, and it says so
        assert response["ResponseParameters"]["Headers"]["Content-Language"] == "'en'", name


def test_a_fault_in_translation_answers_in_english_instead_of_failing(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(body: Any, language: str) -> Any:
        raise RuntimeError("catalogue bug")

    monkeypatch.setattr(i18n, "localise_problem", broken)
    _, body, _ = problems.from_domain(errors.CodeExpired("The code has expired: request a new code."))
    assert problems.localise(body, "id") == body
