"""The local gateway serves exactly the template's routes (and the local-only mailbox), and the
template's routes are exactly the contract's."""

from __future__ import annotations

import re

import pytest

from infra.launcher import ROOT
from infra.local.template import load_template
from tests.e2e.client import Api, assert_problem

pytestmark = pytest.mark.e2e

CONTRACT = {
    ("POST", "/registrations"),
    ("POST", "/registrations/{id}/email-verification"),
    ("POST", "/registrations/{id}/email-verification/resend"),
    ("POST", "/sessions"),
    ("GET", "/registrations/{id}"),
    ("POST", "/registrations/{id}/nik"),
    ("POST", "/registrations/{id}/photo"),
    ("GET", "/batches"),
    ("POST", "/registrations/{id}/batch"),
    ("GET", "/health"),
    ("GET", "/registrations/{id}/personal-data"),
    ("DELETE", "/registrations/{id}"),
}
GATEWAY_MISS = "No such resource or method."


def template_routes() -> set[tuple[str, str]]:
    template = load_template(ROOT / "template.yaml")
    routes = set()
    for resource in template.resources.values():
        for event in (resource.get("Properties", {}).get("Events") or {}).values():
            if event.get("Type") == "Api":
                routes.add((event["Properties"]["Method"].upper(), event["Properties"]["Path"]))
    return routes


def test_template_routes_are_the_contract():
    assert template_routes() == CONTRACT


@pytest.mark.parametrize(("method", "path"), sorted(CONTRACT))
def test_every_template_route_reaches_its_function(api: Api, method: str, path: str):
    r = api.call(method, re.sub(r"{\w+}", "0" * 32, path), json={} if method == "POST" else None)
    assert r.status_code < 500
    assert r.json().get("detail") != GATEWAY_MISS


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/"),
        ("GET", "/registrations"),
        ("PUT", "/registrations"),
        ("POST", "/registrations/x/unknown"),
        ("GET", "/_dev"),
        ("POST", "/batches"),
        ("GET", "/health/x"),
    ],
)
def test_nothing_else_is_served(api: Api, method: str, path: str):
    r = api.call(method, path)
    body = assert_problem(r, 404 if r.status_code == 404 else 405)
    assert body["detail"] == GATEWAY_MISS or r.status_code == 405
