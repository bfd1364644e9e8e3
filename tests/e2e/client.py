"""A small HTTP client for the end-to-end tests: the routes of docs/API.md."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
import uuid
from typing import Any

import requests

CODE = re.compile(r"\b(\d{6})\b")


class Api:
    def __init__(self, base_url: str) -> None:
        self.base = base_url
        self.http = requests.Session()

    def call(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        data: str | bytes | None = None,
        token: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> requests.Response:
        hdrs = dict(headers or {})
        if token:
            hdrs["Authorization"] = f"Bearer {token}"
        if data is not None:
            hdrs.setdefault("Content-Type", "application/json")
        return self.http.request(method, self.base + path, json=json, data=data, headers=hdrs, timeout=30)

    # -- funnel helpers ---------------------------------------------------------------------
    @staticmethod
    def new_person(**over: Any) -> dict[str, Any]:
        person = {
            "email": f"user-{uuid.uuid4().hex[:12]}@example.com",
            "password": "rahasia-sekali-123",
            "full_name": "Siti Nurhaliza",
            "phone": "081234567890",
            "consent": {"terms_version": "2026-01", "accepted": True},
        }
        person.update(over)
        return person

    def register(self, person: dict[str, Any] | None = None, **headers: str) -> requests.Response:
        return self.call("POST", "/registrations", json=person or self.new_person(), headers=headers)

    def mailbox(self, email: str) -> list[dict[str, str]]:
        r = self.http.get(self.base + "/_dev/mailbox", params={"to": email}, timeout=10)
        r.raise_for_status()
        return list(r.json()["messages"])

    def wait_mail(self, email: str, count: int = 1, timeout_s: float = 20) -> list[dict[str, str]]:
        deadline = time.monotonic() + timeout_s
        while True:
            messages = self.mailbox(email)
            if len(messages) >= count or time.monotonic() > deadline:
                return messages
            time.sleep(0.1)

    def latest_code(self, email: str, count: int = 1) -> str:
        messages = [m for m in self.wait_mail(email, count) if "verifikasi" in m["subject"].lower()]
        assert len(messages) >= count, f"expected {count} code emails, got {len(messages)}"
        match = CODE.search(messages[-1]["text"])
        assert match, "no 6-digit code in the email"
        return match.group(1)

    def verified_person(self, **over: Any) -> tuple[dict[str, Any], str, str]:
        """Register + verify; returns (person, registration_id, token)."""
        person = self.new_person(**over)
        r = self.register(person)
        assert r.status_code == 201, r.text
        rid = r.json()["registration_id"]
        code = self.latest_code(person["email"])
        v = self.call("POST", f"/registrations/{rid}/email-verification", json={"code": code})
        assert v.status_code == 200, v.text
        return person, rid, v.json()["access_token"]

    def status(self, rid: str, token: str) -> dict[str, Any]:
        r = self.call("GET", f"/registrations/{rid}", token=token)
        assert r.status_code == 200, r.text
        return dict(r.json())

    def wait_status(self, rid: str, token: str, field: str, values: set[str], timeout_s: float = 30) -> dict[str, Any]:
        deadline = time.monotonic() + timeout_s
        while True:
            s = self.status(rid, token)
            if s[field] in values or time.monotonic() > deadline:
                return s
            time.sleep(0.2)


def assert_problem(r: requests.Response, status: int, slug: str | None = None) -> dict[str, Any]:
    assert r.status_code == status, f"{r.status_code} {r.text}"
    assert r.headers["Content-Type"].startswith("application/problem+json"), r.headers["Content-Type"]
    body = dict(r.json())
    assert body["status"] == status and "title" in body and "detail" in body
    if slug:
        assert body["type"] == slug, body
    return body


def run_cli(aws_port: int, *args: str) -> subprocess.CompletedProcess[str]:
    """The `prakerja` operations CLI against the local stack whose moto listens on aws_port."""
    env = {**os.environ, "PRAKERJA_AWS_PORT": str(aws_port)}
    env.pop("AWS_ENDPOINT_URL", None)
    return subprocess.run(
        [sys.executable, "-m", "infra.cli", *args], env=env, capture_output=True, text=True, timeout=60, check=False
    )


def create_batch(aws_port: int, batch_id: str, name: str, seats: int) -> subprocess.CompletedProcess[str]:
    return run_cli(aws_port, "batch", "create", "--id", batch_id, "--name", name, "--seats", str(seats))
