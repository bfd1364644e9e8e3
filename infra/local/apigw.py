"""API Gateway REST (v1) semantics, without any I/O: routes, proxy events, proxy responses, CORS.

Kept pure so the event shape can be unit-tested exactly.
"""

from __future__ import annotations

import base64
import hashlib
import json
import time
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, unquote

from infra.local.events import ApiRoute
from infra.local.names import ACCOUNT_ID

PROBLEM_TYPE = "application/problem+json"
DEFAULT_ALLOW_HEADERS = "Content-Type,Authorization,Idempotency-Key"


class MalformedResponse(ValueError):
    """The function's result is not a valid proxy response (API Gateway answers 502)."""


@dataclass(frozen=True)
class HttpRequest:
    method: str
    path: str  # as received, without the query string
    query: str
    headers: list[tuple[str, str]]
    body: bytes
    source_ip: str = "127.0.0.1"


@dataclass
class HttpResponse:
    status: int
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""

    def header(self, name: str) -> str | None:
        return next((value for key, value in self.headers if key.lower() == name.lower()), None)


@dataclass(frozen=True)
class CorsConfig:
    allow_origin: str = "*"
    allow_methods: str | None = None  # None: the methods of the requested path
    allow_headers: str = DEFAULT_ALLOW_HEADERS
    max_age: str | None = None
    allow_credentials: bool = False


def cors_config(value: Any) -> CorsConfig:
    """SAM's `Cors` property (a quoted origin string, or a mapping of quoted strings)."""
    if not value:
        return CorsConfig()
    if isinstance(value, str):
        return CorsConfig(allow_origin=_unquote(value))
    return CorsConfig(
        allow_origin=_unquote(value.get("AllowOrigin", "'*'")),
        allow_methods=_unquote(value["AllowMethods"]) if value.get("AllowMethods") else None,
        allow_headers=_unquote(value.get("AllowHeaders", DEFAULT_ALLOW_HEADERS)),
        max_age=_unquote(value["MaxAge"]) if value.get("MaxAge") is not None else None,
        allow_credentials=str(value.get("AllowCredentials", False)).lower() == "true",
    )


def _unquote(value: Any) -> str:
    text = str(value)
    return text[1:-1] if len(text) >= 2 and text[0] == text[-1] == "'" else text


# -- routing ---------------------------------------------------------------------------------------
@dataclass
class Resource:
    path: str
    api: str | None
    methods: dict[str, str] = field(default_factory=dict)  # METHOD -> function logical id

    @property
    def segments(self) -> list[str]:
        return [s for s in self.path.split("/") if s]

    def match(self, segments: list[str]) -> dict[str, str] | None:
        params: dict[str, str] = {}
        pattern = self.segments
        for index, part in enumerate(pattern):
            if part.startswith("{") and part.endswith("+}"):
                rest = segments[index:]
                if not rest:
                    return None
                params[part[1:-2]] = unquote("/".join(rest))
                return params
            if index >= len(segments):
                return None
            if part.startswith("{") and part.endswith("}"):
                params[part[1:-1]] = unquote(segments[index])
            elif part != segments[index]:
                return None
        return params if len(pattern) == len(segments) else None

    def specificity(self) -> tuple[int, ...]:
        return tuple(0 if s.endswith("+}") else 1 if s.startswith("{") else 2 for s in self.segments)

    def function_for(self, method: str) -> str | None:
        return self.methods.get(method) or self.methods.get("ANY")

    def allowed(self) -> list[str]:
        methods = set(self.methods) - {"ANY"}
        if "ANY" in self.methods:
            methods |= {"DELETE", "GET", "HEAD", "PATCH", "POST", "PUT"}
        return sorted(methods | {"OPTIONS"})


class RouteTable:
    def __init__(self, routes: Iterable[ApiRoute]) -> None:
        self.resources: dict[str, Resource] = {}
        for route in routes:
            resource = self.resources.setdefault(route.path, Resource(route.path, route.api))
            resource.methods[route.method] = route.function

    def match(self, path: str) -> tuple[Resource, dict[str, str]] | None:
        segments = [s for s in path.split("/") if s]
        found = [(r, p) for r in self.resources.values() if (p := r.match(segments)) is not None]
        return max(found, key=lambda item: item[0].specificity()) if found else None


# -- proxy event and response ----------------------------------------------------------------------
def proxy_event(
    request: HttpRequest, resource: Resource, path_parameters: Mapping[str, str], stage: str, now: float | None = None
) -> dict[str, Any]:
    """The event API Gateway's Lambda proxy integration (REST API, payload 1.0) sends."""
    at = time.time() if now is None else now
    headers, multi_headers = _headers(request.headers)
    query, multi_query = _query(request.query)
    body, is_base64 = _body(request.body)
    request_id = str(uuid.uuid4())
    return {
        "resource": resource.path,
        "path": request.path,
        "httpMethod": request.method,
        "headers": headers,
        "multiValueHeaders": multi_headers,
        "queryStringParameters": query,
        "multiValueQueryStringParameters": multi_query,
        "pathParameters": dict(path_parameters) or None,
        "stageVariables": None,
        "requestContext": {
            "accountId": ACCOUNT_ID,
            "apiId": api_id(resource.api),
            "resourceId": _short_id(resource.path),
            "stage": stage,
            "requestId": request_id,
            "extendedRequestId": request_id.replace("-", "")[:16] + "=",
            "requestTime": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(at)),
            "requestTimeEpoch": int(at * 1000),
            "path": f"/{stage}{request.path}",
            "resourcePath": resource.path,
            "httpMethod": request.method,
            "protocol": "HTTP/1.1",
            "domainName": (headers or {}).get("Host", ""),
            "identity": _identity(request.source_ip, headers),
        },
        "body": body,
        "isBase64Encoded": is_base64,
    }


