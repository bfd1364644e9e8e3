"""What the OpenAPI document says about each route beyond what its handler shows.

The route list itself is NOT here: infra/openapi.py reads it from the handlers
(functions/<operation>/app.py, `@fn.route(METHOD, PATH)`), together with the request body model
(`fn.body(Model)`), authentication (`fn.authenticate` / `fn.bearer`), the Idempotency-Key header
and the success status. This module adds, per route: a summary, the success body model
(prakerja.http.models) and the domain errors the operation can answer with; their status and
title come from prakerja.http.problems. Entries for routes that no handler serves are ignored.

REQUEST_RULES documents, in the request schemas, rules that the request models enforce in
validators (pydantic cannot express them as JSON Schema): clients and the fuzzer see the shape a
valid value has. A rule may be stricter than the server (e.g. the canonical phone form), never looser.

Only the generator and the tests import this module (never a request path).
"""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import BaseModel

from prakerja.domain import errors
from prakerja.domain.errors import DomainError
from prakerja.http import models


@dataclass(frozen=True)
class RouteDoc:
    summary: str
    response: type[BaseModel] | None  # the success body; None: no body (204)
    errors: tuple[type[DomainError], ...] = ()
    description: str = ""
    tag: str = "registration"
    busy: bool = True  # calls a dependency, so it can answer 503 (overload) with Retry-After
    cache_control: str | None = None  # a Cache-Control header on the success response


BUSY = errors.ServiceUnavailable

ROUTES: dict[str, RouteDoc] = {
    "POST /registrations": RouteDoc(
        "Register (a 6-digit code is emailed)",
        models.RegistrationCreated,
        (errors.EmailTaken, errors.IdempotencyKeyReused, errors.IdempotencyInProgress, errors.ResendTooSoon),
        "A retry with the same Idempotency-Key and the same body returns the same answer; the same key "
        "with another body is 422 `idempotency-key-reused`, while the first is in flight 409.",
    ),
    "POST /registrations/{id}/email-verification": RouteDoc(
        "Verify the email with the emailed code (returns a session)",
        models.VerifiedSession,
        (errors.CodeMismatch, errors.CodeExpired, errors.TooManyAttempts, errors.AlreadyVerified, errors.NotFound),
        "After 5 wrong codes the code is dead (429 `too-many-attempts`) until a new one is sent.",
    ),
    "POST /registrations/{id}/email-verification/resend": RouteDoc(
        "Email a new code (the old one stops working)",
        models.Empty,
        (errors.ResendTooSoon, errors.AlreadyVerified, errors.NotFound),
        "Code emails are at least 60 s apart and at most 5 a day (429 `resend-too-soon` + Retry-After).",
    ),
    "POST /sessions": RouteDoc(
        "Sign in",
        models.Session,
        (errors.InvalidCredentials, errors.EmailNotVerified, errors.TooManyAttempts),
        "401 `invalid-credentials` is the same for an unknown email and a wrong password; repeated "
        "failures for one email are slowed down (429).",
        tag="session",
    ),
    "DELETE /sessions/current": RouteDoc(
        "Sign out: this token and every earlier one stop working",
        None,
        (errors.NotFound,),
        tag="session",
    ),
    "POST /password-resets": RouteDoc(
        "Ask for a password-reset code (202 for any email)",
        models.Empty,
        (errors.ResendTooSoon,),
        tag="session",
    ),
    "POST /password-resets/confirm": RouteDoc(
        "Set a new password with the emailed code (returns a session; older tokens are revoked)",
        models.Session,
        (errors.CodeMismatch, errors.CodeExpired, errors.TooManyAttempts),
        tag="session",
    ),
    "GET /registrations/{id}": RouteDoc(
        "Where the registration stands",
        models.RegistrationView,
        (errors.NotFound,),
    ),
    "DELETE /registrations/{id}": RouteDoc(
        "Delete the registration and erase its personal data (password required)",
        None,
        (errors.InvalidCredentials, errors.NotFound, errors.TooManyAttempts),
        tag="personal data",
    ),
    "GET /registrations/{id}/personal-data": RouteDoc(
        "Every personal field held and the processing history",
        models.PersonalData,
        (errors.NotFound,),
        tag="personal data",
        cache_control="no-store",
    ),
    "POST /registrations/{id}/nik": RouteDoc(
        "Submit the NIK (structural rules checked at once, registry check queued)",
        models.NikAccepted,
        (errors.NikTaken, errors.NikAlreadySubmitted, errors.EmailNotVerified, errors.TooManyAttempts),
        "422 names the field: 16 digits, a real province code, digits 7-12 the birth date as DDMMYY "
        "(+40 on DD for women), serial not 0000. Resubmitting the identical body while PENDING is 202 again.",
    ),
    "POST /registrations/{id}/photo": RouteDoc(
        "Get a presigned S3 POST for the photo (JPEG/PNG, <= 2 MiB, >= 300x300)",
        models.PhotoUpload,
        (),
        "The upload is inspected server-side; `photo_status` on GET /registrations/{id} shows the outcome.",
    ),
    "GET /batches": RouteDoc("The training batches and their free seats", models.BatchList, (), tag="batch"),
    "POST /registrations/{id}/batch": RouteDoc(
        "Join a batch (needs NIK VERIFIED and photo ACCEPTED)",
        models.BatchJoined,
        (errors.NotEligible, errors.BatchFull, errors.AlreadyJoined),
        "Joining the same batch again is 200; 404 also for an unknown batch.",
        tag="batch",
    ),
    "GET /status": RouteDoc(
        "Queue backlogs and the registry's state (public, no personal data)",
        models.ServiceStatus,
        (),
        tag="service",
        cache_control="public, max-age=15",
    ),
    "GET /health": RouteDoc("Liveness of the API (no dependency called)", models.Health, (), tag="service", busy=False),
}


Rules = dict[str, object]
_EMAIL: Rules = {"format": "email", "maxLength": 254, "description": "Trimmed and lower-cased by the server."}
_PASSWORD: Rules = {"minLength": 8, "maxLength": 128}
_CODE: Rules = {"pattern": "^[0-9]{6}$", "description": "The 6-digit code from the email."}
_NAME: Rules = {"description": "1 to 100 characters after collapsing spaces: letters, spaces and . ' - only."}

# request model name -> field -> JSON Schema keywords added to the generated schema
REQUEST_RULES: dict[str, dict[str, Rules]] = {
    "RegisterBody": {
        "email": _EMAIL,
        "password": {**_PASSWORD, "description": "Not a common password, not containing the email's local part."},
        "full_name": _NAME,
        "phone": {
            "pattern": "^(\\+62|62|0)8[0-9]{8,11}$",
            "description": "Indonesian mobile: 08..., 628... or +628... (spaces, dashes, brackets also accepted).",
        },
    },
    "SessionBody": {"email": _EMAIL},
    "CodeBody": {"code": _CODE},
    "NikBody": {
        "nik": {"pattern": "^[0-9]{16}$", "description": "Province code, DDMMYY birth date (+40 on DD for women)."},
        "full_name": _NAME,
        "birth_date": {"format": "date", "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}$"},
    },
    "PasswordResetBody": {"email": _EMAIL},
    "PasswordResetConfirmBody": {"email": _EMAIL, "code": _CODE, "new_password": _PASSWORD},
}
