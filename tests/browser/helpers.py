"""What every browser test does on every screen: an axe-core scan (0 serious/critical
violations), a screenshot kept as an artifact, and no page errors or CSP refusals."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.e2e.client import CODE, Api

SERIOUS = {"serious", "critical"}


@dataclass
class Walk:
    page: Any
    artifacts: Path
    label: str  # e.g. "id-phone"
    console_errors: list[str] = field(default_factory=list)
    scanned: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        def console(message: Any) -> None:
            text = message.text
            # Chrome logs every 4xx/5xx fetch as "Failed to load resource": expected answers here.
            if message.type == "error" and "Failed to load resource" not in text:
                self.console_errors.append(text)

        self.page.on("console", console)
        self.page.on("pageerror", lambda exc: self.console_errors.append(f"page error: {exc}"))

    def screen(self, name: str, *, timeout_ms: int = 30000) -> Any:
        """Wait until screen `name` shows, then scan and photograph it."""
        section = self.page.locator(f'section[data-screen="{name}"]')
        section.wait_for(state="visible", timeout=timeout_ms)
        self.check(name)
        return section

    def check(self, name: str) -> None:
        self.page.wait_for_load_state("networkidle")
        violations = axe_serious(self.page)
        where = f"{name} ({self.label})"
        assert not violations, f"{where}: axe found serious/critical violations:\n" + "\n".join(violations)
        self.page.screenshot(path=str(self.artifacts / f"{self.label}-{name}.png"), full_page=True)
        self.scanned.append(name)

    def assert_clean(self) -> None:
        assert not self.console_errors, f"console errors ({self.label}): {self.console_errors}"


_axe: Any = None


def axe_serious(page: Any) -> list[str]:
    global _axe
    if _axe is None:
        from axe_playwright_python.sync_playwright import Axe

        _axe = Axe()
    results = _axe.run(page)
    return [
        f"{v['id']} ({v['impact']}): {v['help']} -> {[n['target'] for n in v['nodes']][:5]}"
        for v in results.response["violations"]
        if v.get("impact") in SERIOUS
    ]


def latest_code(api: Api, email: str, count: int = 1, subject: str = "") -> str:
    """The 6-digit code of the newest email to `email` (waits for `count` emails)."""
    messages = api.wait_mail(email, count)
    assert len(messages) >= count, f"expected {count} emails to {email}, got {len(messages)}"
    for message in reversed(messages):
        if subject.lower() in message["subject"].lower():
            match = CODE.search(message["text"])
            if match:
                return match.group(1)
    raise AssertionError("no 6-digit code in the emails")


def digits(text: str) -> str:
    return re.sub(r"\D", "", text)


CONSENT = {"terms_version": "2026-11", "accepted": True}


def register(api: Api, person: dict[str, Any]) -> Any:
    """POST /registrations with the consent issue 9 requires; an API from before issue 9 refuses
    the unknown field (422 naming only `consent`), then the same person is sent without it."""
    r = api.register({**person, "consent": CONSENT})
    fields = [e.get("field") for e in r.json().get("errors", [])] if r.status_code == 422 else []
    if fields and all(f == "consent" for f in fields):
        r = api.register(person)
    return r


def verified_person(api: Api) -> tuple[dict[str, Any], str, str]:
    """(person, registration_id, token) of a freshly registered and verified person."""
    person = api.new_person(password="Sungai-Kapuas-77")
    r = register(api, person)
    assert r.status_code == 201, r.text
    rid = r.json()["registration_id"]
    v = api.call("POST", f"/registrations/{rid}/email-verification", json={"code": latest_code(api, person["email"])})
    assert v.status_code == 200, v.text
    return person, rid, v.json()["access_token"]


def route_missing(api: Api, method: str, path: str) -> bool:
    """True when the API does not serve this route yet (issue 9): the gateway answers 404 for an
    unknown path, 405 for a known path without that method. Probed without a token or body."""
    r = api.call(method, path)
    return r.status_code in (404, 405) and r.headers.get("Content-Type", "").startswith("application/problem+json")
