"""Domain records. Plain dataclasses: the adapters translate them to and from storage."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, Literal

NikStatus = Literal["NONE", "PENDING", "VERIFIED", "REJECTED"]
PhotoStatus = Literal["NONE", "PENDING", "ACCEPTED", "REJECTED"]

CODE_TTL_S = 15 * 60  # default; the function setting CODE_TTL_S; counted from when the email is sent
# A code email still queued (not yet handed to SES) after this long is presumed lost (e.g. parked in
# the DLQ): a resend then issues a new code instead of waiting for the queued one.
QUEUED_CODE_GRACE_S = 6 * 3600
CODE_MAX_ATTEMPTS = 5
RESEND_COOLDOWN_S = 60
RESENDS_PER_DAY = 5
NIK_SUBMISSIONS_PER_DAY = 5
LOGIN_MAX_ATTEMPTS = 5  # password checks per email per window (reserved before each check)
LOGIN_WINDOW_S = 15 * 60
# An unverified registration (and its email claim) expires after this long (DynamoDB TTL).
UNVERIFIED_TTL_S = 7 * 24 * 3600

# Processing events (ProcessingEvent.name) appended to a registration with its state changes.
EventName = Literal[
    "registered",
    "email_verified",
    "nik_submitted",
    "nik_verified",
    "nik_rejected",
    "photo_accepted",
    "photo_rejected",
    "batch_joined",
    "password_reset",
    "signed_out",
]


@dataclass(frozen=True)
class ProcessingEvent:
    """One step of the processing history kept on the registration (UU PDP Art. 32 export)."""

    name: str
    at: int  # epoch seconds


@dataclass(frozen=True)
class Consent:
    """The terms the person accepted when registering, and when."""

    terms_version: str
    accepted_at: int  # epoch seconds


@dataclass
class Registration:
    registration_id: str
    email: str
    password_hash: str
    full_name: str
    phone: str
    created_at: int
    consent: Consent | None = None
    # TTL (epoch seconds) while the email is unverified; None once verified.
    expires_at: int | None = None
    events: tuple[ProcessingEvent, ...] = ()
    email_verified: bool = False
    code_nonce: str = ""
    # When the current code's email was handed to SES (its lifetime starts then); 0 while queued.
    code_sent_at: int = 0
    code_issued_at: int = 0  # when the current code was made (registration or resend)
    code_attempts: int = 0
    resend_day: str = ""
    resend_count: int = 0
    # NIK: never in clear. Ciphertext only while the check is pending.
    nik_status: NikStatus = "NONE"
    nik_reason: str | None = None
    nik_fp: str | None = None
    nik_masked: str | None = None
    nik_ct: str | None = None
    nik_request_hash: str | None = None
    nik_seq: int = 0
    nik_day: str = ""
    nik_day_count: int = 0
    # Photo
    photo_status: PhotoStatus = "NONE"
    photo_reason: str | None = None
    photo_key: str | None = None
    photo_upload_key: str | None = None
    # Batch
    batch_id: str | None = None
    # Sessions: a token is accepted while its generation (claim `gen`) is >= token_gen; sign-out
    # and password reset raise token_gen, revoking every token issued before.
    token_gen: int = 0
    # Sign-in budget: password checks reserved in the current window (see LOGIN_MAX_ATTEMPTS).
    login_attempts: int = 0
    login_window: int = 0

    def accepts_token(self, generation: int) -> bool:
        """A token of this generation is still valid for this registration (not revoked)."""
        return generation >= self.token_gen

    @property
    def code_queued(self) -> bool:
        """The current code's email has not been handed to SES yet (the person cannot have it)."""
        return not self.email_verified and self.code_sent_at == 0 and self.code_issued_at > 0

    # Email delivery: BOUNCED / COMPLAINED once SES reported it (domain.email_delivery); not mailed then
    email_delivery: str = "OK"
    seat_shard: int | None = None  # the seat shard taken on join (given back on deletion)

    @property
    def status(self) -> str:
        if self.batch_id:
            return "JOINED"
        if self.nik_status == "VERIFIED":
            return "READY" if self.photo_status == "ACCEPTED" else "NIK_VERIFIED"
        if self.nik_status == "REJECTED":
            return "NIK_REJECTED"
        if self.nik_status == "PENDING":
            return "NIK_PENDING"
        return "EMAIL_VERIFIED" if self.email_verified else "EMAIL_PENDING"


@dataclass(frozen=True)
class OutboxJob:
    """An insert-only job written in the same transaction as the state change it belongs to."""

    kind: Literal["EMAIL", "NIK_CHECK"]
    registration_id: str
    payload: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class IdempotencyRecord:
    """The outcome of a registration request sent with an Idempotency-Key (replayed on retries)."""

    key_hash: str
    body_hash: str
    registration_id: str
    status: str


@dataclass(frozen=True)
class EmailClaim:
    """Who holds an email address, and the per-address code-email counters (they outlive the
    registration holding the address, so re-registering cannot reset them)."""

    email: str
    registration_id: str
    verified: bool | None  # None: a claim written before the flag existed (read the registration)
    expires_at: int | None = None
    code_sent_at: int | None = None
    code_day: str = ""
    code_count: int = 0


@dataclass(frozen=True)
class LoginGrant:
    """The outcome of reserving one password check of an email's sign-in budget."""

    allowed: bool
    registration: Registration | None = None  # as read by the reservation (None: no such account)
    retry_after_s: int = 0  # when refused: until the window ends


def utc_day(epoch_s: float) -> str:
    return dt.datetime.fromtimestamp(epoch_s, tz=dt.UTC).strftime("%Y-%m-%d")


def seconds_to_next_utc_day(epoch_s: float) -> int:
    now = dt.datetime.fromtimestamp(epoch_s, tz=dt.UTC)
    tomorrow = (now + dt.timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    return max(1, int((tomorrow - now).total_seconds()) + 1)


def iso_utc(epoch_s: float) -> str:
    return dt.datetime.fromtimestamp(epoch_s, tz=dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
