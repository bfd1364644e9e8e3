"""Domain records. Plain dataclasses: the adapters translate them to and from storage."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, Literal

NikStatus = Literal["NONE", "PENDING", "VERIFIED", "REJECTED"]
PhotoStatus = Literal["NONE", "PENDING", "ACCEPTED", "REJECTED"]

CODE_TTL_S = 15 * 60
CODE_MAX_ATTEMPTS = 5
RESEND_COOLDOWN_S = 60
RESENDS_PER_DAY = 5
NIK_SUBMISSIONS_PER_DAY = 5


@dataclass
class Registration:
    registration_id: str
    email: str
    password_hash: str
    full_name: str
    phone: str
    created_at: int
    email_verified: bool = False
    code_nonce: str = ""
    code_sent_at: int = 0
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
    # Email delivery: BOUNCED / COMPLAINED once SES reported it (domain.email_delivery); not mailed then
    email_delivery: str = "OK"

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
class LoginThrottle:
    failures: int = 0
    window_start: int = 0


def utc_day(epoch_s: float) -> str:
    return dt.datetime.fromtimestamp(epoch_s, tz=dt.UTC).strftime("%Y-%m-%d")


def seconds_to_next_utc_day(epoch_s: float) -> int:
    now = dt.datetime.fromtimestamp(epoch_s, tz=dt.UTC)
    tomorrow = (now + dt.timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    return max(1, int((tomorrow - now).total_seconds()) + 1)


def iso_utc(epoch_s: float) -> str:
    return dt.datetime.fromtimestamp(epoch_s, tz=dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
