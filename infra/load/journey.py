"""The funnel journey as a Locust user: register -> code from the dev mailbox -> verify -> NIK.

Each Locust user is one concurrent client that walks registrants through the funnel one after
another until the plan's registrant count is used up. Against a deployed stage (no mailbox) the
journey is register -> login (which answers 403 `email-not-verified`), the steps that need no code.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from locust import FastHttpUser, task
from locust.exception import StopUser

from infra.load.people import person

CODE = re.compile(r"\b(\d{6})\b")
MAILBOX_POLL_S = (0.25, 1.0)  # first wait between mailbox reads, growing by half up to the second
TERMS_VERSION = "2026-01"  # the terms every synthetic registrant accepts

# Route names as the API contract writes them (concrete ids never become separate routes).
REGISTER = "POST /registrations"
MAILBOX = "GET /_dev/mailbox"
VERIFY = "POST /registrations/{id}/email-verification"
NIK = "POST /registrations/{id}/nik"
STATUS = "GET /registrations/{id}"
LOGIN = "POST /sessions"


@dataclass
class Plan:
    """What the run does, and what it has done so far (one Locust process: greenlets, no locks)."""

    registrants: int
    run_id: str
    local: bool = True  # the dev mailbox exists: the whole funnel
    status_reads: bool = False
    code_timeout_s: float = 60.0
    offset: int = 0  # registrant numbers start after this
    started: int = 0
    finished: int = 0
    failed: int = 0
    outcomes: dict[str, int] = field(default_factory=dict)  # journey end -> count
    registered: set[str] = field(default_factory=set)  # registration ids answered 201
    nik_accepted: set[str] = field(default_factory=set)  # registration ids whose NIK answered 202
    code_delivery_s: list[float] = field(default_factory=list)  # 201 -> code readable in the mailbox
    journey_ends: list[float] = field(default_factory=list)  # wall-clock time of each finished journey

    def next_registrant(self) -> int | None:
        if self.started >= self.registrants:
            return None
        self.started += 1
        return self.offset + self.started

    def end(self, outcome: str) -> None:
        self.finished += 1
        self.journey_ends.append(time.time())
        self.outcomes[outcome] = self.outcomes.get(outcome, 0) + 1
        if outcome != "ok":
            self.failed += 1


class FunnelUser(FastHttpUser):
    plan: Plan  # set by the runner before it starts
    # Waits inside a journey come from the mailbox polling; between journeys there is none.
    network_timeout = 60.0
    connection_timeout = 10.0

    def wait_time(self) -> float:
        return 0.0

    @task
    def journey(self) -> None:
        i = self.plan.next_registrant()
        if i is None:
            raise StopUser()
        who = person(i, self.plan.run_id, simulator_email=not self.plan.local)
        self.plan.end(self._walk(who))

    # -- the steps ------------------------------------------------------------------------------
    def _walk(self, who: dict[str, Any]) -> str:
        body = {k: who[k] for k in ("email", "password", "full_name", "phone")}
        body["consent"] = {"terms_version": TERMS_VERSION, "accepted": True}
        rid = self._post(REGISTER, "/registrations", body, expect=201, key="registration_id")
        if rid is None:
            return "register-failed"
        self.plan.registered.add(rid)
        if not self.plan.local:
            login = {"email": who["email"], "password": who["password"]}
            return "ok" if self._post(LOGIN, "/sessions", login, expect=403) is not None else "login-unexpected"
        registered_at = time.monotonic()
        code = self._code(who["email"])
        if code is None:
            return "no-code"
        self.plan.code_delivery_s.append(time.monotonic() - registered_at)
        token = self._post(
            VERIFY, f"/registrations/{rid}/email-verification", {"code": code}, expect=200, key="access_token"
        )
        if token is None:
            return "verify-failed"
        auth = {"Authorization": f"Bearer {token}"}
        if self._post(NIK, f"/registrations/{rid}/nik", who["nik"], expect=202, key="nik_status", headers=auth) is None:
            return "nik-failed"
        self.plan.nik_accepted.add(rid)
        if self.plan.status_reads:
            with self.client.get(f"/registrations/{rid}", name=STATUS, headers=auth, catch_response=True) as r:
                if r.status_code != 200:
                    r.failure(f"status {r.status_code}")
                    return "status-failed"
        return "ok"

    def _post(
        self,
        name: str,
        path: str,
        body: dict[str, Any],
        *,
        expect: int,
        key: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> str | None:
        """The value of `key` in the answer (or "" without a key) when it has the expected status."""
        with self.client.post(path, json=body, name=name, headers=headers, catch_response=True) as r:
            if r.status_code != expect:
                r.failure(f"status {r.status_code}")
                return None
            if key is None:
                r.success()
                return ""
            try:
                value = r.json()[key]
            except (ValueError, KeyError, TypeError):
                r.failure(f"no {key} in the answer")
                return None
            r.success()
            return str(value)

    def _code(self, email: str) -> str | None:
        deadline = time.monotonic() + self.plan.code_timeout_s
        pause, longest = MAILBOX_POLL_S
        while time.monotonic() < deadline:
            with self.client.get(f"/_dev/mailbox?{urlencode({'to': email})}", name=MAILBOX, catch_response=True) as r:
                if r.status_code != 200:
                    r.failure(f"status {r.status_code}")
                else:
                    r.success()
                    for message in r.json().get("messages", []):
                        if "verifikasi" in message.get("subject", "").lower():
                            match = CODE.search(message.get("text", ""))
                            if match:
                                return match.group(1)
            time.sleep(pause)  # gevent-patched: yields to the other users
            pause = min(longest, pause * 1.5)
        return None
