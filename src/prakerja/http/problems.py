"""The one place where errors become application/problem+json (RFC 9457) responses: each
domain error's slug gets its HTTP status and title here."""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from typing import Any

from prakerja.domain import errors
from prakerja.domain.errors import DomainError, FieldProblem, ValidationFailed
from prakerja.http import i18n

PROBLEM_CONTENT_TYPE = "application/problem+json"
_log = logging.getLogger(__name__)


class PayloadTooLarge(DomainError):
    """The request body is over the limit (raised by the HTTP layer itself)."""

    slug = "payload-too-large"


# slug -> (status, English title). A new slug also needs its Indonesian title in http/indonesian.py
# TITLES_ID, and a new English detail its translation there (tests/unit/test_i18n_catalogue.py).
STATUS_AND_TITLE: dict[str, tuple[int, str]] = {
    errors.ValidationFailed.slug: (422, "The request is not valid"),
    errors.NotFound.slug: (404, "Not found"),
    errors.Unauthorized.slug: (401, "Authentication required"),
    errors.EmailTaken.slug: (409, "This email already has a registration"),
    errors.IdempotencyKeyReused.slug: (422, "Idempotency-Key was already used with a different body"),
    errors.IdempotencyInProgress.slug: (409, "A request with this Idempotency-Key is still being processed"),
    errors.CodeMismatch.slug: (400, "The verification code is not correct"),
    errors.CodeExpired.slug: (410, "The verification code has expired"),
    errors.TooManyAttempts.slug: (429, "Too many attempts"),
    errors.AlreadyVerified.slug: (409, "The email is already verified"),
    errors.ResendTooSoon.slug: (429, "A new code cannot be sent yet"),
    errors.InvalidCredentials.slug: (401, "Email or password is not correct"),
    errors.EmailNotVerified.slug: (403, "The email address is not verified yet"),
    errors.NikTaken.slug: (409, "This NIK is already bound to another registration"),
    errors.NikAlreadySubmitted.slug: (409, "A NIK was already submitted for this registration"),
    errors.NotEligible.slug: (409, "Not eligible to join a batch yet"),
    errors.BatchFull.slug: (409, "The batch has no seats left"),
    errors.AlreadyJoined.slug: (409, "Already joined another batch"),
    errors.BatchExists.slug: (409, "A batch with this id already exists with other values"),
    errors.ServiceUnavailable.slug: (503, "Service busy, please retry shortly"),
    PayloadTooLarge.slug: (413, "The request body is too large"),
}
_FALLBACK = (400, "Request failed")


def problem_body(
    slug: str, status: int, title: str, detail: str, extra: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    body: dict[str, Any] = {"type": slug, "title": title, "status": status, "detail": detail}
    body.update(extra or {})
    return body


def from_domain(err: DomainError) -> tuple[int, dict[str, Any], dict[str, str]]:
    """(status, body, headers) for a domain error."""
    status, title = STATUS_AND_TITLE.get(err.slug, _FALLBACK)
    headers: dict[str, str] = {}
    if isinstance(err, errors.Unauthorized):
        headers["WWW-Authenticate"] = 'Bearer realm="prakerja"'
    if isinstance(err, errors.TooMany) and err.retry_after_s is not None:
        headers["Retry-After"] = str(max(1, int(err.retry_after_s)))
    return status, problem_body(err.slug, status, title, err.detail or title, err.extra), headers


def internal_error() -> tuple[int, dict[str, Any], dict[str, str]]:
    return (
        500,
        problem_body("internal-error", 500, "Internal error", "Something went wrong on our side; please retry."),
        {},
    )


def localise(body: dict[str, Any], language: str) -> dict[str, Any]:
    """A problem body from this module with its title, detail and field messages in `language`
    (the negotiated one, http/i18n.py); `type`, `status` and other members unchanged."""
    try:
        localised = i18n.localise_problem(body, language)
    except Exception as exc:  # a translation fault must not turn a refusal into a 500: answer in English
        _log.error("problem not localised", extra={"language": language, "error_type": type(exc).__name__})
        return body
    if localised.untranslated:  # slugs and field names only, never the text (it may hold input)
        _log.warning("untranslated problem text", extra={"language": language, "parts": list(localised.untranslated)})
    return localised.body


def from_pydantic(exc: Any) -> ValidationFailed:
    """A pydantic ValidationError as a domain ValidationFailed (field names, no input echoed)."""
    problems = []
    for e in exc.errors(include_url=False, include_input=False, include_context=False):
        loc = ".".join(str(p) for p in e.get("loc", ()) if p != "__root__") or "body"
        message = str(e.get("msg", "invalid value"))
        if message.startswith("Value error, "):
            message = message[len("Value error, ") :]
        problems.append(FieldProblem(loc, message))
    return ValidationFailed(problems)


def render(body: Mapping[str, Any]) -> str:
    return json.dumps(body, ensure_ascii=False, separators=(",", ":"))
