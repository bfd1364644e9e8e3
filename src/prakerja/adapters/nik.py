"""NIK verification state of a registration and the one-NIK-one-person claims
(implements prakerja.domain.nik_service.NikStore)."""

from __future__ import annotations

import time
from typing import Any

from prakerja.adapters.dynamo_codec import to_item
from prakerja.adapters.keys import nik_claim_key, reg_key
from prakerja.adapters.registration_items import APPEND_EVENT, event_values, get_registration, registration_from_item
from prakerja.adapters.table import Table
from prakerja.domain import errors
from prakerja.domain.models import OutboxJob, Registration
from prakerja.domain.nik_service import PendingNik
from prakerja.domain.ports import TransientConflict


class DynamoNikStore:
    def __init__(self, table: Table) -> None:
        self._table = table

    def get(self, registration_id: str) -> Registration | None:
        return get_registration(self._table, registration_id)

    def reserve_nik_submission(
        self, registration_id: str, day: str, max_per_day: int, token_generation: int | None
    ) -> tuple[bool, Registration | None]:
        can_submit = "attribute_exists(pk) AND email_verified = :t AND nik_status IN (:none, :rejected)"
        state: dict[str, Any] = {":t": True, ":none": "NONE", ":rejected": "REJECTED", ":one": 1, ":day": day}
        if token_generation is not None:  # the token's revocation, checked in the same write
            can_submit += " AND (attribute_not_exists(token_gen) OR token_gen <= :gen)"
            state[":gen"] = token_generation
        new_day = True  # the common case: the first submission of the day
        item = None
        for _ in range(3):
            if new_day:  # the first submission of the day starts its count
                done, item = self._table.update_returning(
                    reg_key(registration_id),
                    "SET nik_day = :day, nik_day_count = :one",
                    can_submit + " AND (attribute_not_exists(nik_day) OR nik_day <> :day)",
                    state,
                )
            else:  # one more submission today, if any is left
                done, item = self._table.update_returning(
                    reg_key(registration_id),
                    "ADD nik_day_count :one",
                    can_submit + " AND nik_day = :day AND nik_day_count < :max",
                    {**state, ":max": max_per_day},
                )
            if done or item is None:
                return done, registration_from_item(item) if item else None
            reg = registration_from_item(item)
            counted_today = reg.nik_day == day
            if not reg.email_verified or reg.nik_status not in ("NONE", "REJECTED"):
                return False, reg
            revoked = token_generation is not None and not reg.accepts_token(token_generation)
            if revoked or (counted_today and reg.nik_day_count >= max_per_day):
                return False, reg
            new_day = not counted_today  # the other branch applies: decide again
        return False, registration_from_item(item) if item else None

    def submit_nik(self, registration_id: str, expected_seq: int, pending: PendingNik, job: OutboxJob) -> None:
        now = int(time.time())
        items: list[dict[str, Any]] = [
            {
                "Update": {
                    "TableName": self._table.name,
                    "Key": reg_key(registration_id),
                    "UpdateExpression": (
                        "SET nik_status = :pending, nik_fp = :fp, nik_masked = :masked, nik_ct = :ct, "
                        f"nik_request_hash = :rh, nik_seq = :seq, {APPEND_EVENT} "
                        "REMOVE nik_reason"
                    ),
                    "ConditionExpression": (
                        "attribute_exists(pk) AND (attribute_not_exists(nik_seq) OR nik_seq = :expected)"
                    ),
                    "ExpressionAttributeValues": to_item(
                        {
                            ":pending": "PENDING",
                            ":fp": pending.fingerprint,
                            ":masked": pending.masked,
                            ":ct": pending.ciphertext,
                            ":rh": pending.request_hash,
                            ":seq": pending.seq,
                            ":expected": expected_seq,
                            **event_values("nik_submitted", now),
                        }
                    ),
                }
            },
            {
                "Put": {
                    "TableName": self._table.name,
                    "Item": {
                        **nik_claim_key(pending.fingerprint),
                        **to_item({"registration_id": registration_id, "claimed_at": now}),
                    },
                    "ConditionExpression": "attribute_not_exists(pk) OR registration_id = :me",
                    "ExpressionAttributeValues": {":me": {"S": registration_id}},
                }
            },
            self._table.outbox_put(job, now),
        ]
        codes = self._table.transact(items)
        if codes is None:
            return
        if codes[1] == "ConditionalCheckFailed":
            raise errors.NikTaken("This NIK is already registered to another account.")
        raise TransientConflict()

    def record_nik_result(
        self,
        registration_id: str,
        seq: int,
        status: str,
        reason: str | None,
        release_fingerprint: str | None,
        job: OutboxJob,
    ) -> bool:
        now = int(time.time())
        event = "nik_verified" if status == "VERIFIED" else "nik_rejected"
        values: dict[str, Any] = {
            ":status": status,
            ":seq": seq,
            ":pending": "PENDING",
            ":at": now,
            **event_values(event, now),
        }
        update = f"SET nik_status = :status, nik_checked_at = :at, {APPEND_EVENT}"
        if reason:
            update += ", nik_reason = :reason"
            values[":reason"] = reason
        update += " REMOVE nik_ct" + ("" if reason else ", nik_reason")
        items: list[dict[str, Any]] = [
            {
                "Update": {
                    "TableName": self._table.name,
                    "Key": reg_key(registration_id),
                    "UpdateExpression": update,
                    "ConditionExpression": "nik_seq = :seq AND nik_status = :pending",
                    "ExpressionAttributeValues": to_item(values),
                }
            }
        ]
        if release_fingerprint:
            items.append(
                {
                    "Delete": {
                        "TableName": self._table.name,
                        "Key": nik_claim_key(release_fingerprint),
                        "ConditionExpression": "attribute_not_exists(pk) OR registration_id = :me",
                        "ExpressionAttributeValues": {":me": {"S": registration_id}},
                    }
                }
            )
        items.append(self._table.outbox_put(job, now))
        codes = self._table.transact(items)
        return codes is None

    def mark_nik_delayed(self, registration_id: str, seq: int) -> None:
        self._table.update_if(
            reg_key(registration_id),
            "SET nik_reason = :u",
            "nik_seq = :seq AND nik_status = :pending",
            {":u": "UNAVAILABLE", ":seq": seq, ":pending": "PENDING"},
        )
