"""Keyboard only: every control of the registration form is reached with Tab in reading order,
shows a visible focus indicator, and the form is sent with the keyboard; a 503 on the way is
waited out and the retry carries the same Idempotency-Key (no double registration)."""

from __future__ import annotations

import re
import uuid
from pathlib import Path
from typing import Any

import pytest

from tests.browser.conftest import DESKTOP
from tests.browser.helpers import Walk

pytestmark = [pytest.mark.e2e]

FOCUS_STYLE = """() => {
  const el = document.activeElement;
  const s = getComputedStyle(el);
  return {id: el.id || el.className || el.tagName,
          outline: s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) >= 2,
          ring: s.boxShadow !== 'none'};
}"""


def test_register_with_the_keyboard_only(browser: Any, app_url: str, artifacts: Path) -> None:
    context = browser.new_context(viewport=DESKTOP)
    page = context.new_page()
    walk = Walk(page, artifacts, "keyboard")
    keys: list[str | None] = []

    def busy_once(route: Any) -> None:
        keys.append(route.request.headers.get("idempotency-key"))
        if len(keys) == 1:
            route.fulfill(
                status=503,
                headers={"Retry-After": "1", "Content-Type": "application/problem+json"},
                body='{"type":"service-busy","title":"Busy","status":503,"detail":"Retry soon."}',
            )
        else:
            route.continue_()

    page.route(re.compile(r".*/registrations$"), busy_once)
    page.goto(app_url)
    walk.screen("register")
    order = []  # focus starts on the screen's heading; Tab walks the form in reading order
    for _ in range(9):
        page.keyboard.press("Tab")
        style = page.evaluate(FOCUS_STYLE)
        assert style["outline"] and style["ring"], f"no visible focus on {style['id']}"
        order.append(style["id"])
    assert order == [
        "reg-email",
        "reg-password",
        "show-password",
        "reg-full_name",
        "reg-phone",
        "SUMMARY",  # the terms, readable before consenting
        "reg-consent",
        "BUTTON",  # submit
        "A",  # "already have an account? sign in"
    ]
    page.locator("#reg-email").focus()
    for expected in ("lang-switch", "skip"):  # backwards: the language switch, then the skip link
        page.keyboard.press("Shift+Tab")
        style = page.evaluate(FOCUS_STYLE)
        assert style["id"] == expected and style["outline"] and style["ring"], style
    page.locator("#reg-consent").focus()
    page.keyboard.press("Space")
    assert page.locator("#reg-consent").is_checked()
    page.locator("#reg-email").focus()
    page.keyboard.type(f"kbd-{uuid.uuid4().hex[:8]}@example.com")
    page.keyboard.press("Tab")
    page.keyboard.type("Tanpa-Tetikus-2026")
    page.keyboard.press("Tab")  # show password
    page.keyboard.press("Tab")
    page.keyboard.type("Rudi Hartono")
    page.keyboard.press("Tab")
    page.keyboard.type("081298765432")
    page.keyboard.press("Enter")
    walk.screen("verify", timeout_ms=15000)
    assert page.evaluate("document.activeElement.id") == "verify-title"  # focus moved to the new screen
    assert len(keys) >= 2 and keys[0] and len(set(keys[:2])) == 1  # the 503 retry reused the key
    walk.assert_clean()
    context.close()
