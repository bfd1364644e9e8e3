"""NIK verification end to end: structural typos at once, asynchronous registry check,
one NIK per person, release after rejection, and a flaky or dead registry."""

from __future__ import annotations

import concurrent.futures as cf
import time

import pytest
import requests

from tests.e2e.client import Api, assert_problem
from tests.e2e.people import next_person, unknown_person

pytestmark = pytest.mark.e2e


def submit(api: Api, rid: str, token: str, person: dict, **over: str) -> requests.Response:  # type: ignore[type-arg]
    return api.call("POST", f"/registrations/{rid}/nik", token=token, json={**person, **over})


def registry(stack, path: str, method: str = "GET", json: dict | None = None) -> dict:  # type: ignore[no-untyped-def, type-arg]
    r = requests.request(method, stack.registry_url + path, json=json, timeout=5)
    r.raise_for_status()
    return dict(r.json()) if r.content else {}


def test_verified_flow_and_result_email(api: Api):
    person = next_person()
    account, rid, token = api.verified_person()
    r = submit(api, rid, token, person)
    assert r.status_code == 202 and r.json() == {"nik_status": "PENDING"}
    s = api.wait_status(rid, token, "nik_status", {"VERIFIED", "REJECTED"})
    assert (s["nik_status"], s["nik_reason"], s["status"]) == ("VERIFIED", None, "NIK_VERIFIED")
    assert person["nik"] not in str(s)
    mails = api.wait_mail(account["email"], 2)
    assert any("NIK" in m["subject"] for m in mails)
    assert_problem(submit(api, rid, token, person), 409, "nik-already-submitted")


def test_name_is_matched_case_and_space_insensitively(api: Api):
    person = next_person()
    _, rid, token = api.verified_person()
    shouted = "  " + person["full_name"].upper().replace(" ", "   ")
    assert submit(api, rid, token, person, full_name=shouted).status_code == 202
    assert api.wait_status(rid, token, "nik_status", {"VERIFIED", "REJECTED"})["nik_status"] == "VERIFIED"


def test_mismatch_then_corrected_resubmission(api: Api):
    person = next_person()
    _, rid, token = api.verified_person()
    assert submit(api, rid, token, person, full_name="Nama Yang Salah").status_code == 202
    s = api.wait_status(rid, token, "nik_status", {"VERIFIED", "REJECTED"})
    assert (s["nik_status"], s["nik_reason"], s["status"]) == ("REJECTED", "MISMATCH", "NIK_REJECTED")
    assert submit(api, rid, token, person).status_code == 202
    assert api.wait_status(rid, token, "nik_status", {"VERIFIED"})["nik_status"] == "VERIFIED"


def test_not_found(api: Api):
    _, rid, token = api.verified_person()
    assert submit(api, rid, token, unknown_person()).status_code == 202
    s = api.wait_status(rid, token, "nik_status", {"VERIFIED", "REJECTED"})
    assert (s["nik_status"], s["nik_reason"]) == ("REJECTED", "NOT_FOUND")


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda p: {**p, "nik": p["nik"][:15]}, "nik"),
        (lambda p: {**p, "nik": "00" + p["nik"][2:]}, "nik"),
        (lambda p: {**p, "nik": p["nik"][:12] + "0000"}, "nik"),
        (lambda p: {**p, "gender": "M" if p["gender"] == "F" else "F"}, None),
        (lambda p: {**p, "birth_date": "1999-13-40"}, "birth_date"),
        (lambda p: {**p, "gender": "X"}, "gender"),
    ],
)
def test_structural_typos_are_422_at_once(api: Api, change, field):
    person = next_person()
    _, rid, token = api.verified_person()
    body = assert_problem(api.call("POST", f"/registrations/{rid}/nik", token=token, json=change(person)), 422)
    fields = {e["field"] for e in body["errors"]}
    assert (field in fields) if field else fields & {"nik", "gender", "birth_date"}
    assert person["nik"] not in str(body)
    assert api.status(rid, token)["nik_status"] == "NONE"


