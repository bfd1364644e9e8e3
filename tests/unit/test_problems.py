"""Domain errors -> problem+json: every slug has its status and title, headers where the
contract (docs/API.md) asks for them."""

from __future__ import annotations

import pytest

from prakerja.domain import errors
from prakerja.domain.errors import DomainError, FieldProblem
from prakerja.http import problems


def all_error_types(base: type[DomainError] = DomainError) -> list[type[DomainError]]:
    found = []
    for sub in base.__subclasses__():
        found.append(sub)
        found.extend(all_error_types(sub))
    return found


def test_every_domain_error_slug_has_a_status_and_a_title() -> None:
    slugs = {t.slug for t in all_error_types() if t.slug != DomainError.slug}
    assert slugs <= set(problems.STATUS_AND_TITLE)


@pytest.mark.parametrize(
    ("error", "status"),
    [
        (errors.ValidationFailed([FieldProblem("nik", "must be 16 digits")]), 422),
        (errors.NotFound("No registration with this id."), 404),
        (errors.EmailTaken(), 409),
        (errors.IdempotencyKeyReused(), 422),
        (errors.IdempotencyInProgress(), 409),
        (errors.CodeMismatch(), 400),
        (errors.CodeExpired(), 410),
        (errors.AlreadyVerified(), 409),
        (errors.InvalidCredentials(), 401),
        (errors.EmailNotVerified(), 403),
        (errors.NikTaken(), 409),
        (errors.NikAlreadySubmitted(), 409),
        (errors.NotEligible(), 409),
        (errors.BatchFull(), 409),
        (errors.AlreadyJoined(), 409),
        (errors.BatchExists(), 409),
        (errors.ServiceUnavailable(), 503),
        (problems.PayloadTooLarge(), 413),
    ],
)
def test_status_codes_follow_the_contract(error: DomainError, status: int) -> None:
    got, body, _ = problems.from_domain(error)
    assert got == status == body["status"]
    assert body["type"] == error.slug and body["title"] and body["detail"]


def test_a_refusal_with_a_wait_says_when_to_retry() -> None:
    status, body, headers = problems.from_domain(errors.ResendTooSoon("Wait 42 s.", retry_after_s=42))
    assert (status, headers, body["detail"]) == (429, {"Retry-After": "42"}, "Wait 42 s.")
    assert problems.from_domain(errors.TooManyAttempts("x", retry_after_s=0))[2] == {"Retry-After": "1"}


def test_unauthorized_asks_for_a_bearer_token() -> None:
    status, _, headers = problems.from_domain(errors.Unauthorized())
    assert status == 401 and headers == {"WWW-Authenticate": 'Bearer realm="prakerja"'}


def test_extra_members_and_field_errors_are_part_of_the_body() -> None:
    _, body, _ = problems.from_domain(errors.CodeMismatch("The code is not correct.", extra={"attempts_left": 2}))
    assert body["attempts_left"] == 2
    _, body, _ = problems.from_domain(errors.ValidationFailed([FieldProblem("nik", "bad")]))
    assert body["errors"] == [{"field": "nik", "message": "bad"}]
