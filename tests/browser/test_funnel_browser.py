"""The whole funnel in a real browser on the local stack, as a person would walk it: register
(with consent), the code from the email, NIK (checked as typed), photo, batch, status; then sign
out and sign in again, landing where they left off. In Indonesian on a phone and in English on a
desktop; every screen scanned by axe-core and photographed."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import pytest

from infra.launcher import LocalStack
from tests.browser.conftest import DESKTOP, PHONE
from tests.browser.helpers import Walk, latest_code
from tests.e2e.client import Api, create_batch
from tests.e2e.people import next_person
from tests.imagegen import make_png

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

TEXT = {
    "id": {
        "register": "Daftar",
        "verify": "Masukkan kode dari email",
        "wrong_code": "Kode salah",
        "nik_gender": "jenis kelamin lain",
        "nik_ok": "Susunan NIK sesuai",
        "too_small": "terlalu kecil",
        "joined": "Selamat",
        "signin": "Masuk",
        "signed_out": "Anda sudah keluar",
        "done": "Selesai",
    },
    "en": {
        "register": "Register",
        "verify": "Enter the code from the email",
        "wrong_code": "Wrong code",
        "nik_gender": "form for the other gender",
        "nik_ok": "The NIK's structure is right",
        "too_small": "too small",
        "joined": "Congratulations",
        "signin": "Sign in",
        "signed_out": "You are signed out",
        "done": "Done",
    },
}


@pytest.fixture(scope="module")
def batch_id(stack: LocalStack) -> str:
    bid = f"web-{uuid.uuid4().hex[:8]}"
    result = create_batch(stack.aws_port, bid, "Gelombang Uji Web", 50)
    assert result.returncode == 0, result.stderr
    return bid


def other_gender_digits(person: dict[str, Any]) -> str:
    """The person's NIK with digits 7-12 written for the other gender (a common typo)."""
    nik = person["nik"]
    day = int(nik[6:8])
    day = day - 40 if day > 40 else day + 40
    return nik[:6] + f"{day:02d}" + nik[8:]


