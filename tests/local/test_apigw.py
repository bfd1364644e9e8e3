"""API Gateway REST proxy semantics: routes, the event, the response, CORS (pure, no sockets)."""

from __future__ import annotations

import base64

import pytest

from infra.local.apigw import (
    CorsConfig,
    HttpRequest,
    MalformedResponse,
    RouteTable,
    cors_config,
    preflight,
    proxy_event,
    response_from_result,
)
from infra.local.events import ApiRoute

ROUTES = RouteTable(
    [
        ApiRoute("Get", "/registrations/{id}", "GET", "Api"),
        ApiRoute("Verify", "/registrations/{id}/email-verification", "POST", "Api"),
        ApiRoute("Health", "/health", "GET", "Api"),
        ApiRoute("Special", "/registrations/special", "GET", "Api"),
        ApiRoute("Proxy", "/files/{path+}", "ANY", "Api"),
    ]
)


def request(
    path: str, query: str = "", method: str = "GET", body: bytes = b"", headers: list[tuple[str, str]] | None = None
) -> HttpRequest:
    default = [("Host", "127.0.0.1:3000"), ("User-Agent", "t")]
    return HttpRequest(method, path, query, default if headers is None else headers, body)


def test_routes_match_parameters_and_prefer_static_segments():
    resource, params = ROUTES.match("/registrations/abc") or (None, None)
    assert resource is not None and (resource.path, params) == ("/registrations/{id}", {"id": "abc"})
    special, none = ROUTES.match("/registrations/special") or (None, None)
    assert special is not None and (special.path, none) == ("/registrations/special", {})
    greedy, params = ROUTES.match("/files/a/b%20c.txt") or (None, None)
    assert greedy is not None and params == {"path": "a/b c.txt"}
    assert ROUTES.match("/registrations") is None
    assert ROUTES.match("/registrations/abc/other") is None
    assert ROUTES.match("/files") is None


def test_methods_any_and_allow_list():
    resource, _ = ROUTES.match("/registrations/x") or (None, None)
    assert resource is not None
    assert resource.function_for("GET") == "Get" and resource.function_for("POST") is None
    assert resource.allowed() == ["GET", "OPTIONS"]
    proxy, _ = ROUTES.match("/files/x") or (None, None)
    assert proxy is not None and proxy.function_for("DELETE") == "Proxy"


def test_proxy_event_fields():
    resource, params = ROUTES.match("/registrations/a%2Fb") or (None, None)
    assert resource is not None
    headers = [("Host", "h"), ("X-Id", "1"), ("X-Id", "2"), ("User-Agent", "ua")]
    event = proxy_event(
        request("/registrations/a%2Fb", "q=1&q=2&e=", headers=headers),
        resource,
        params or {},
        "local",
        now=1_700_000_000.5,
    )
    assert event["resource"] == "/registrations/{id}" and event["path"] == "/registrations/a%2Fb"
    assert event["pathParameters"] == {"id": "a/b"}
    assert event["headers"] == {"Host": "h", "X-Id": "2", "User-Agent": "ua"}
    assert event["multiValueHeaders"]["X-Id"] == ["1", "2"]
    assert event["queryStringParameters"] == {"q": "2", "e": ""}
    assert event["multiValueQueryStringParameters"] == {"q": ["1", "2"], "e": [""]}
    context = event["requestContext"]
    assert context["requestTimeEpoch"] == 1_700_000_000_500
    assert context["requestTime"] == "14/Nov/2023:22:13:20 +0000"
    assert context["path"] == "/local/registrations/a%2Fb" and context["stage"] == "local"
    assert context["identity"]["userAgent"] == "ua" and context["identity"]["sourceIp"] == "127.0.0.1"
    assert context["httpMethod"] == "GET" and context["resourcePath"] == "/registrations/{id}"


def test_empty_parts_are_none():
    resource, params = ROUTES.match("/health") or (None, None)
    assert resource is not None
    event = proxy_event(request("/health", headers=[]), resource, params or {}, "local")
    assert event["pathParameters"] is None and event["queryStringParameters"] is None
    assert event["multiValueQueryStringParameters"] is None and event["headers"] is None
    assert event["body"] is None and event["isBase64Encoded"] is False


def test_bodies_are_text_or_base64():
    resource, _ = ROUTES.match("/health") or (None, None)
    assert resource is not None
    text = proxy_event(request("/health", body='{"a": "é"}'.encode()), resource, {}, "s")
    assert (text["body"], text["isBase64Encoded"]) == ('{"a": "é"}', False)
    binary = proxy_event(request("/health", body=b"\x89PNG\xff"), resource, {}, "s")
    assert binary["isBase64Encoded"] is True and base64.b64decode(binary["body"]) == b"\x89PNG\xff"


def test_response_headers_merge_like_api_gateway():
    response = response_from_result(
        {
            "statusCode": 201,
            "headers": {"A": "1", "Set-Cookie": "ignored"},
            "multiValueHeaders": {"set-cookie": ["x=1", "y=2"]},
            "body": "hi",
        }
    )
    assert response.status == 201 and response.body == b"hi"
    assert response.headers == [("A", "1"), ("set-cookie", "x=1"), ("set-cookie", "y=2")]


def test_base64_response_bodies_are_decoded():
    response = response_from_result(
        {"statusCode": 200, "body": base64.b64encode(b"\x00\x01").decode(), "isBase64Encoded": True}
    )
    assert response.body == b"\x00\x01"


@pytest.mark.parametrize(
    "result",
    [
        None,
        "text",
        {"statusCode": "abc"},
        {"statusCode": 200, "body": 5},
        {"statusCode": 700},
        {"statusCode": 200, "body": "!!", "isBase64Encoded": True},
        {"statusCode": 200, "multiValueHeaders": {"A": "not-a-list"}},
    ],
)
def test_malformed_results_are_rejected(result):
    with pytest.raises(MalformedResponse):
        response_from_result(result)


def test_cors_config_from_sam_quoted_values():
    assert cors_config(None) == CorsConfig()
    assert cors_config("'https://a.example'").allow_origin == "https://a.example"
    config = cors_config(
        {
            "AllowOrigin": "'*'",
            "AllowHeaders": "'Content-Type'",
            "AllowMethods": "'GET,POST'",
            "MaxAge": "'600'",
            "AllowCredentials": True,
        }
    )
    assert config == CorsConfig("*", "GET,POST", "Content-Type", "600", True)


def test_preflight_defaults_to_the_methods_of_the_path():
    resource, _ = ROUTES.match("/registrations/x/email-verification") or (None, None)
    assert resource is not None
    response = preflight(resource, CorsConfig())
    assert response.status == 200
    assert response.header("Access-Control-Allow-Methods") == "OPTIONS,POST"
    assert response.header("Access-Control-Allow-Headers") == "Content-Type,Authorization,Idempotency-Key"
    assert response.header("Access-Control-Allow-Origin") == "*"
