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
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, TypeVar

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit, single_metric
from aws_lambda_powertools.utilities.typing import LambdaContext

from prakerja.adapters.aws_errors import busy
from prakerja.domain import errors
from prakerja.domain.errors import FieldProblem
from prakerja.domain.security import KeyLike, TokenClaims, sha256_hex, verify_token
from prakerja.http import i18n, problems
from prakerja.observability import NAMESPACE, observability

if TYPE_CHECKING:  # pydantic is imported by the request schemas of the functions that have a body
    from pydantic import BaseModel

MAX_BODY_BYTES = 16 * 1024
_REGISTRATION_ID = re.compile(r"^[0-9a-f]{32}$")
M = TypeVar("M", bound="BaseModel")

# The web client's origin when deployed (template Globals: CORS_ALLOW_ORIGIN); any origin when unset.
# (Content-Language is CORS-safelisted; it is listed so a reader need not know that.)
CORS_HEADERS = {
    "Access-Control-Allow-Origin": os.environ.get("CORS_ALLOW_ORIGIN") or "*",
    "Access-Control-Expose-Headers": "Retry-After, Content-Language",
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
    """A problem (built in English by http/problems.py) in the language negotiated for the
    request being handled."""
    request = _current.get(None)
    language = request.language if request is not None else i18n.DEFAULT_LANGUAGE
    return Response(status, problems.render(problems.localise(body, language)), problems.PROBLEM_CONTENT_TYPE, headers)


def language_of(event: Mapping[str, Any]) -> str:
    """The answer's language for this event's Accept-Language (every line the client sent: API
    Gateway keeps only the last one in `headers`, `multiValueHeaders` has them all)."""
    for name, values in (event.get("multiValueHeaders") or {}).items():
        if str(name).lower() == "accept-language" and isinstance(values, list) and values:
            return i18n.negotiate(", ".join(str(v) for v in values))
    for name, value in (event.get("headers") or {}).items():
        if str(name).lower() == "accept-language":
            return i18n.negotiate(str(value))
    return i18n.DEFAULT_LANGUAGE


def with_language(response: Response, language: str) -> Response:
    """Every answer says which language was negotiated, success bodies too (their values are
    codes, not prose, but a client can rely on the header), and that it depends on Accept-Language."""
    vary = ", ".join(v for v in (response.headers.get("Vary"), "Accept-Language") if v)
    return replace(response, headers={**response.headers, "Content-Language": language, "Vary": vary})


class Request:
    """The parts of an API Gateway REST proxy event a handler reads."""

    def __init__(self, event: Mapping[str, Any]) -> None:
        self.event = event
        self.headers = {str(k).lower(): str(v) for k, v in (event.get("headers") or {}).items()}
        self.path_parameters: dict[str, str] = dict(event.get("pathParameters") or {})
        self.language = language_of(event)

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
        self.service = service
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
        except errors.ServiceUnavailable as exc:
            return self._busy(exc, exc)
        except errors.DomainError as exc:
            status, body, headers = problems.from_domain(exc)
            self.logger.info("request refused", extra={"problem": exc.slug, "status": status})
            return problem_response(status, body, headers)
        except Exception as exc:
            overloaded = busy(exc)
            if overloaded is not None:
                return self._busy(overloaded, exc)
            self.logger.error("unhandled error", extra={"error_type": type(exc).__name__}, exc_info=exc)
            status, body, headers = problems.internal_error()
            return problem_response(status, body, headers)
        finally:
            _current.reset(token)

    def _busy(self, exc: errors.ServiceUnavailable, cause: BaseException) -> Response:
        """A throttled, failing or timed-out dependency: 503 service-busy + Retry-After, and the
        `ServiceBusy` metric with the dependency as its dimension (alarms and dashboards)."""
        status, body, headers = problems.from_domain(exc)
        self.logger.warning(
            "dependency busy",
            extra={"dependency": exc.dependency, "error_type": type(cause).__name__, "status": status},
        )
        dimensions = {"service": self.service, "dependency": exc.dependency}
        with single_metric(
            name="ServiceBusy", unit=MetricUnit.Count, value=1, namespace=NAMESPACE, default_dimensions=dimensions
        ):
            pass
        return problem_response(status, body, headers)

    def _build_handler(self) -> Callable[[dict[str, Any], LambdaContext], dict[str, Any]]:
        @self.logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST, log_event=False)
        @self.tracer.capture_lambda_handler(capture_response=False)
        @self.metrics.log_metrics
        def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
            return with_language(self._dispatch(event), language_of(event)).to_proxy()

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
        from pydantic import ValidationError  # already loaded with `model`'s module

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

    def bearer(self, token_key: KeyLike) -> TokenClaims:
        """The claims of the request's valid, unexpired bearer token; 401 otherwise. Revocation
        (claims.generation) is checked against the registration by the operation that reads it."""
        auth = self.header("Authorization") or ""
        scheme, _, token = auth.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise errors.Unauthorized()
        claims = verify_token(token_key, token.strip(), now=int(time.time()))
        if claims is None:
            raise errors.Unauthorized("The bearer token is invalid or has expired.")
        return claims

    def authenticate(self, registration_id: str, token_key: KeyLike) -> TokenClaims:
        """401 without a valid token; 404 when the token belongs to someone else."""
        claims = self.bearer(token_key)
        if claims.registration_id != registration_id:
            raise errors.NotFound("No registration with this id.")
        return claims


def require_registration_id(value: str) -> str:
    """Ids are opaque 32-hex strings; anything else cannot exist (404, never a 500)."""
    if not _REGISTRATION_ID.match(value or ""):
        raise errors.NotFound("No registration with this id.")
    return value
