"""HTTP glue shared by every API function: routing of its one route, error mapping, body parsing,
bearer auth.

Each API Lambda serves exactly one route, so a full router is not needed: this keeps the
import cost off the cold start and holds the current request in a context variable (safe when
several requests run at once in one process, as on the local stack).

    fn = ApiFunction("register")

    @fn.route("POST", "/registrations")
    def register() -> Response: ...

    handler = fn.handler
"""

from __future__ import annotations

import base64
import json
import os
import re
import time
from collections.abc import Callable, Mapping
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, TypeVar

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel, ValidationError

from prakerja.domain import errors
from prakerja.domain.errors import FieldProblem
from prakerja.domain.security import KeyLike, TokenClaims, sha256_hex, verify_token
from prakerja.http import problems
from prakerja.observability import observability

MAX_BODY_BYTES = 16 * 1024
_REGISTRATION_ID = re.compile(r"^[0-9a-f]{32}$")
M = TypeVar("M", bound=BaseModel)

# The web client's origin when deployed (template Globals: CORS_ALLOW_ORIGIN); any origin when unset.
CORS_HEADERS = {
    "Access-Control-Allow-Origin": os.environ.get("CORS_ALLOW_ORIGIN") or "*",
    "Access-Control-Expose-Headers": "Retry-After",
}


@dataclass(frozen=True)
class Response:
    status: int
    body: str
    content_type: str = "application/json"
    headers: Mapping[str, str] = field(default_factory=dict)

    def to_proxy(self) -> dict[str, Any]:
        headers = {"Content-Type": self.content_type, **CORS_HEADERS, **self.headers}
        return {"statusCode": self.status, "headers": headers, "body": self.body, "isBase64Encoded": False}


def json_response(status: int, body: Any, headers: dict[str, str] | None = None) -> Response:
    return Response(status, json.dumps(body, separators=(",", ":")), headers=headers or {})


def problem_response(status: int, body: dict[str, Any], headers: Mapping[str, str]) -> Response:
    return Response(status, problems.render(body), problems.PROBLEM_CONTENT_TYPE, headers)


class Request:
    """The parts of an API Gateway REST proxy event a handler reads."""

    def __init__(self, event: Mapping[str, Any]) -> None:
        self.event = event
        self.headers = {str(k).lower(): str(v) for k, v in (event.get("headers") or {}).items()}
        self.path_parameters: dict[str, str] = dict(event.get("pathParameters") or {})

    def body_text(self) -> str:
        body = self.event.get("body") or ""
        if self.event.get("isBase64Encoded"):
            try:
                body = base64.b64decode(body).decode("utf-8")
            except (ValueError, UnicodeDecodeError):
                raise errors.ValidationFailed([FieldProblem("body", "must be UTF-8 JSON")]) from None
        if len(body.encode("utf-8", "surrogatepass")) > MAX_BODY_BYTES:
            raise problems.PayloadTooLarge(f"The body must be at most {MAX_BODY_BYTES} bytes.")
        return str(body)


_current: ContextVar[Request] = ContextVar("prakerja_request")
Route = Callable[..., Response]
R = TypeVar("R", bound=Route)


class ApiFunction:
    """One API Lambda: its route, Powertools observability and the shared error mapping."""

    def __init__(self, service: str) -> None:
        self.logger, self.metrics, self.tracer = observability(service)
        self._route: Route | None = None
        self._param_names: tuple[str, ...] = ()
        self.handler = self._build_handler()

    def route(self, method: str, resource: str) -> Callable[[R], R]:
        """Register the function's one route; its `{name}` path parameters arrive as positional arguments."""

        def register(fn: R) -> R:
            self._route = fn
            self._param_names = tuple(re.findall(r"{(\w+)}", resource))
            self.method, self.resource = method, resource
            return fn

        return register

    def _dispatch(self, event: Mapping[str, Any]) -> Response:
        request = Request(event)
        token = _current.set(request)
        try:
            if self._route is None:
                raise errors.NotFound("No such route.")
            params = request.path_parameters
            return self._route(*(params.get(name) or "" for name in self._param_names))
        except errors.DomainError as exc:
            status, body, headers = problems.from_domain(exc)
            self.logger.info("request refused", extra={"problem": exc.slug, "status": status})
            return problem_response(status, body, headers)
        except Exception as exc:
            self.logger.error("unhandled error", extra={"error_type": type(exc).__name__}, exc_info=exc)
            status, body, headers = problems.internal_error()
            return problem_response(status, body, headers)
        finally:
            _current.reset(token)

    def _build_handler(self) -> Callable[[dict[str, Any], LambdaContext], dict[str, Any]]:
        @self.logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST, log_event=False)
        @self.tracer.capture_lambda_handler(capture_response=False)
        @self.metrics.log_metrics
        def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
            return self._dispatch(event).to_proxy()

        return handler  # type: ignore[no-any-return]  # Powertools' decorators are untyped

    # -- request helpers (for the request being handled) -----------------------------------------
    @staticmethod
    def request() -> Request:
        return _current.get()

    def raw_body(self) -> str:
        return self.request().body_text()

    def body(self, model: type[M]) -> M:
        raw = self.raw_body()
        try:
            data = json.loads(raw) if raw.strip() else None
        except (ValueError, RecursionError):
            raise errors.ValidationFailed([FieldProblem("body", "is not valid JSON")]) from None
        if not isinstance(data, dict):
            raise errors.ValidationFailed([FieldProblem("body", "must be a JSON object")])
        try:
            return model.model_validate(data)
        except ValidationError as exc:
            raise problems.from_pydantic(exc) from None

    def body_hash(self) -> str:
        """A hash of the body's JSON value (key order and whitespace do not matter)."""
        raw = self.raw_body()
        try:
            canonical = json.dumps(json.loads(raw or "null"), sort_keys=True, separators=(",", ":"))
        except ValueError:
            canonical = raw
        return sha256_hex(canonical)

    def header(self, name: str) -> str | None:
        return self.request().headers.get(name.lower())

    def authenticate(self, registration_id: str, token_key: KeyLike) -> TokenClaims:
        """401 without a valid token; 404 when the token belongs to someone else."""
        auth = self.header("Authorization") or ""
        scheme, _, token = auth.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise errors.Unauthorized()
        claims = verify_token(token_key, token.strip(), now=int(time.time()))
        if claims is None:
            raise errors.Unauthorized("The bearer token is invalid or has expired.")
        if claims.registration_id != registration_id:
            raise errors.NotFound("No registration with this id.")
        return claims


def require_registration_id(value: str) -> str:
    """Ids are opaque 32-hex strings; anything else cannot exist (404, never a 500)."""
    if not _REGISTRATION_ID.match(value or ""):
        raise errors.NotFound("No registration with this id.")
    return value
