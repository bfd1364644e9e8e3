"""Response bodies of the contract as pydantic models: the source of the OpenAPI document's
response schemas (infra/openapi.py) and what the tests validate the handlers' answers against.

Never imported on a request path: the handlers build their bodies as plain dicts
(prakerja.http.views) so a cold start does not pay for these schemas; every model defers its
build until the generator or a test asks for it.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.json_schema import SkipJsonSchema

RegistrationId = Annotated[str, Field(pattern=r"^[0-9a-f]{32}$", description="Opaque registration id.")]
IsoUtc = Annotated[str, Field(description="ISO 8601 timestamp in UTC.", examples=["2026-11-28T10:15:00Z"])]
RegistrationStatus = Literal[
    "EMAIL_PENDING", "EMAIL_VERIFIED", "NIK_PENDING", "NIK_VERIFIED", "NIK_REJECTED", "READY", "JOINED"
]
NikStatus = Literal["NONE", "PENDING", "VERIFIED", "REJECTED"]
NikReason = Literal["MISMATCH", "NOT_FOUND", "UNAVAILABLE"]
PhotoStatus = Literal["NONE", "PENDING", "ACCEPTED", "REJECTED"]


class Model(BaseModel):
    """A response body: exactly these members (extra members would be undocumented)."""

    model_config = ConfigDict(extra="forbid", defer_build=True)


# -- problem+json (RFC 9457) ------------------------------------------------------------------------
class FieldError(Model):
    field: str = Field(description="The request member (dotted path) that is not valid.")
    message: str = Field(description="What is wrong with it (the submitted value is never echoed).")


def _absent_not_null(schema: dict[str, Any]) -> None:
    """Optional problem members are left out when they do not apply: no `default: null`."""
    for prop in schema.get("properties", {}).values():
        if "default" in prop and prop["default"] is None:
            del prop["default"]


class Problem(BaseModel):
    """Every 4xx/5xx body (application/problem+json). `type` is a stable slug."""

    model_config = ConfigDict(extra="allow", defer_build=True, json_schema_extra=_absent_not_null)

    type: str = Field(description="Stable problem slug, e.g. `email-taken`: part of the contract.")
    title: str = Field(description="Short summary of the problem type (language per Accept-Language).")
    status: int = Field(ge=400, le=599, description="The HTTP status code.")
    detail: str = Field(description="What happened in this case, for the person.")
    # Optional members are absent when they do not apply (never null).
    errors: list[FieldError] | SkipJsonSchema[None] = Field(
        default=None, description="`validation-error` only: one per field."
    )
    attempts_left: Annotated[int, Field(ge=0)] | SkipJsonSchema[None] = Field(
        default=None, description="`code-mismatch` only: wrong codes left."
    )
    registration_id: RegistrationId | SkipJsonSchema[None] = Field(
        default=None, description="`email-not-verified` on POST /sessions: the registration to verify."
    )


# -- bodies -----------------------------------------------------------------------------------------
class Empty(Model):
    """An empty JSON object: `{}`."""


class Health(Model):
    status: Literal["ok"]


class RegistrationCreated(Model):
    registration_id: RegistrationId
    status: RegistrationStatus = Field(description="`EMAIL_PENDING` for a new registration.")


class Session(Model):
    registration_id: RegistrationId
    access_token: str = Field(description="Bearer token for the (auth) operations.")
    token_type: Literal["Bearer"]
    expires_in: int = Field(gt=0, description="Seconds until the token expires.")


class VerifiedSession(Model):
    registration_id: RegistrationId
    status: Literal["EMAIL_VERIFIED"]
    access_token: str = Field(description="Bearer token for the (auth) operations.")
    token_type: Literal["Bearer"]
    expires_in: int = Field(gt=0, description="Seconds until the token expires.")


class RegistrationView(Model):
    registration_id: RegistrationId
    status: RegistrationStatus = Field(description="The furthest stage reached.")
    email: str = Field(description="Masked, e.g. `b***@gmail.com`.")
    email_verified: bool
    email_delivery: Literal["OK", "BOUNCED", "COMPLAINED"] = Field(
        description="`BOUNCED` / `COMPLAINED` once mail to the address bounced permanently or was "
        "marked as spam: no more email is sent to it (register again with another address)."
    )
    nik_status: NikStatus
    nik_reason: NikReason | None
    photo_status: PhotoStatus
    photo_reason: str | None = Field(description="Slug: `not-an-image`, `too-large`, `too-small`.")
    batch_id: str | None
    created_at: IsoUtc


class NikAccepted(Model):
    nik_status: Literal["PENDING"]


class PhotoUpload(Model):
    """An S3 presigned POST: send multipart/form-data with every field, then `file`."""

    url: str = Field(description="Where to POST the form.")
    fields: dict[str, str] = Field(description="Form fields to send as they are (key, policy, signature...).")
    expires_in: int = Field(gt=0, le=300, description="Seconds the form stays valid.")
    max_bytes: int = Field(gt=0, description="Largest accepted file, in bytes.")


class Batch(Model):
    batch_id: str
    name: str
    seats_total: int = Field(ge=0)
    seats_left: int = Field(ge=0)


class BatchList(Model):
    batches: list[Batch]


class BatchJoined(Model):
    batch_id: str
    status: Literal["JOINED"]


# -- accounts (issue 7) -----------------------------------------------------------------------------
class Consent(Model):
    terms_version: str
    accepted: Literal[True]
    accepted_at: IsoUtc


class PersonalNik(Model):
    masked: str | None = Field(description="The NIK is never kept in clear: its masked form.")
    status: NikStatus
    reason: NikReason | None


class PersonalPhoto(Model):
    status: PhotoStatus
    reason: str | None


class PersonalBatch(Model):
    batch_id: str


class ProcessingEvent(Model):
    event: str
    at: IsoUtc


class PersonalData(Model):
    registration_id: RegistrationId
    email: str
    email_verified: bool
    phone: str
    full_name: str
    created_at: IsoUtc
    consent: Consent | None
    nik: PersonalNik
    photo: PersonalPhoto
    batch: PersonalBatch | None
    unverified_expires_at: IsoUtc | None
    processing: list[ProcessingEvent]


# -- overload (issue 6) -----------------------------------------------------------------------------
class EmailBacklog(Model):
    queued: int = Field(ge=0)
    eta_s: float = Field(ge=0)


class NikBacklog(Model):
    pending: int = Field(ge=0)
    eta_s: float = Field(ge=0)
    registry: Literal["UP", "DEGRADED", "DOWN"]


class ServiceStatus(Model):
    email: EmailBacklog
    nik: NikBacklog
    updated_at: IsoUtc
