"""Photo state of a registration (implements prakerja.domain.photo_service.PhotoStore)."""

from __future__ import annotations

import time
from typing import Any

from prakerja.adapters.keys import reg_key
from prakerja.adapters.registrations import APPEND_EVENT, event_values, get_registration
from prakerja.adapters.table import Table
from prakerja.domain.models import Registration


class DynamoPhotoStore:
    def __init__(self, table: Table) -> None:
        self._table = table

    def get(self, registration_id: str) -> Registration | None:
        return get_registration(self._table, registration_id)

    def set_upload_key(self, registration_id: str, key_: str, token_generation: int = 0) -> str:
        # The token's revocation is checked in the same write (this route reads nothing else).
        done, old = self._table.update_returning(
            reg_key(registration_id),
            "SET photo_upload_key = :k",
            "attribute_exists(pk) AND (attribute_not_exists(token_gen) OR token_gen <= :gen)",
            {":k": key_, ":gen": token_generation},
        )
        if done:
            return "OK"
        return "REVOKED" if old else "GONE"

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
