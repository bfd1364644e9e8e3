"""The OpenAPI 3.1 document of the API, generated from the code: `make openapi` -> docs/openapi.json.

The route list is read from the handlers, the one place a route is declared: every
functions/<operation>/app.py with `@fn.route(METHOD, PATH)`. The handler's source also tells the
request body model (`fn.body(Model)`), authentication (`fn.authenticate(...)` / `fn.bearer(...)`),
an id checked by `require_registration_id`, the Idempotency-Key header and the success status
(`json_response(201, ...)`, `Response(204, ...)`). prakerja.http.contract adds per route the
summary, the success body model (prakerja.http.models) and the domain errors, whose status and
title come from prakerja.http.problems. Schemas are the pydantic models' JSON Schemas.

    python -m infra.openapi            write docs/openapi.json
    python -m infra.openapi --check    exit 1 when docs/openapi.json is not what the code says
"""

from __future__ import annotations

import argparse
import ast
import importlib
import json
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from prakerja.domain import errors
from prakerja.domain.errors import DomainError
from prakerja.http import problems
from prakerja.http.contract import BUSY, REQUEST_RULES, ROUTES, RouteDoc
from prakerja.http.models import Problem

ROOT = Path(__file__).resolve().parents[1]
FUNCTIONS_DIR = ROOT / "functions"
DOCUMENT = ROOT / "docs" / "openapi.json"
VERSION = "1.1.0"
LOCAL_SERVER = "http://127.0.0.1:3000"
STAGE_SERVER = "https://{restApiId}.execute-api.{region}.amazonaws.com/{stage}"
SCHEMA_REF = "#/components/schemas/{model}"
PROBLEM_JSON = problems.PROBLEM_CONTENT_TYPE


class RouteError(Exception):
    """A handler whose route cannot be read."""


@dataclass(frozen=True)
class HandlerRoute:
    """One API route as its handler declares it."""

    operation: str  # the function folder: functions/<operation>/app.py
    method: str
    path: str
    body_model: type[BaseModel] | None
    auth: str | None  # "owner" (fn.authenticate: token of this registration), "bearer", or None
    checks_id: bool  # require_registration_id: a malformed id is 404
    idempotency_key: bool
    success: int

    @property
    def key(self) -> str:
        return f"{self.method} {self.path}"


# -- reading the handlers ------------------------------------------------------------------------
def handler_routes(functions_dir: Path = FUNCTIONS_DIR) -> list[HandlerRoute]:
    """Every API route of functions/*/app.py, sorted by path then method."""
    routes = []
    for app in sorted(functions_dir.glob("*/app.py")):
        route = read_handler(app)
        if route is not None:
            routes.append(route)
    keys = [r.key for r in routes]
    duplicates = sorted({k for k in keys if keys.count(k) > 1})
    if duplicates:
        raise RouteError(f"routes declared by more than one handler: {duplicates}")
    return sorted(routes, key=lambda r: (r.path, r.method))


def read_handler(app: Path) -> HandlerRoute | None:
    tree = ast.parse(app.read_text(encoding="utf-8"), filename=str(app))
    imports = _imported_names(tree)
    found: list[tuple[str, str, ast.FunctionDef]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef):
            for deco in node.decorator_list:
                if isinstance(deco, ast.Call) and isinstance(deco.func, ast.Attribute) and deco.func.attr == "route":
                    method, path = (_literal(a, app) for a in deco.args[:2])
                    found.append((method.upper(), path, node))
    if not found:
        return None
    if len(found) > 1:
        raise RouteError(f"{app}: one route per function, found {len(found)}")
    method, path, fn = found[0]
    calls = [n for n in ast.walk(fn) if isinstance(n, ast.Call)]
    body_model = None
    auth = None
    checks_id = idempotency = False
    statuses = set()
    for call in calls:
        name = call.func.attr if isinstance(call.func, ast.Attribute) else getattr(call.func, "id", "")
        if name == "body" and call.args and isinstance(call.args[0], ast.Name):
            body_model = _resolve_model(call.args[0].id, imports, app)
        elif name == "authenticate":
            auth = "owner"
        elif name == "bearer" and auth is None:
            auth = "bearer"
        elif name == "require_registration_id":
            checks_id = True
        elif name == "header" and call.args and _literal(call.args[0], app).lower() == "idempotency-key":
            idempotency = True
        elif name in ("json_response", "Response") and call.args:
            status = call.args[0]
            if isinstance(status, ast.Constant) and isinstance(status.value, int):
                statuses.add(status.value)
    success = sorted(s for s in statuses if 200 <= s < 300)
    if len(success) != 1:
        raise RouteError(f"{app}: expected one literal success status, found {success}")
    operation = app.parent.name
    return HandlerRoute(operation, method, path, body_model, auth, checks_id, idempotency, success[0])


