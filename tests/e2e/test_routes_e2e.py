"""The running local gateway reaches a function on every route of the contract, serves its
OpenAPI document and reference page, and nothing else."""

from __future__ import annotations

import re

import pytest

from tests.contract.routes import route_set
from tests.e2e.client import Api, assert_problem

pytestmark = pytest.mark.e2e

CONTRACT = route_set()  # the handlers' routes; template = document = gateway: tests/contract/test_routes.py
GATEWAY_MISS = "No such resource or method."


@pytest.mark.parametrize(("method", "path"), sorted(CONTRACT))
def test_every_template_route_reaches_its_function(api: Api, method: str, path: str):
    r = api.call(method, re.sub(r"{\w+}", "0" * 32, path), json={} if method == "POST" else None)
    assert r.status_code < 500
    assert not r.content or r.json().get("detail") != GATEWAY_MISS


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


def test_the_openapi_document_and_the_reference_page_are_served(api: Api):
    doc = api.call("GET", "/openapi.json")
    assert doc.status_code == 200 and doc.headers["Content-Type"] == "application/json"
    body = doc.json()
    assert body["openapi"].startswith("3.1")
    assert {(m.upper(), p) for p, ops in body["paths"].items() for m in ops} == CONTRACT
    assert body["servers"][0]["url"] == api.base  # "Try it out" reaches this stack
    page = api.call("GET", "/docs")
    assert page.status_code == 200 and page.headers["Content-Type"].startswith("text/html")
    assert "/docs/swagger-ui-bundle.js" in page.text and "http" not in page.text  # nothing from a CDN
    for asset, kind in [("/docs/swagger-ui-bundle.js", "javascript"), ("/docs/swagger-ui.css", "css")]:
        r = api.call("GET", asset)
        assert r.status_code == 200 and kind in r.headers["Content-Type"] and len(r.content) > 10_000, asset
    assert "/openapi.json" in api.call("GET", "/docs/init.js").text
    assert_problem(api.call("POST", "/openapi.json"), 405)
    assert_problem(api.call("GET", "/docs/missing.js"), 404)
