"""Never a dead end: 429/503 answers become a calm countdown (from Retry-After) and the same
request is sent again; signing in resumes at the step the registration's status calls for,
including before the email is verified."""

from __future__ import annotations

import json
import re
import uuid
from pathlib import Path
from typing import Any

import pytest

from tests.browser.conftest import DESKTOP, PHONE
from tests.browser.helpers import Walk, latest_code, register, verified_person
from tests.e2e.client import Api

pytestmark = [pytest.mark.e2e]


def problem(status: int, slug: str, retry_after: str | None) -> dict[str, Any]:
    headers = {"Access-Control-Allow-Origin": "*", "Content-Type": "application/problem+json"}
    if retry_after is not None:
        headers["Retry-After"] = retry_after
    body = {"type": slug, "title": "Busy", "status": status, "detail": "Please retry later."}
    return {"status": status, "headers": headers, "body": json.dumps(body)}


def sign_in(page: Any, email: str, password: str) -> None:
    page.locator("#signin-email").fill(email)
    page.locator("#signin-password").fill(password)
    page.locator("#signin-form button[type=submit]").click()


@pytest.mark.parametrize(("status", "slug"), [(429, "throttled"), (503, "service-busy")])
def test_busy_answers_count_down_then_retry(
    browser: Any, api: Api, app_url: str, artifacts: Path, status: int, slug: str
) -> None:
    person, _rid, _token = verified_person(api)
    context = browser.new_context(viewport=PHONE)
    page = context.new_page()
    walk = Walk(page, artifacts, f"wait-{status}")
    calls: list[str] = []

    def busy_once(route: Any) -> None:
        calls.append(route.request.method)
        if len(calls) == 1:
            route.fulfill(**problem(status, slug, "3"))
        else:
            route.continue_()

    page.route(re.compile(r".*/sessions$"), busy_once)
    page.goto(app_url + "#signin")
    walk.screen("signin")
    sign_in(page, person["email"], person["password"])
    banner = page.get_by_role("status").filter(has_text="detik")
    banner.wait_for()
    first = banner.inner_text()
    assert re.search(r"dalam [23] detik", first), first  # a countdown from Retry-After: 3
    walk.check("countdown")
    page.wait_for_function("() => /dalam 1 detik/.test(document.querySelector('#wait-text').textContent)")
    # then the same request again, and the person lands where their status says: the NIK step
    walk.screen("nik", timeout_ms=10000)
    assert calls == ["POST", "POST"]
    assert page.locator("#wait").is_hidden()
    walk.assert_clean()
    context.close()


def test_try_now_skips_the_wait_and_a_long_limit_is_explained(browser: Any, api: Api, app_url: str) -> None:
    person, _rid, _token = verified_person(api)
    context = browser.new_context(viewport=DESKTOP)
    page = context.new_page()
    calls: list[str] = []

    def slow_busy(route: Any) -> None:
        calls.append(route.request.url)
        if len(calls) == 1:
            route.fulfill(**problem(503, "service-busy", "100"))
        else:
            route.continue_()

    page.route(re.compile(r".*/registrations/[0-9a-f]{32}$"), slow_busy)
    page.goto(app_url + "#signin")
    sign_in(page, person["email"], person["password"])
    page.locator("#wait").wait_for(state="visible")
    assert "100" in page.locator("#wait-text").inner_text() or "99" in page.locator("#wait-text").inner_text()
    page.get_by_role("button", name="Coba sekarang").click()
    page.locator('section[data-screen="nik"]').wait_for(state="visible", timeout=10000)
    assert len(calls) >= 2  # the refused call was sent again (and the NIK screen reads the status too)

    # A daily limit (Retry-After of hours) is not waited out on the page: it says until when.
    context2 = browser.new_context(viewport=DESKTOP)
    page2 = context2.new_page()
    email = f"limit-{uuid.uuid4().hex[:8]}@example.com"
    r = register(api, api.new_person(email=email))
    assert r.status_code == 201
    page2.add_init_script(f"sessionStorage.setItem('prakerja.verify', {json.dumps(r.json()['registration_id'])})")
    page2.route(re.compile(r".*/resend$"), lambda route: route.fulfill(**problem(429, "resend-too-soon", "7200")))
    page2.goto(app_url + "#verify")
    page2.locator("#resend").click()
    error = page2.locator("#verify-error")
    error.wait_for(state="visible")
    assert "Coba lagi" in error.inner_text()
    assert page2.locator("#wait").is_hidden()
    context.close()
    context2.close()