def _literal(node: ast.expr, app: Path) -> str:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    raise RouteError(f"{app}:{node.lineno}: route method and path must be string literals")


def _imported_names(tree: ast.Module) -> dict[str, str]:
    names = {}
    for node in tree.body:
        if isinstance(node, ast.ImportFrom) and node.module:
            for alias in node.names:
                names[alias.asname or alias.name] = f"{node.module}:{alias.name}"
    return names


def _resolve_model(name: str, imports: dict[str, str], app: Path) -> type[BaseModel]:
    if name not in imports:
        raise RouteError(f"{app}: body model {name} is not imported by name")
    module, attr = imports[name].split(":")
    model = getattr(importlib.import_module(module), attr)
    if not (isinstance(model, type) and issubclass(model, BaseModel)):
        raise RouteError(f"{app}: {name} is not a pydantic model")
    return model


# -- the document ----------------------------------------------------------------------------------
def error_classes(route: HandlerRoute, doc: RouteDoc | None) -> list[type[DomainError]]:
    """Every domain error the route can answer with: the documented ones plus what the handler shows."""
    found: list[type[DomainError]] = list(doc.errors if doc else ())
    if route.body_model is not None:
        found += [errors.ValidationFailed, problems.PayloadTooLarge]
    if route.auth is not None:
        found.append(errors.Unauthorized)
    if route.auth == "owner" or route.checks_id:
        found.append(errors.NotFound)
    if doc is None or doc.busy:
        found.append(BUSY)
    unique: dict[str, type[DomainError]] = {}
    for cls in found:
        unique.setdefault(cls.slug, cls)
    return list(unique.values())


def _error_responses(classes: Iterable[type[DomainError]]) -> dict[str, Any]:
    by_status: dict[int, list[str]] = {}
    for cls in classes:
        status, _ = problems.STATUS_AND_TITLE[cls.slug]
        by_status.setdefault(status, []).append(cls.slug)
    responses: dict[str, Any] = {}
    for status, found in sorted(by_status.items()):
        slugs = sorted(found)
        description = "; ".join(f"`{s}`: {problems.STATUS_AND_TITLE[s][1]}" for s in slugs)
        schema = {
            "allOf": [{"$ref": SCHEMA_REF.format(model="Problem")}],
            "properties": {"type": {"enum": slugs}, "status": {"const": status}},
        }
        response: dict[str, Any] = {"description": description, "content": {PROBLEM_JSON: {"schema": schema}}}
        headers = {}
        if status in (429, 503):
            headers["Retry-After"] = {"$ref": "#/components/headers/Retry-After"}
        if status == 401:
            headers["WWW-Authenticate"] = {"$ref": "#/components/headers/WWW-Authenticate"}
        if headers:
            response["headers"] = headers
        responses[str(status)] = response
    return responses


def _operation(route: HandlerRoute, doc: RouteDoc | None, with_id: list[HandlerRoute]) -> dict[str, Any]:
    op: dict[str, Any] = {
        "operationId": route.operation,
        "summary": doc.summary if doc else route.operation.replace("_", " "),
        "tags": [doc.tag if doc else "undocumented"],
    }
    if doc and doc.description:
        op["description"] = doc.description
    params: list[dict[str, Any]] = [
        {
            "name": name,
            "in": "path",
            "required": True,
            "schema": {"type": "string"},
            "description": "The registration id (32 hex digits)." if name == "id" else name,
        }
        for name in _path_params(route.path)
    ]
    if route.idempotency_key:
        params.append({"$ref": "#/components/parameters/Idempotency-Key"})
    params.append({"$ref": "#/components/parameters/Accept-Language"})
    op["parameters"] = params
    if route.body_model is not None:
        op["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": {"$ref": SCHEMA_REF.format(model=route.body_model.__name__)}}},
        }
    if route.auth is not None:
        op["security"] = [{"bearerAuth": []}]
    success: dict[str, Any] = {"description": _success_description(route.success)}
    if doc is not None and doc.response is not None:
        success["content"] = {"application/json": {"schema": {"$ref": SCHEMA_REF.format(model=doc.response.__name__)}}}
    elif doc is None and route.success != 204:
        success["content"] = {"application/json": {"schema": {}}}  # not documented yet (see the tests)
    if doc is not None and doc.response is not None and "registration_id" in doc.response.model_fields:
        # the id in this answer is the {id} of the registration's other operations (links: clients, stateful tests)
        success["links"] = {
            other.operation: {"operationId": other.operation, "parameters": {"id": "$response.body#/registration_id"}}
            for other in with_id
            if other.key != route.key
        }
    if doc is not None and doc.cache_control:
        success["headers"] = {
            "Cache-Control": {"schema": {"type": "string", "const": doc.cache_control}, "description": "Caching."}
        }
    op["responses"] = {str(route.success): success, **_error_responses(error_classes(route, doc))}
    return op


def _success_description(status: int) -> str:
    return {200: "OK", 201: "Created", 202: "Accepted", 204: "No content"}.get(status, "Success")


