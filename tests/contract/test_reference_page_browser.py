"""The API reference page (/docs) renders every operation of the document in a real browser
(Debian's Chromium), with no console error and no Content-Security-Policy violation."""

from __future__ import annotations

from typing import Any

import pytest

from infra.launcher import LocalStack
from tests.browser.conftest import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS, DESKTOP
from tests.contract.routes import route_set

pytestmark = pytest.mark.e2e


def test_reference_page_shows_every_operation(contract_stack: LocalStack):
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: run `make browser` (installs Debian's chromium with apt-get)")
    from playwright.sync_api import sync_playwright

    problems: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        try:
            page = browser.new_page(viewport=DESKTOP)

            def on_console(msg: Any) -> None:
                if msg.type == "error":
                    problems.append(msg.text)

            page.on("console", on_console)
            page.on("pageerror", lambda exc: problems.append(str(exc)))
            page.goto(contract_stack.url + "/docs")
            page.wait_for_selector(".opblock-summary", timeout=30_000)
            shown = {
                (
                    el.query_selector(".opblock-summary-method").inner_text().strip().upper(),
                    el.query_selector(".opblock-summary-path").get_attribute("data-path"),
                )
                for el in page.query_selector_all(".opblock-summary")
            }
            assert shown == route_set()
            assert "Prakerja registration API" in page.inner_text(".info .title")
            assert page.inner_text(".servers select").startswith(contract_stack.url)
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / "api-reference.png"), full_page=False)
        finally:
            browser.close()
    assert problems == []
