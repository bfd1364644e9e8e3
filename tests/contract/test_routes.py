"""One route list: the handlers declare it; the template, the OpenAPI document and the local
gateway must say exactly the same (and each route is served by the function of its handler)."""

from __future__ import annotations

from tests.contract.routes import document_routes, gateway_routes, routes, template_routes


def test_template_openapi_and_gateway_routes_are_the_handlers_routes():
    handlers = {(r.method, r.path): r.operation for r in routes()}
    assert len(handlers) >= 10
    assert template_routes() == handlers  # the same routes, each served by the function of its handler
    assert document_routes() == set(handlers)
    assert gateway_routes() == set(handlers)
