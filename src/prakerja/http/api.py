"""HTTP glue shared by every API function: resolver, error mapping, body parsing, bearer auth.

A handler module does:  fn = ApiFunction("register"); @fn.app.post(...) ...; handler = fn.handler
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from typing import Any, TypeVar

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, CORSConfig, Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel, ValidationError

from prakerja.domain import errors
from prakerja.domain.errors import FieldProblem
from prakerja.domain.security import TokenClaims, sha256_hex, verify_token
from prakerja.http import problems
from prakerja.observability import observability

MAX_BODY_BYTES = 16 * 1024
_REGISTRATION_ID = re.compile(r"^[0-9a-f]{32}$")
M = TypeVar("M", bound=BaseModel)

CORS = CORSConfig(allow_origin="*", allow_headers=["Content-Type", "Authorization", "Idempotency-Key"],
                  expose_headers=["Retry-After"], max_age=600)


def json_response(status: int, body: Any, headers: dict[str, str] | None = None) -> Response:
    return Response(status_code=status, content_type="application/json",
                    body=json.dumps(body, separators=(",", ":")), headers=headers or {})


def problem_response(status: int, body: dict[str, Any], headers: dict[str, str]) -> Response:
    return Response(status_code=status, content_type=problems.PROBLEM_CONTENT_TYPE,
                    body=problems.render(status, body), headers=headers)


class ApiFunction:
    """One API Lambda: Powertools resolver + observability + the shared error mapping."""

    def __init__(self, service: str) -> None:
        self.logger, self.metrics, self.tracer = observability(service)
        self.app = APIGatewayRestResolver(cors=CORS)
        self.app.exception_handler(errors.DomainError)(self._on_domain_error)
        self.app.exception_handler(Exception)(self._on_unexpected)
        self.handler = self._build_handler()

    def _on_domain_error(self, exc: errors.DomainError) -> Response:
        status, body, headers = problems.from_domain(exc)
        self.logger.info("request refused", extra={"problem": exc.slug, "status": status})
        return problem_response(status, body, headers)

    def _on_unexpected(self, exc: Exception) -> Response:
        self.logger.error("unhandled error", extra={"error_type": type(exc).__name__}, exc_info=exc)
        status, body, headers = problems.internal_error()
        return problem_response(status, body, headers)

    def _build_handler(self) -> Callable[[dict[str, Any], LambdaContext], dict[str, Any]]:
        @self.logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST,
                                           log_event=False)
        @self.tracer.capture_lambda_handler(capture_response=False)
        @self.metrics.log_metrics
        def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
            return self.app.resolve(event, context)

        return handler

    # -- request helpers ---------------------------------------------------------------------------
    def raw_body(self) -> str:
        event = self.app.current_event
        body = event.body or ""
        if event.is_base64_encoded:
            import base64

            try:
                body = base64.b64decode(body).decode("utf-8")
            except (ValueError, UnicodeDecodeError):
                raise errors.ValidationFailed([FieldProblem("body", "must be UTF-8 JSON")]) from None
        if len(body.encode("utf-8", "surrogatepass")) > MAX_BODY_BYTES:
            raise PayloadTooLarge(f"The body must be at most {MAX_BODY_BYTES} bytes.")
        return body

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
        try:
            canonical = json.dumps(json.loads(self.raw_body() or "null"), sort_keys=True,
                                   separators=(",", ":"))
        except ValueError:
            canonical = self.raw_body()
        return sha256_hex(canonical)

    def header(self, name: str) -> str | None:
        value = self.app.current_event.headers.get(name)
        return value if value is None else str(value)

    def authenticate(self, registration_id: str, token_key: bytes) -> TokenClaims:
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


class PayloadTooLarge(errors.DomainError):
    slug = "payload-too-large"
    status = 413
    title = "The request body is too large"
