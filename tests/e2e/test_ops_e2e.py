"""Operations on a stack of their own: the funnel command against a known run, and NIK checks
parked in the DLQ when the registry stays down, then redriven by an operator."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from infra.launcher import LocalStack
from tests.e2e.client import Api, create_batch, run_cli
from tests.e2e.conftest import started_stack
from tests.e2e.people import next_person
from tests.imagegen import make_jpeg

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


@pytest.fixture(scope="module")
def ops_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    s = started_stack(
        Path(tmp_path_factory.mktemp("ops")), BREAKER_COOLDOWN_S="1", NIK_BACKOFF_CAP_S="1", NIK_MAX_DEFERRALS="0"
    )
    yield s
    s.stop()


@pytest.fixture(scope="module")
def ops_api(ops_stack: LocalStack) -> Api:
    return Api(ops_stack.url)


def funnel(stack: LocalStack) -> dict[str, int]:
    out = run_cli(stack.aws_port, "funnel", "--json")
    assert out.returncode == 0, out.stderr
    return {row["step"]: row["count"] for row in json.loads(out.stdout)["funnel"]}


def wait_funnel(stack: LocalStack, expected: dict[str, int], timeout_s: float = 30) -> dict[str, int]:
    deadline = time.monotonic() + timeout_s
    while True:
        got = funnel(stack)
        if got == expected or time.monotonic() > deadline:
            return got
        time.sleep(0.5)


def test_funnel_counts_a_known_run(ops_api: Api, ops_stack: LocalStack):
    assert funnel(ops_stack) == dict.fromkeys(
        ("registered", "email_verified", "nik_verified", "photo_accepted", "joined"), 0
    )
    # 4 register; 3 verify email; 2 verify NIK; 2 photos accepted; 1 joins.
    ops_api.register()
    people = [ops_api.verified_person() for _ in range(3)]
    for _, rid, token in people[:2]:
        ops_api.call("POST", f"/registrations/{rid}/nik", token=token, json=next_person())
        post = ops_api.call(
            "POST", f"/registrations/{rid}/photo", token=token, json={"content_type": "image/jpeg"}
        ).json()
        requests.post(
            post["url"], data=post["fields"], files={"file": ("p", make_jpeg(300, 300), "image/jpeg")}, timeout=30
        )
        ops_api.wait_status(rid, token, "status", {"READY"})
    assert create_batch(ops_stack.aws_port, "ops-1", "Ops", 10).returncode == 0
    _, rid, token = people[0]
    joined = ops_api.call("POST", f"/registrations/{rid}/batch", token=token, json={"batch_id": "ops-1"})
    assert joined.status_code == 200
    expected = {"registered": 4, "email_verified": 3, "nik_verified": 2, "photo_accepted": 2, "joined": 1}
    assert wait_funnel(ops_stack, expected) == expected
    table = run_cli(ops_stack.aws_port, "funnel").stdout
    assert "75.0%" in table and "25.0%" in table  # 3 of 4 verified email; 1 of 4 joined


def test_dead_registry_parks_checks_in_the_dlq_and_redrive_finishes_them(ops_api: Api, ops_stack: LocalStack):
    admin = ops_stack.registry_url + "/_admin/config"
    requests.put(admin, json={"failure_rate": 1.0}, timeout=5).raise_for_status()
    try:
        _, rid, token = ops_api.verified_person()
        assert ops_api.call("POST", f"/registrations/{rid}/nik", token=token, json=next_person()).status_code == 202
        deadline = time.monotonic() + 120
        listed: dict = {}  # type: ignore[type-arg]
        while time.monotonic() < deadline:
            out = run_cli(ops_stack.aws_port, "dlq", "list", "--queue", "nik", "--json")
            assert out.returncode == 0, out.stderr
            listed = json.loads(out.stdout)
            if any(m.get("registration_id") == rid for m in listed.get("messages", [])):
                break
            time.sleep(2)
        assert any(m.get("registration_id") == rid for m in listed.get("messages", [])), listed
        s = ops_api.status(rid, token)
        assert (s["nik_status"], s["nik_reason"]) == ("PENDING", "UNAVAILABLE")
    finally:
        requests.put(admin, json={"failure_rate": 0.0}, timeout=5).raise_for_status()
    moved = run_cli(ops_stack.aws_port, "dlq", "redrive", "--queue", "nik")
    assert moved.returncode == 0, moved.stderr
    assert ops_api.wait_status(rid, token, "nik_status", {"VERIFIED"}, timeout_s=60)["nik_status"] == "VERIFIED"
