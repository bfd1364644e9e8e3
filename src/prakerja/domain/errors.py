"""Domain errors. Each carries the contract's problem `type` slug and HTTP status.

The HTTP layer maps them to application/problem+json in exactly one place
(prakerja.http.problems); domain code only raises.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar


@dataclass(frozen=True)
class FieldProblem:
    field: str
    message: str


class DomainError(Exception):
    slug: ClassVar[str] = "error"
    status: ClassVar[int] = 400
    title: ClassVar[str] = "Request failed"

    def __init__(
        self,
        detail: str = "",
        *,
        extra: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(detail or self.title)
        self.detail = detail or self.title
        self.extra = dict(extra or {})
        self.headers = dict(headers or {})


class ValidationFailed(DomainError):
    slug = "validation-error"
    status = 422
    title = "The request is not valid"

    def __init__(self, errors: list[FieldProblem], detail: str = "") -> None:
        super().__init__(
            detail or "; ".join(f"{e.field}: {e.message}" for e in errors),
            extra={"errors": [{"field": e.field, "message": e.message} for e in errors]},
        )
        self.errors = errors


class NotFound(DomainError):
    slug = "not-found"
    status = 404
    title = "Not found"


class Unauthorized(DomainError):
    slug = "unauthorized"
    status = 401
    title = "Authentication required"

    def __init__(self, detail: str = "A valid bearer token is required.") -> None:
        super().__init__(detail, headers={"WWW-Authenticate": 'Bearer realm="prakerja"'})


class Conflict(DomainError):
    status = 409


class TooMany(DomainError):
    status = 429

    def __init__(self, detail: str = "", *, retry_after_s: int | None = None, **kw: Any) -> None:
        headers = {"Retry-After": str(max(1, int(retry_after_s)))} if retry_after_s is not None else None
        super().__init__(detail, headers=headers, **kw)


# --- registration / email ---------------------------------------------------
class EmailTaken(Conflict):
    slug = "email-taken"
    title = "This email already has a registration"


class IdempotencyKeyReused(DomainError):
    slug = "idempotency-key-reused"
    status = 422
    title = "Idempotency-Key was already used with a different body"


class IdempotencyInProgress(Conflict):
    slug = "idempotency-in-progress"
    title = "A request with this Idempotency-Key is still being processed"


class CodeMismatch(DomainError):
    slug = "code-mismatch"
    status = 400
    title = "The verification code is not correct"


class CodeExpired(DomainError):
    slug = "code-expired"
    status = 410
    title = "The verification code has expired"


class TooManyAttempts(TooMany):
    slug = "too-many-attempts"
    title = "Too many attempts"


class AlreadyVerified(Conflict):
    slug = "already-verified"
    title = "The email is already verified"


class ResendTooSoon(TooMany):
    slug = "resend-too-soon"
    title = "A new code cannot be sent yet"


class InvalidCredentials(DomainError):
    slug = "invalid-credentials"
    status = 401
    title = "Email or password is not correct"


class EmailNotVerified(DomainError):
    slug = "email-not-verified"
    status = 403
    title = "The email address is not verified yet"


# --- NIK ----------------------------------------------------------------------
class NikTaken(Conflict):
    slug = "nik-taken"
    title = "This NIK is already bound to another registration"


class NikAlreadySubmitted(Conflict):
    slug = "nik-already-submitted"
    title = "A NIK was already submitted for this registration"


# --- batches ------------------------------------------------------------------
class NotEligible(Conflict):
    slug = "not-eligible"
    title = "Not eligible to join a batch yet"


class BatchFull(Conflict):
    slug = "batch-full"
    title = "The batch has no seats left"


class AlreadyJoined(Conflict):
    slug = "already-joined"
    title = "Already joined another batch"


class ServiceUnavailable(DomainError):
    slug = "service-unavailable"
    status = 503
    title = "Temporarily unavailable, please retry"
