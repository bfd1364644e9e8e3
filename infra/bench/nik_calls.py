"""Registry calls per NIK submission at failure rates 0, 0.3 and 0.5 (the floor is 1/(1-f)),
and the peak registry call rate against its configured cap. Runs the whole local stack on
free loopback ports, drives it over HTTP, reads the stand-in's own call counters.

    .venv/bin/python -m infra.bench.nik_calls [--submissions 30] [--cap 5]
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import requests

from infra.launcher import LocalStack


def person(i: int) -> dict[str, Any]:
    """A structurally valid synthetic person (Jawa Barat / Kab. Bogor, born 1990-07-<day>, male)."""
    day = 1 + i % 28
    suffix = chr(65 + i % 26) + chr(65 + (i // 26) % 26)
    return {
        "nik": f"320101{day:02d}0790{i:04d}",
        "full_name": f"Warga Bench {suffix}",
        "birth_date": f"1990-07-{day:02d}",
        "gender": "M",
    }


class Driver:
    def __init__(self, stack: LocalStack) -> None:
        self.api, self.registry, self.http = stack.url, stack.registry_url, requests.Session()

    def account(self) -> tuple[str, str]:
        email = f"bench-{uuid.uuid4().hex[:10]}@example.com"
        r = self.http.post(
            f"{self.api}/registrations",
            json={
                "email": email,
                "password": "password-123",  # nosec B105 # throwaway benchmark account
                "full_name": "Warga Bench",
                "phone": "081234567890",
                "consent": {"terms_version": "2026-01", "accepted": True},
            },
        )
        rid = r.json()["registration_id"]
        for _ in range(200):
            msgs = self.http.get(f"{self.api}/_dev/mailbox", params={"to": email}).json()["messages"]
            if msgs:
                break
            time.sleep(0.05)
        code = re.search(r"\b(\d{6})\b", msgs[-1]["text"]).group(1)  # type: ignore[union-attr]
        v = self.http.post(f"{self.api}/registrations/{rid}/email-verification", json={"code": code})
        return rid, v.json()["access_token"]

    def admin(self, method: str, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        r = self.http.request(method, self.registry + path, json=body, timeout=5)
        return dict(r.json()) if r.content else {}


def run(submissions: int, cap: int) -> list[dict[str, Any]]:
    with tempfile.TemporaryDirectory() as tmp:
        fixture = Path(tmp) / "people.jsonl"
        fixture.write_text("".join(json.dumps(person(i)) + "\n" for i in range(1, 3 * submissions + 1)))
        stack = LocalStack(
            {
                "PRAKERJA_REGISTRY_FIXTURE": str(fixture),
                "POWERTOOLS_LOG_LEVEL": "ERROR",
                "BREAKER_COOLDOWN_S": "2",
                "NIK_BACKOFF_BASE_S": "1",
                "NIK_BACKOFF_CAP_S": "2",
                "REGISTRY_TIMEOUT_S": "1",
                "PRAKERJA_LOCAL_REGISTRY_TIMEOUT_S": "1",
                "REGISTRY_MAX_RPS": str(cap),
                "PRAKERJA_LOCAL_REGISTRY_MAX_RPS": str(cap),
            }
        )
        stack.start()
        try:
            return [
                measure(Driver(stack), rate, submissions, offset)
                for offset, rate in ((0, 0.0), (submissions, 0.3), (2 * submissions, 0.5))
            ]
        finally:
            stack.stop()


def measure(d: Driver, rate: float, submissions: int, offset: int) -> dict[str, Any]:
    accounts = [d.account() for _ in range(submissions)]
    d.admin("PUT", "/_admin/config", {"failure_rate": rate})
    d.admin("POST", "/_admin/stats/reset")
    started = time.monotonic()
    for i, (rid, token) in enumerate(accounts, start=offset + 1):
        auth = {"Authorization": f"Bearer {token}"}
        r = d.http.post(f"{d.api}/registrations/{rid}/nik", json=person(i), headers=auth)
        if r.status_code != 202:
            raise SystemExit(f"NIK submission refused: {r.status_code} {r.text}")
    outcome: list[str] = []
    while time.monotonic() - started < 600:
        outcome = [
            d.http.get(f"{d.api}/registrations/{rid}", headers={"Authorization": f"Bearer {t}"}).json()["nik_status"]
            for rid, t in accounts
        ]
        if "PENDING" not in outcome:
            break
        time.sleep(0.5)
    elapsed = time.monotonic() - started
    stats = d.admin("GET", "/_admin/stats")
    d.admin("PUT", "/_admin/config", {"failure_rate": 0.0})
    return {
        "failure_rate": rate,
        "submissions": submissions,
        "verified": outcome.count("VERIFIED"),
        "registry_calls": stats["calls"],
        "calls_per_submission": round(stats["calls"] / submissions, 2),
        "floor": round(1 / (1 - rate), 2),
        "peak_calls_per_s": stats["max_calls_in_one_second"],
        "elapsed_s": round(elapsed, 1),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--submissions", type=int, default=30)
    parser.add_argument("--cap", type=int, default=5, help="REGISTRY_MAX_RPS for the run")
    args = parser.parse_args(argv)
    rows = run(args.submissions, args.cap)
    print(f"registry cap: {args.cap} calls/s")
    print(f"{'failure':>8}{'verified':>10}{'calls':>7}{'per sub':>9}{'floor':>7}{'peak/s':>8}{'time s':>8}")
    for r in rows:
        print(
            f"{r['failure_rate']:>8}{r['verified']:>7}/{r['submissions']:<2}{r['registry_calls']:>7}"
            f"{r['calls_per_submission']:>9}{r['floor']:>7}{r['peak_calls_per_s']:>8}{r['elapsed_s']:>8}"
        )
    return 0 if all(r["verified"] == r["submissions"] and r["peak_calls_per_s"] <= args.cap for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
