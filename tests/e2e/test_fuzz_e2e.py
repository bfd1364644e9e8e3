"""Property-based: no body of any shape makes any route answer 5xx; every 4xx is problem+json."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.e2e.client import Api

pytestmark = pytest.mark.e2e

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=50),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=12,
)
odd_text = st.text(alphabet=st.characters(codec="utf-8"), max_size=300)
FIELDS = {
    "/registrations": ["email", "password", "full_name", "phone", "consent"],
    "/sessions": ["email", "password"],
    "email-verification": ["code"],
    "nik": ["nik", "full_name", "birth_date", "gender"],
    "photo": ["content_type"],
    "batch": ["batch_id"],
}


def bodies(fields: list[str]) -> st.SearchStrategy[str]:
    shaped = st.fixed_dictionaries({f: st.one_of(odd_text, json_values) for f in fields}).map(json.dumps)
    return st.one_of(shaped, json_values.map(json.dumps), odd_text)


def check(r) -> None:  # type: ignore[no-untyped-def]
    assert r.status_code < 500, r.text
    if r.status_code >= 400:
        assert r.headers["Content-Type"].startswith("application/problem+json")
        body = r.json()
        assert {"type", "title", "status", "detail"} <= body.keys()


FUZZ = settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))


@FUZZ
@given(body=bodies(FIELDS["/registrations"]))
def test_register_never_5xx(api: Api, body: str):
    check(api.call("POST", "/registrations", data=body.encode("utf-8", "surrogatepass")))


@FUZZ
@given(body=bodies(FIELDS["/sessions"]))
def test_sessions_never_5xx(api: Api, body: str):
    check(api.call("POST", "/sessions", data=body.encode("utf-8", "surrogatepass")))


@FUZZ
@given(
    body=bodies(FIELDS["email-verification"]),
    rid=st.one_of(st.just("a" * 32), st.text(alphabet="abcdef0123456789-_%.", min_size=1, max_size=40)),
)
def test_verify_never_5xx(api: Api, body: str, rid: str):
    check(api.call("POST", f"/registrations/{rid}/email-verification", data=body.encode("utf-8", "surrogatepass")))


@pytest.fixture(scope="module")
def someone(api: Api) -> tuple[str, str]:
    _, rid, token = api.verified_person()
    return rid, token


@pytest.mark.parametrize("route", ["nik", "photo", "batch"])
def test_authenticated_routes_never_5xx(api: Api, someone: tuple[str, str], route: str):
    rid, token = someone

    @FUZZ
    @given(body=bodies(FIELDS[route]))
    def run(body: str) -> None:
        check(
            api.call("POST", f"/registrations/{rid}/{route}", token=token, data=body.encode("utf-8", "surrogatepass"))
        )

    run()