def _path_params(path: str) -> list[str]:
    return [part[1:-1] for part in path.split("/") if part.startswith("{") and part.endswith("}")]


def _schemas(routes: list[HandlerRoute]) -> dict[str, Any]:
    models: list[tuple[type[BaseModel], Any]] = [(Problem, "serialization")]
    for route in routes:
        doc = ROUTES.get(route.key)
        if route.body_model is not None:
            models.append((route.body_model, "validation"))
        if doc is not None and doc.response is not None:
            models.append((doc.response, "serialization"))
    unique = list({m.__name__: (m, mode) for m, mode in models}.values())
    _, top = models_json_schema(unique, ref_template=SCHEMA_REF)
    schemas: dict[str, Any] = top.get("$defs", {})
    for model, fields in REQUEST_RULES.items():
        for name, rules in fields.items():
            if model in schemas:
                schemas[model]["properties"][name].update(rules)
    return schemas


def build(routes: list[HandlerRoute] | None = None) -> dict[str, Any]:
    routes = handler_routes() if routes is None else routes
    paths: dict[str, dict[str, Any]] = {}
    with_id = [r for r in routes if "id" in _path_params(r.path)]
    for route in routes:
        paths.setdefault(route.path, {})[route.method.lower()] = _operation(route, ROUTES.get(route.key), with_id)
    tags = sorted({op["tags"][0] for ops in paths.values() for op in ops.values()})
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Prakerja registration API",
            "version": VERSION,
            "summary": "Citizen registration: email, NIK check, photo, training batch.",
            "description": (
                "Generated from the code by `make openapi` (infra/openapi.py): routes from the handlers "
                "(`functions/<operation>/app.py`), bodies from the pydantic models (prakerja.http.schemas, "
                "prakerja.http.models), problem slugs from prakerja.http.problems. The prose contract is "
                "docs/API.md. Every 4xx/5xx body is application/problem+json (RFC 9457) with a stable `type` "
                "slug; (auth) operations take `Authorization: Bearer <token>` from the email verification or "
                "POST /sessions."
            ),
        },
        "servers": [
            {"url": LOCAL_SERVER, "description": "Local stack (`make dev`; port from PRAKERJA_PORT)"},
            {
                "url": STAGE_SERVER,
                "description": "Deployed stage (the stack output ApiUrl)",
                "variables": {
                    "restApiId": {"default": "API_ID", "description": "The REST API id (stack output ApiUrl)."},
                    "region": {"default": "ap-southeast-3"},
                    "stage": {"default": "v1"},
                },
            },
        ],
        "tags": [{"name": t} for t in tags],
        "paths": paths,
        "components": {
            "schemas": _schemas(routes),
            "securitySchemes": {
                "bearerAuth": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "`access_token` from POST /registrations/{id}/email-verification or POST /sessions.",
                }
            },
            "parameters": {
                "Idempotency-Key": {
                    "name": "Idempotency-Key",
                    "in": "header",
                    "required": False,
                    "schema": {"type": "string", "minLength": 1, "maxLength": 255},
                    "description": "A retry with the same key and body returns the first answer (kept 24 h).",
                },
                "Accept-Language": {
                    "name": "Accept-Language",
                    "in": "header",
                    "required": False,
                    "schema": {"type": "string"},
                    "description": "Preferring `id` gives Indonesian problem `title`/`detail`; otherwise English.",
                },
            },
            "headers": {
                "Retry-After": {
                    "schema": {"type": "string", "pattern": "^[0-9]+$"},
                    "description": "Seconds to wait before asking again.",
                },
                "WWW-Authenticate": {"schema": {"type": "string"}, "description": "`Bearer realm=...`"},
            },
        },
    }


def render(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def undocumented(routes: list[HandlerRoute] | None = None) -> list[str]:
    """Routes served by a handler without an entry in prakerja.http.contract.ROUTES."""
    return [r.key for r in (handler_routes() if routes is None else routes) if r.key not in ROUTES]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m infra.openapi", description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail when the committed document is stale")
    parser.add_argument("--output", type=Path, default=DOCUMENT)
    args = parser.parse_args(argv)
    try:
        routes = handler_routes()
    except RouteError as exc:
        sys.stderr.write(f"openapi: {exc}\n")
        return 2
    text = render(build(routes))
    for key in undocumented(routes):
        sys.stderr.write(f"openapi: {key} has no entry in src/prakerja/http/contract.py (summary, body, errors)\n")
    if args.check:
        current = args.output.read_text(encoding="utf-8") if args.output.exists() else ""
        if current != text:
            sys.stderr.write(f"openapi: {args.output} is stale: run `make openapi` and commit it\n")
            return 1
        return 0
    args.output.write_text(text, encoding="utf-8")
    print(f"openapi: wrote {args.output} ({len(routes)} routes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
