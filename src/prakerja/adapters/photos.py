"""Photo state of a registration (implements prakerja.domain.photo_service.PhotoStore)."""

from __future__ import annotations

import time
from typing import Any

from prakerja.adapters.keys import reg_key
from prakerja.adapters.registration_items import APPEND_EVENT, event_values, get_registration
from prakerja.adapters.table import Table
from prakerja.domain.models import Registration
from prakerja.domain.photo_service import UPLOAD_WINDOW_S, UPLOADS_PER_WINDOW, UploadReservation


class DynamoPhotoStore:
    def __init__(self, table: Table) -> None:
        self._table = table

    def get(self, registration_id: str) -> Registration | None:
        return get_registration(self._table, registration_id)

    def set_upload_key(self, registration_id: str, key_: str, now: int, token_generation: int = 0) -> UploadReservation:
        """The upload counter lives on the registration item (photo_uploads, photo_upload_window:
        the window's start): one UpdateItem counts and stores the key while the window has room;
        a window that has ended restarts at 1. Parallel requests cannot pass the limit. The
        token's revocation (token_gen) is checked in the same write, and a refused write returns
        the item as it was (this route never reads the registration otherwise)."""
        item = reg_key(registration_id)
        window_open = now - UPLOAD_WINDOW_S
        not_revoked = "(attribute_not_exists(token_gen) OR token_gen <= :gen)"
        for _ in range(3):  # a concurrent restart of the window between our two writes: decide again
            done, old = self._table.update_returning(
                item,
                "SET photo_upload_key = :k ADD photo_uploads :one",
                f"attribute_exists(pk) AND {not_revoked} AND photo_upload_window > :open AND photo_uploads < :max",
                {":k": key_, ":one": 1, ":open": window_open, ":max": UPLOADS_PER_WINDOW, ":gen": token_generation},
            )
            if done:
                return UploadReservation(found=True, allowed=True)
            refusal = _refusal(old, now, window_open, token_generation)
            if refusal is not None:
                return refusal
            done, old = self._table.update_returning(
                item,
                "SET photo_upload_key = :k, photo_uploads = :one, photo_upload_window = :now",
                f"attribute_exists(pk) AND {not_revoked} AND "
                "(attribute_not_exists(photo_upload_window) OR photo_upload_window <= :open)",
                {":k": key_, ":one": 1, ":now": now, ":open": window_open, ":gen": token_generation},
            )
            if done:
                return UploadReservation(found=True, allowed=True)
            refusal = _refusal(old, now, window_open, token_generation)
            if refusal is not None:
                return refusal
        return UploadReservation(found=True, allowed=False, retry_after_s=1)

    def record_photo(self, registration_id: str, key_: str, status: str, reason: str | None) -> bool:
        now = int(time.time())
        event = "photo_accepted" if status == "ACCEPTED" else "photo_rejected"
        values: dict[str, Any] = {":s": status, ":k": key_, ":at": now, **event_values(event, now)}
        if status == "ACCEPTED":
            update = (
                "SET photo_status = :s, photo_key = :k, photo_checked_at = :at, "
                f"photo_accepted_at = if_not_exists(photo_accepted_at, :at), {APPEND_EVENT} REMOVE photo_reason"
            )
        else:
            update = f"SET photo_status = :s, photo_reason = :r, photo_checked_at = :at, {APPEND_EVENT}"
            values[":r"] = reason or "not-an-image"
        return bool(self._table.update_if(reg_key(registration_id), update, "photo_upload_key = :k", values))


def _refusal(old: dict[str, Any] | None, now: int, window_open: int, token_generation: int) -> UploadReservation | None:
    """Why a conditional upload write failed, from the item as it was; None: the window just
    changed under us, decide again."""
    if not old:
        return UploadReservation(found=False, allowed=False)
    if int(old.get("token_gen", {}).get("N", 0)) > token_generation:
        return UploadReservation(found=True, allowed=False, revoked=True)
    start = int(old.get("photo_upload_window", {}).get("N", now))
    if int(old.get("photo_uploads", {}).get("N", 0)) >= UPLOADS_PER_WINDOW and start > window_open:
        return UploadReservation(found=True, allowed=False, retry_after_s=max(1, start + UPLOAD_WINDOW_S - now))
    return None
