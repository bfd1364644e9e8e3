"""The one place where errors become application/problem+json (RFC 9457) responses."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from prakerja.domain.errors import DomainError, FieldProblem, ValidationFailed

PROBLEM_CONTENT_TYPE = "application/problem+json"


def problem_body(
    slug: str, status: int, title: str, detail: str, extra: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    body: dict[str, Any] = {"type": slug, "title": title, "status": status, "detail": detail}
    body.update(extra or {})
    return body


def from_domain(err: DomainError) -> tuple[int, dict[str, Any], dict[str, str]]:
    """(status, body, headers) for a domain error."""
    return err.status, problem_body(err.slug, err.status, err.title, err.detail, err.extra), err.headers


def internal_error() -> tuple[int, dict[str, Any], dict[str, str]]:
    return (
        500,
        problem_body("internal-error", 500, "Internal error", "Something went wrong on our side; please retry."),
        {},
    )


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


def render(status: int, body: Mapping[str, Any]) -> str:
    return json.dumps(body, ensure_ascii=False, separators=(",", ":"))