def test_auth_comes_before_validation(api: Api):
    _, rid, _ = api.verified_person()
    _, _, other = api.verified_person()
    assert_problem(api.call("POST", f"/registrations/{rid}/nik", json={"nik": "x"}), 401)
    assert_problem(api.call("POST", f"/registrations/{rid}/nik", token=other, json=next_person()), 404)


def test_six_accounts_race_for_one_nik_exactly_one_wins(api: Api):
    person = next_person()
    accounts = [api.verified_person() for _ in range(6)]
    with cf.ThreadPoolExecutor(6) as pool:
        results = list(pool.map(lambda a: submit(api, a[1], a[2], person), accounts))
    codes = sorted(r.status_code for r in results)
    assert codes == [202, 409, 409, 409, 409, 409], codes
    assert all(r.json()["type"] == "nik-taken" for r in results if r.status_code == 409)


def test_nik_is_released_after_rejection(api: Api):
    person = next_person()
    _, first, t1 = api.verified_person()
    _, second, t2 = api.verified_person()
    assert submit(api, first, t1, person, full_name="Orang Lain").status_code == 202
    assert_problem(submit(api, second, t2, person), 409, "nik-taken")
    api.wait_status(first, t1, "nik_status", {"REJECTED"})
    assert submit(api, second, t2, person).status_code == 202
    assert api.wait_status(second, t2, "nik_status", {"VERIFIED"})["nik_status"] == "VERIFIED"


def test_identical_resubmission_while_pending_is_202(api: Api, stack):
    registry(stack, "/_admin/config", "PUT", {"latency_ms": 1500})
    try:
        person = next_person()
        _, rid, token = api.verified_person()
        assert submit(api, rid, token, person).status_code == 202
        assert submit(api, rid, token, person).status_code == 202
        assert_problem(submit(api, rid, token, person, full_name="Beda Nama"), 409, "nik-already-submitted")
    finally:
        registry(stack, "/_admin/config", "PUT", {"latency_ms": 0})
    assert api.wait_status(rid, token, "nik_status", {"VERIFIED"})["nik_status"] == "VERIFIED"


@pytest.mark.slow
def test_half_failing_registry_still_verifies_20_of_20(api: Api, stack):
    accounts = [(next_person(), *api.verified_person()[1:]) for _ in range(20)]
    registry(stack, "/_admin/config", "PUT", {"failure_rate": 0.5})
    try:
        for person, rid, token in accounts:
            assert submit(api, rid, token, person).status_code == 202
        deadline = time.monotonic() + 240
        statuses: list[str] = []
        while time.monotonic() < deadline:
            statuses = [api.status(rid, token)["nik_status"] for _, rid, token in accounts]
            if all(s != "PENDING" for s in statuses):
                break
            time.sleep(1)
    finally:
        registry(stack, "/_admin/config", "PUT", {"failure_rate": 0.0})
    assert statuses.count("VERIFIED") == 20, statuses


@pytest.mark.slow
def test_dead_registry_opens_the_breaker_and_everything_completes_after(api: Api, stack):
    accounts = [(next_person(), *api.verified_person()[1:]) for _ in range(5)]
    registry(stack, "/_admin/config", "PUT", {"failure_rate": 1.0})
    registry(stack, "/_admin/stats/reset", "POST")
    try:
        for person, rid, token in accounts:
            assert submit(api, rid, token, person).status_code == 202
        time.sleep(15)  # the registry stays down
        calls_while_down = registry(stack, "/_admin/stats")["calls"]
        statuses = [api.status(rid, token) for _, rid, token in accounts]
        assert all(s["nik_status"] == "PENDING" for s in statuses)
        assert any(s["nik_reason"] == "UNAVAILABLE" for s in statuses)
    finally:
        registry(stack, "/_admin/config", "PUT", {"failure_rate": 0.0})
    # Without a breaker, 5 checks retried for 15 s would call far more often than this.
    assert calls_while_down <= 15, calls_while_down
    for _, rid, token in accounts:
        assert (
            api.wait_status(rid, token, "nik_status", {"VERIFIED", "REJECTED"}, timeout_s=90)["nik_status"]
            == "VERIFIED"
        )
