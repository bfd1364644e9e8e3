"""Photo upload (presigned POST: the bytes never pass through a Lambda) and server-side inspection."""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from typing import Protocol

from prakerja.domain import errors
from prakerja.domain.models import Registration
from prakerja.domain.photo import (
    MAX_PHOTO_BYTES,
    PRESIGN_EXPIRES_S,
    TOO_LARGE,
    inspect_image,
    parse_photo_key,
    photo_object_key,
)
from prakerja.domain.sessions import REVOKED_DETAIL

# At most this many presigned uploads per registration in an upload window (from its first upload).
UPLOADS_PER_WINDOW = 10
UPLOAD_WINDOW_S = 3600


@dataclass(frozen=True)
class UploadReservation:
    found: bool  # the registration exists
    allowed: bool  # the upload was counted and its key stored
    retry_after_s: int = 0  # when refused: seconds until the window ends
    revoked: bool = False  # when refused: the token was revoked (signed out / password reset)


class PhotoStore(Protocol):
    def get(self, registration_id: str) -> Registration | None: ...

    def set_upload_key(self, registration_id: str, key: str, now: int, token_generation: int = 0) -> UploadReservation:
        """Count one upload in the registration's window (UPLOADS_PER_WINDOW per UPLOAD_WINDOW_S)
        and remember the key of the latest presigned upload, atomically, in one conditional write,
        if a token of `token_generation` is still valid (not signed out / password reset)."""

    def record_photo(self, registration_id: str, key: str, status: str, reason: str | None) -> bool:
        """Store the verdict if `key` is still the latest upload; False when stale."""


class ObjectInfoLike(Protocol):
    @property
    def size(self) -> int: ...

    @property
    def content_type(self) -> str | None: ...


class PresignedUpload(Protocol):
    @property
    def url(self) -> str: ...

    @property
    def fields(self) -> dict[str, str]: ...

    @property
    def expires_in(self) -> int: ...

    @property
    def max_bytes(self) -> int: ...


class Storage(Protocol):
    def presign_upload(self, key: str, content_type: str, max_bytes: int, expires_s: int) -> PresignedUpload: ...

    def head(self, key: str) -> ObjectInfoLike | None: ...

    def read(self, key: str, max_bytes: int) -> bytes: ...

    def delete(self, key: str) -> None: ...


@dataclass(frozen=True)
class InspectionOutcome:
    registration_id: str | None
    status: str  # ACCEPTED | REJECTED | STALE | MISSING
    reason: str | None = None


class PhotoService:
    def __init__(self, store: PhotoStore, storage: Storage) -> None:
        self._store = store
        self._storage = storage

    def upload_photo(
        self, registration_id: str, content_type: str, now: int | None = None, *, token_generation: int = 0
    ) -> PresignedUpload:
        key = photo_object_key(registration_id, secrets.token_urlsafe(24).replace("-", "x").replace("_", "y"))
        reservation = self._store.set_upload_key(
            registration_id, key, int(time.time()) if now is None else now, token_generation
        )
        if not reservation.found:
            raise errors.NotFound("No registration with this id.")
        if reservation.revoked:
            raise errors.Unauthorized(REVOKED_DETAIL)
        if not reservation.allowed:
            raise errors.TooManyAttempts(
                f"At most {UPLOADS_PER_WINDOW} photo uploads an hour: try again later.",
                retry_after_s=max(1, reservation.retry_after_s),
            )
        return self._storage.presign_upload(key, content_type, MAX_PHOTO_BYTES, PRESIGN_EXPIRES_S)

    def inspect_photo(self, key: str) -> InspectionOutcome:
        parsed = parse_photo_key(key)
        if parsed is None:
            self._storage.delete(key)
            return InspectionOutcome(None, "STALE", "unexpected-key")
        registration_id = parsed[0]
        reg = self._store.get(registration_id)
        if reg is None or reg.photo_upload_key != key:
            # Not the latest upload of a live registration (an older presigned POST): drop it.
            self._storage.delete(key)
            return InspectionOutcome(registration_id, "STALE")
        if reg.photo_key == key and reg.photo_status in {"ACCEPTED", "REJECTED"}:
            return InspectionOutcome(registration_id, reg.photo_status, reg.photo_reason)  # redelivery
        info = self._storage.head(key)
        if info is None:
            return InspectionOutcome(registration_id, "MISSING")
        reason: str | None = TOO_LARGE
        if info.size > MAX_PHOTO_BYTES:
            verdict_ok = False
        else:
            try:
                data = self._storage.read(key, MAX_PHOTO_BYTES)
            except LookupError:  # replaced or deleted between head and read
                return InspectionOutcome(registration_id, "MISSING")
            verdict = inspect_image(data, info.content_type or "")
            verdict_ok, reason = verdict.accepted, verdict.reason
        status = "ACCEPTED" if verdict_ok else "REJECTED"
        if not self._store.record_photo(registration_id, key, status, None if verdict_ok else reason):
            self._storage.delete(key)  # superseded while we looked at it
            return InspectionOutcome(registration_id, "STALE")
        if verdict_ok:
            if reg.photo_key and reg.photo_key != key and reg.photo_status == "ACCEPTED":
                self._storage.delete(reg.photo_key)  # the new photo replaces the previous one
        else:
            self._storage.delete(key)
        return InspectionOutcome(registration_id, status, None if verdict_ok else reason)
