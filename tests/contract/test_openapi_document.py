"""docs/openapi.json is generated (`make openapi`), valid OpenAPI 3.1 and complete."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from openapi_spec_validator import validate

from infra import openapi
from prakerja.domain import errors
from prakerja.http import contract, problems

DOCUMENT = json.loads(openapi.DOCUMENT.read_text(encoding="utf-8"))
ROUTES = openapi.handler_routes()


def test_committed_document_is_what_the_code_generates():
    assert openapi.DOCUMENT.read_text(encoding="utf-8") == openapi.render(openapi.build()), (
        "docs/openapi.json is stale: run `make openapi` and commit it"
    )


def test_check_mode_fails_on_a_stale_document(tmp_path: Path):
    stale = tmp_path / "openapi.json"
    stale.write_text(openapi.render({**DOCUMENT, "paths": {}}))
    assert openapi.main(["--check", "--output", str(stale)]) == 1
    fresh = tmp_path / "fresh.json"
    assert openapi.main(["--output", str(fresh)]) == 0
    assert openapi.main(["--check", "--output", str(fresh)]) == 0


def test_generation_is_deterministic():
    assert openapi.render(openapi.build()) == openapi.render(openapi.build())


def test_document_is_valid_openapi_3_1():
    validate(DOCUMENT)
    assert DOCUMENT["openapi"].startswith("3.1")


def test_every_route_is_documented():
    assert openapi.undocumented(ROUTES) == [], "add these routes to src/prakerja/http/contract.py"


@pytest.mark.parametrize("route", ROUTES, ids=lambda r: r.key)
def test_operation_shape(route: openapi.HandlerRoute):
    op = DOCUMENT["paths"][route.path][route.method.lower()]
    assert op["operationId"] == route.operation
    responses = op["responses"]
    assert str(route.success) in responses
    for status, response in responses.items():
        if int(status) >= 400:
            schema = response["content"]["application/problem+json"]["schema"]
            assert schema["allOf"] == [{"$ref": "#/components/schemas/Problem"}]
            for slug in schema["properties"]["type"]["enum"]:
                assert problems.STATUS_AND_TITLE[slug][0] == int(status)
            if int(status) in (429, 503):
                assert "Retry-After" in response["headers"]
    if route.body_model is not None:
        assert "422" in responses and "413" in responses
        ref = op["requestBody"]["content"]["application/json"]["schema"]["$ref"]
        assert ref.rsplit("/", 1)[-1] in DOCUMENT["components"]["schemas"]
    if route.auth is not None:
        assert op["security"] == [{"bearerAuth": []}] and "401" in responses
    else:
        assert "security" not in op
    names = {p.get("name") or p["$ref"].rsplit("/", 1)[-1] for p in op["parameters"]}
    assert "Accept-Language" in names
    assert ("Idempotency-Key" in names) == route.idempotency_key


def test_register_takes_an_idempotency_key_and_protected_routes_need_a_bearer_token():
    by_key = {r.key: r for r in ROUTES}
    assert by_key["POST /registrations"].idempotency_key
    assert by_key["GET /registrations/{id}"].auth == "owner"
    assert by_key["GET /health"].auth is None and by_key["POST /sessions"].auth is None


def test_every_problem_slug_is_documented_on_some_route():
    documented = set()
    for ops in DOCUMENT["paths"].values():
        for op in ops.values():
            for status, response in op["responses"].items():
                if int(status) >= 400:
                    schema = response["content"]["application/problem+json"]["schema"]
                    documented |= set(schema["properties"]["type"]["enum"])
    cli_only = {errors.BatchExists.slug}  # `prakerja batch create`, no HTTP route
    assert set(problems.STATUS_AND_TITLE) - cli_only <= documented


def test_document_has_servers_security_and_the_problem_schema():
    assert DOCUMENT["servers"][0]["url"] == "http://127.0.0.1:3000"
    assert "execute-api" in DOCUMENT["servers"][1]["url"]
    assert DOCUMENT["components"]["securitySchemes"]["bearerAuth"] == {
        "type": "http",
        "scheme": "bearer",
        "description": DOCUMENT["components"]["securitySchemes"]["bearerAuth"]["description"],
    }
    problem = DOCUMENT["components"]["schemas"]["Problem"]
    assert set(problem["required"]) == {"type", "title", "status", "detail"}
    assert {"errors", "attempts_left", "registration_id"} <= set(problem["properties"])


def test_response_models_are_not_on_the_request_path():
    """The handlers never import the response models or the contract (cold starts stay lean)."""
    for app in openapi.FUNCTIONS_DIR.glob("*/app.py"):
        text = app.read_text(encoding="utf-8")
        assert "http.models" not in text and "http.contract" not in text, app
    for module in ("api", "views", "problems", "schemas"):
        text = (openapi.ROOT / "src" / "prakerja" / "http" / f"{module}.py").read_text(encoding="utf-8")
        assert "http.models" not in text and "http.contract" not in text, module
    assert contract.ROUTES  # imported here, by a test


def test_request_rules_name_fields_of_the_request_models():
    """A renamed field would leave its documented rule behind: caught here."""
    from prakerja.http import schemas

    for model_name, fields in contract.REQUEST_RULES.items():
        model = getattr(schemas, model_name, None)
        if model is None:
            continue  # a model of a route not merged yet
        assert set(fields) <= set(model.model_fields), model_name
        assert all(
            set(DOCUMENT["components"]["schemas"].get(model_name, {}).get("properties", {}).get(f, {})) >= set(r)
            for f, r in fields.items()
            if model_name in DOCUMENT["components"]["schemas"]
        )