@pytest.mark.parametrize(
    ("lang", "viewport", "label"),
    [("id", PHONE, "id-phone"), ("en", DESKTOP, "en-desktop")],
)
def test_whole_funnel_in_the_browser(
    browser: Any,
    stack: LocalStack,
    api: Api,
    app_url: str,
    artifacts: Path,
    batch_id: str,
    tmp_path: Path,
    lang: str,
    viewport: dict[str, int],
    label: str,
) -> None:
    text = TEXT[lang]
    context = browser.new_context(viewport=viewport, locale="id-ID" if lang == "id" else "en-GB")
    page = context.new_page()
    walk = Walk(page, artifacts, label)
    sent: list[dict[str, Any]] = []
    page.on(
        "request",
        lambda r: sent.append({"url": r.url, "method": r.method, "headers": r.headers, "body": r.post_data}),
    )
    person = next_person()
    email = f"web-{uuid.uuid4().hex[:10]}@example.com"
    password = "Gelombang-Baru-2026"

    # -- register: Indonesian by default, whatever the browser's locale -----------------------------
    page.goto(app_url)
    walk.screen("register")
    assert page.locator("html").get_attribute("lang") == "id"
    if lang == "en":
        page.get_by_role("button", name="Switch to English").click()
        assert page.locator("html").get_attribute("lang") == "en"
    assert page.get_by_role("heading", level=1).inner_text() == text["register"]
    page.locator("#reg-email").fill(email)
    page.locator("#reg-password").fill(password)
    page.locator("#reg-full_name").fill(person["full_name"])
    page.locator("#reg-phone").fill("0812 3456 7890")
    submit = page.locator("#register-form button[type=submit]")
    submit.click()  # consent not given yet: refused on the page, nothing sent
    assert page.locator("#reg-consent").get_attribute("aria-invalid") == "true"
    assert not [r for r in sent if r["url"].endswith("/registrations") and r["method"] == "POST"]
    page.locator("#reg-consent").check()
    submit.click()

    # -- the code from the email ---------------------------------------------------------------------
    walk.screen("verify")
    first = next(r for r in sent if r["url"].endswith("/registrations") and r["method"] == "POST")
    assert json.loads(first["body"])["consent"] == {"terms_version": "2026-11", "accepted": True}
    assert first["headers"]["accept-language"].startswith(lang)
    assert first["headers"].get("idempotency-key")
    code = latest_code(api, email)
    wrong = "000000" if code != "000000" else "111111"
    page.locator("#verify-code").fill(wrong)
    page.locator("#verify-form button[type=submit]").click()
    page.get_by_text(text["wrong_code"]).wait_for()
    page.locator("#verify-code").fill(code)
    page.locator("#verify-form button[type=submit]").click()

    # -- NIK: the structural rules as they type, nothing sent while they fail ------------------------
    walk.screen("nik")
    page.locator("#nik-full_name").fill(person["full_name"])
    page.locator("#nik-birth_date").fill(person["birth_date"])
    page.locator("#nik-gender-f" if person["gender"] == "F" else "#nik-gender-m").check()
    page.locator("#nik-nik").press_sequentially(other_gender_digits(person), delay=5)
    feedback = page.locator("#nik-feedback")
    assert text["nik_gender"] in feedback.inner_text()
    assert page.locator("#nik-digits .cell.bad").count() >= 1  # the wrong digits are marked
    walk.check("nik-typo")
    page.locator("#nik-form button[type=submit]").click()
    assert page.locator("#nik-nik").get_attribute("aria-invalid") == "true"
    assert not [r for r in sent if r["url"].endswith("/nik")]
    page.locator("#nik-nik").fill(person["nik"])
    page.locator("#nik-nik").dispatch_event("input")
    assert text["nik_ok"] in feedback.inner_text()
    page.locator("#nik-form button[type=submit]").click()

    # -- photo: too small is refused on the page, a 400x400 goes to S3 by presigned POST --------------
    walk.screen("photo")
    small = tmp_path / "small.png"
    small.write_bytes(make_png(200, 200))
    page.locator("#photo-file").set_input_files(str(small))
    page.locator("#photo-file-error").get_by_text(text["too_small"]).wait_for()
    photo = tmp_path / "me.png"
    photo.write_bytes(make_png(400, 400, noise=True, seed=7))
    page.locator("#photo-file").set_input_files(str(photo))
    page.locator("#photo-figure").wait_for(state="visible")
    assert "400×400" in page.locator("#photo-info").inner_text()
    walk.check("photo-preview")
    page.locator("#photo-form button[type=submit]").click()

    # -- then the batch (directly, or via the status page while the NIK check is pending) -------------
    page.locator('section[data-screen="batch"]:visible, section[data-screen="status"]:visible').wait_for(timeout=60000)
    if page.locator('section[data-screen="status"]').is_visible():
        walk.check("status-pending")
        page.locator("#status-next").wait_for(state="visible", timeout=60000)
        page.locator("#status-next").click()
    walk.screen("batch")
    page.locator(f'#batch-list input[value="{batch_id}"]').check()
    page.locator("#batch-form button[type=submit]").click()

    # -- status: every step done ----------------------------------------------------------------------
    walk.screen("status")
    page.get_by_text(text["joined"]).wait_for()
    assert "Gelombang Uji Web" in page.locator("#status-message").inner_text()
    steps = page.locator("#status-steps li")
    assert steps.count() == 4
    for i in range(4):
        assert text["done"] in steps.nth(i).inner_text()
    upload = next(r for r in sent if r["method"] == "POST" and r["url"].startswith(stack.aws_url))
    assert upload["headers"]["content-type"].startswith("multipart/form-data")

    # -- sign out, sign in again later: back at the status page ---------------------------------------
    page.locator("#sign-out").click()
    walk.screen("signin")
    page.get_by_text(text["signed_out"]).wait_for()
    page.locator("#signin-email").fill(email)
    page.locator("#signin-password").fill(password)
    page.locator("#signin-form button[type=submit]").click()
    walk.screen("status")
    page.get_by_text(text["joined"]).wait_for()
    assert page.locator("html").get_attribute("lang") == lang
    walk.assert_clean()
    context.close()
