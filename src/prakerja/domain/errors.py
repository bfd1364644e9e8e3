"""Domain errors. Each carries the contract's problem `type` slug, a detail for the person,
and optional extra members; nothing about HTTP. prakerja.http.problems maps each slug to its
status and title (application/problem+json) in exactly one place; domain code only raises.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar


@dataclass(frozen=True)
class FieldProblem:
    """One problem with one request field."""

    field: str
    message: str


class DomainError(Exception):
    slug: ClassVar[str] = "error"

    def __init__(self, detail: str = "", *, extra: Mapping[str, Any] | None = None) -> None:
        super().__init__(detail or self.slug)
        self.detail = detail
        self.extra = dict(extra or {})


class ValidationFailed(DomainError):
    slug = "validation-error"

    def __init__(self, errors: list[FieldProblem], detail: str = "") -> None:
        super().__init__(
            detail or "; ".join(f"{e.field}: {e.message}" for e in errors),
            extra={"errors": [{"field": e.field, "message": e.message} for e in errors]},
        )
        self.errors = errors


class NotFound(DomainError):
    slug = "not-found"


class Unauthorized(DomainError):
    slug = "unauthorized"

    def __init__(self, detail: str = "A valid bearer token is required.") -> None:
        super().__init__(detail)


class TooMany(DomainError):
    """Refused for now: `retry_after_s` says when asking again makes sense."""

    def __init__(self, detail: str = "", *, retry_after_s: int | None = None, **kw: Any) -> None:
        super().__init__(detail, **kw)
        self.retry_after_s = retry_after_s


# --- registration / email ---------------------------------------------------
class EmailTaken(DomainError):
    slug = "email-taken"


class IdempotencyKeyReused(DomainError):
    slug = "idempotency-key-reused"


class IdempotencyInProgress(DomainError):
    slug = "idempotency-in-progress"


class CodeMismatch(DomainError):
    slug = "code-mismatch"


class CodeExpired(DomainError):
    slug = "code-expired"


class TooManyAttempts(TooMany):
    slug = "too-many-attempts"


class AlreadyVerified(DomainError):
    slug = "already-verified"


class ResendTooSoon(TooMany):
    slug = "resend-too-soon"


class InvalidCredentials(DomainError):
    slug = "invalid-credentials"


class EmailNotVerified(DomainError):
    slug = "email-not-verified"


# --- NIK ----------------------------------------------------------------------
class NikTaken(DomainError):
    slug = "nik-taken"


class NikAlreadySubmitted(DomainError):
    slug = "nik-already-submitted"


# --- batches ------------------------------------------------------------------
class NotEligible(DomainError):
    slug = "not-eligible"


class BatchFull(DomainError):
    slug = "batch-full"


class AlreadyJoined(DomainError):
    slug = "already-joined"


class BatchExists(DomainError):
    slug = "batch-exists"


# --- overload -----------------------------------------------------------------
BUSY_RETRY_AFTER_S = (1, 5)  # Retry-After of a 503 service-busy: jittered so a crowd does not return in step


class ServiceUnavailable(TooMany):
    """Overloaded or briefly unavailable (contention that outlasted the retries, a throttled or
    timed-out dependency): the person retries after `retry_after_s`; nothing was half-written."""

    slug = "service-busy"
    dependency: str = "dynamodb"  # contention outlasting the retries is on the table's items

    def __init__(self, detail: str = "", *, retry_after_s: int | None = None, **kw: Any) -> None:
        if retry_after_s is None:
            retry_after_s = random.randint(*BUSY_RETRY_AFTER_S)  # nosec B311 # jitter, not a secret
        super().__init__(
            detail or "We are very busy right now; please retry shortly.", retry_after_s=retry_after_s, **kw
        )


class DependencyBusy(ServiceUnavailable):
    """A dependency (DynamoDB, KMS, Secrets Manager, SES, SQS, S3) throttled the call, failed
    transiently or timed out. `dependency` names it (for the metric; never shown as an AWS error)."""

    def __init__(self, dependency: str, detail: str = "") -> None:
        super().__init__(detail)
        self.dependency = dependency