def test_consent_is_sent_and_an_api_without_it_still_registers(browser: Any, app_url: str) -> None:
    """The contract's consent goes in every registration; an API that does not know the field
    yet (422 naming only `consent`) gets the same registration again without it. A 422 about
    anything else is shown, not retried."""
    context = browser.new_context(viewport=PHONE)
    page = context.new_page()
    bodies: list[dict[str, Any]] = []

    def fake(route: Any) -> None:
        body = json.loads(route.request.post_data)
        bodies.append(body)
        if "consent" in body:
            errors = [{"field": "consent", "message": "Extra inputs are not permitted"}]
            answer = {"type": "validation-failed", "title": "Invalid", "status": 422, "detail": "x", "errors": errors}
            route.fulfill(status=422, content_type="application/problem+json", body=json.dumps(answer))
        elif body["email"].startswith("bad"):
            errors = [{"field": "phone", "message": "must be an Indonesian mobile number"}]
            answer = {"type": "validation-failed", "title": "Invalid", "status": 422, "detail": "x", "errors": errors}
            route.fulfill(status=422, content_type="application/problem+json", body=json.dumps(answer))
        else:
            answer = {"registration_id": "a" * 32, "status": "EMAIL_PENDING"}
            route.fulfill(status=201, content_type="application/json", body=json.dumps(answer))

    page.route(re.compile(r".*/registrations$"), fake)
    page.goto(app_url)
    for email in ("bad@example.com", "good@example.com"):
        page.locator("#reg-email").fill(email)
        page.locator("#reg-password").fill("Pelan-Pelan-Saja-9")
        page.locator("#reg-full_name").fill("Ani Lestari")
        page.locator("#reg-phone").fill("081234567890")
        page.locator("#reg-consent").check()
        page.locator("#register-form button[type=submit]").click()
        if email.startswith("bad"):
            page.locator("#reg-phone-error").wait_for(state="visible")
            assert page.locator("#reg-phone").get_attribute("aria-invalid") == "true"
    page.locator('section[data-screen="verify"]').wait_for(state="visible")
    assert [("consent" in b, b["email"]) for b in bodies] == [
        (True, "bad@example.com"),
        (False, "bad@example.com"),
        (False, "good@example.com"),  # known from then on: sent without it at once
    ]
    context.close()


def test_sign_in_before_verifying_resumes_at_the_code(browser: Any, api: Api, app_url: str, artifacts: Path) -> None:
    """Today the 403 has no registration_id (issue 9 adds it): the device that registered knows it."""
    context = browser.new_context(viewport=PHONE)
    page = context.new_page()
    walk = Walk(page, artifacts, "unverified")
    email = f"later-{uuid.uuid4().hex[:8]}@example.com"
    password = "Pelan-Pelan-Saja-9"
    page.goto(app_url)
    walk.screen("register")
    page.locator("#reg-email").fill(email)
    page.locator("#reg-password").fill(password)
    page.locator("#reg-full_name").fill("Ani Lestari")
    page.locator("#reg-phone").fill("+6281234567890")
    page.locator("#reg-consent").check()
    page.locator("#register-form button[type=submit]").click()
    walk.screen("verify")
    # The tab is closed before the code is entered; later they sign in.
    page.evaluate("sessionStorage.clear()")
    page.goto(app_url + "#signin")
    walk.screen("signin")
    sign_in(page, email, password)
    walk.screen("verify")
    assert "belum diverifikasi" in page.locator("#verify-notice").inner_text()
    page.locator("#verify-code").fill(latest_code(api, email))
    page.locator("#verify-form button[type=submit]").click()
    walk.screen("nik")
    walk.assert_clean()
    context.close()
