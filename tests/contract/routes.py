"""The route list, written once: the handlers' `@fn.route(METHOD, PATH)` (read by infra/openapi.py).
Every other view of the routes (template, OpenAPI document, local gateway) is compared with it."""

from __future__ import annotations

import json
from typing import Any

from infra.local.events import event_sources
from infra.local.functions import function_specs
from infra.local.intrinsics import Resolver
from infra.local.overrides import parameter_values
from infra.local.provision import ResourceValues
from infra.local.template import load_template
from infra.openapi import DOCUMENT, ROOT, HandlerRoute, handler_routes

Route = tuple[str, str]  # (METHOD, /path)


def routes() -> list[HandlerRoute]:
    return handler_routes()


def route_set() -> set[Route]:
    return {(r.method, r.path) for r in handler_routes()}


def template_routes() -> dict[Route, str]:
    """(METHOD, path) -> CodeUri operation folder of the function serving it, per template.yaml."""
    template = load_template(ROOT / "template.yaml")
    found: dict[Route, str] = {}
    for resource in template.of_type("AWS::Serverless::Function").values():
        props = resource.get("Properties") or {}
        for event in (props.get("Events") or {}).values():
            if event.get("Type") == "Api":
                route = (str(event["Properties"]["Method"]).upper(), str(event["Properties"]["Path"]))
                assert route not in found, f"{route} is served by two functions"
                found[route] = str(props.get("CodeUri", "")).rstrip("/").rsplit("/", 1)[-1]
    return found


def document_routes() -> set[Route]:
    document: dict[str, Any] = json.loads(DOCUMENT.read_text(encoding="utf-8"))
    return {(method.upper(), path) for path, ops in document["paths"].items() for method in ops}


def gateway_routes() -> set[Route]:
    """The routes the local gateway serves: what infra/local reads from the template to route."""
    template = load_template(ROOT / "template.yaml")
    values = ResourceValues(template, "ap-southeast-3", 5999)
    resolver = Resolver(template, parameter_values(template.parameters, 3100), values.lookup, region="ap-southeast-3")
    return {(r.method.upper(), r.path) for r in event_sources(function_specs(template, resolver), resolver).routes}