def api_id(api: str | None) -> str:
    return _short_id(api or "ServerlessRestApi")


def _short_id(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:10]


def _identity(source_ip: str, headers: Mapping[str, str] | None) -> dict[str, Any]:
    user_agent = next((v for k, v in (headers or {}).items() if k.lower() == "user-agent"), None)
    nulls = (
        "cognitoIdentityPoolId",
        "accountId",
        "cognitoIdentityId",
        "caller",
        "accessKey",
        "principalOrgId",
        "cognitoAuthenticationType",
        "cognitoAuthenticationProvider",
        "userArn",
        "user",
    )
    return {**dict.fromkeys(nulls), "sourceIp": source_ip, "userAgent": user_agent}


def _headers(pairs: list[tuple[str, str]]) -> tuple[dict[str, str] | None, dict[str, list[str]] | None]:
    single: dict[str, str] = {}
    multi: dict[str, list[str]] = {}
    for name, value in pairs:
        single[name] = value
        multi.setdefault(name, []).append(value)
    return (single or None), (multi or None)


def _query(query: str) -> tuple[dict[str, str] | None, dict[str, list[str]] | None]:
    single: dict[str, str] = {}
    multi: dict[str, list[str]] = {}
    for name, value in parse_qsl(query, keep_blank_values=True):
        single[name] = value
        multi.setdefault(name, []).append(value)
    return (single or None), (multi or None)


def _body(raw: bytes) -> tuple[str | None, bool]:
    if not raw:
        return None, False
    try:
        return raw.decode("utf-8"), False
    except UnicodeDecodeError:
        return base64.b64encode(raw).decode("ascii"), True


def response_from_result(result: Any) -> HttpResponse:
    """A proxy integration result -> the HTTP response API Gateway sends (or MalformedResponse)."""
    if not isinstance(result, Mapping):
        raise MalformedResponse("result is not an object")
    try:
        status = int(result.get("statusCode", 200))
    except (TypeError, ValueError):
        raise MalformedResponse("statusCode is not an integer") from None
    if not 100 <= status <= 599:
        raise MalformedResponse("statusCode out of range")
    return HttpResponse(status, _response_headers(result), _response_body(result))


def _response_headers(result: Mapping[str, Any]) -> list[tuple[str, str]]:
    single = result.get("headers") or {}
    multi = result.get("multiValueHeaders") or {}
    if not isinstance(single, Mapping) or not isinstance(multi, Mapping):
        raise MalformedResponse("headers must be objects")
    merged: list[tuple[str, str]] = []
    lower_multi = {str(k).lower() for k in multi}
    for name, value in single.items():
        if str(name).lower() not in lower_multi:
            merged.append((str(name), _header_text(value)))
    for name, values in multi.items():
        if not isinstance(values, list):
            raise MalformedResponse("multiValueHeaders values must be lists")
        merged.extend((str(name), _header_text(value)) for value in values)
    return merged


def _header_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


def _response_body(result: Mapping[str, Any]) -> bytes:
    body = result.get("body")
    if body is None:
        return b""
    if not isinstance(body, str):
        raise MalformedResponse("body must be a string")
    if result.get("isBase64Encoded"):
        try:
            return base64.b64decode(body, validate=True)
        except ValueError:
            raise MalformedResponse("body is not valid base64") from None
    return body.encode("utf-8")


def problem(
    status: int,
    slug: str,
    title: str,
    detail: str,
    headers: Iterable[tuple[str, str]] = (),
    extra: Mapping[str, Any] | None = None,
) -> HttpResponse:
    body = {"type": slug, "title": title, "status": status, "detail": detail, **(extra or {})}
    # English, like the template's GatewayResponses (they cannot vary by Accept-Language)
    return HttpResponse(
        status,
        [("Content-Type", PROBLEM_TYPE), ("Content-Language", "en"), *headers],
        json.dumps(body, separators=(",", ":")).encode("utf-8"),
    )


def json_response(status: int, body: Any) -> HttpResponse:
    return HttpResponse(
        status,
        [("Content-Type", "application/json")],
        json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8"),
    )


def preflight(resource: Resource, cors: CorsConfig) -> HttpResponse:
    headers = [
        ("Access-Control-Allow-Origin", cors.allow_origin),
        ("Access-Control-Allow-Methods", cors.allow_methods or ",".join(resource.allowed())),
        ("Access-Control-Allow-Headers", cors.allow_headers),
    ]
    if cors.max_age is not None:
        headers.append(("Access-Control-Max-Age", cors.max_age))
    if cors.allow_credentials:
        headers.append(("Access-Control-Allow-Credentials", "true"))
    return HttpResponse(200, [*headers, ("Content-Type", "application/json")], b"{}")
