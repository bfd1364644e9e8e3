"""Registrations as the funnel's API steps use them: registering (email claim, take-over of an
unverified address, idempotency records), email verification and its codes, and sign-in with its
throttle (implements prakerja.domain.ports.RegistrationStore). The item shapes live in
registration_items.py; erasure in accounts.py; the code email's send lease in code_sends.py."""

from __future__ import annotations

import json
import time
from typing import Any

from prakerja.adapters.dynamo_codec import from_item, to_item
from prakerja.adapters.keys import email_key, idem_key, login_key, reg_key
from prakerja.adapters.login_throttle import reserve_in_window
from prakerja.adapters.registration_items import (
    APPEND_EVENT,
    TAKEOVER_MARK,
    claim_from_item,
    claim_item,
    event_values,
    get_registration,
    is_expired,
    registration_from_item,
    registration_to_item,
)
from prakerja.adapters.table import Table
from prakerja.domain.models import EmailClaim, IdempotencyRecord, LoginGrant, OutboxJob, Registration
from prakerja.domain.ports import EmailClaimed, IdempotencyHit, TransientConflict

# Stored idempotency items keep the answer they replay: the created registration (HTTP 201).
_IDEM_STATUS_CODE = 201


class DynamoRegistrationStore:
    def __init__(self, table: Table) -> None:
        self._table = table

    def create(self, reg: Registration, job: OutboxJob, idempotency: IdempotencyRecord | None, expires_at: int) -> None:
        name = self._table.name
        items: list[dict[str, Any]] = [
            {
                "Put": {
                    "TableName": name,
                    "Item": registration_to_item(reg),
                    "ConditionExpression": "attribute_not_exists(pk)",
                }
            },
            {"Put": {"TableName": name, "Item": claim_item(reg), "ConditionExpression": "attribute_not_exists(pk)"}},
            self._table.outbox_put(job, reg.created_at),
        ]
        if idempotency is not None:
            items.append(self._idempotency_put(idempotency, expires_at))
        codes = self._table.transact(items)
        if codes is None:
            return
        if idempotency is not None and len(codes) > 3 and codes[3] == "ConditionalCheckFailed":
            raise IdempotencyHit(self.get_idempotency(idempotency.key_hash))
        if len(codes) > 1 and codes[1] == "ConditionalCheckFailed":
            raise EmailClaimed()
        raise TransientConflict()

    def get_email_claim(self, email: str) -> EmailClaim | None:
        item = self._table.get(email_key(email))
        return claim_from_item(item) if item else None

    def replace_unverified(
        self,
        old: EmailClaim,
        reg: Registration,
        job: OutboxJob,
        idempotency: IdempotencyRecord | None,
        expires_at: int,
    ) -> bool:
        name = self._table.name
        # The claim must still be exactly the one we read (same holder, same last code email,
        # not verified): of two concurrent take-overs exactly one passes.
        claim_values: dict[str, Any] = {":old": old.registration_id, ":f": False}
        claim_condition = "registration_id = :old AND (attribute_not_exists(verified) OR verified = :f)"
        if old.code_sent_at is None:
            claim_condition += " AND attribute_not_exists(code_sent_at)"
        else:
            claim_condition += " AND code_sent_at = :sent"
            claim_values[":sent"] = old.code_sent_at
        items: list[dict[str, Any]] = [
            {
                "Put": {
                    "TableName": name,
                    # marked: the funnel counted this person when the replaced registration came in
                    "Item": {**registration_to_item(reg), TAKEOVER_MARK: {"BOOL": True}},
                    "ConditionExpression": "attribute_not_exists(pk)",
                }
            },
            {
                "Put": {
                    "TableName": name,
                    "Item": claim_item(reg),
                    "ConditionExpression": claim_condition,
                    "ExpressionAttributeValues": to_item(claim_values),
                }
            },
            self._table.outbox_put(job, reg.created_at),
            {
                "Delete": {
                    "TableName": name,
                    "Key": reg_key(old.registration_id),
                    "ConditionExpression": "attribute_not_exists(pk) OR email_verified = :f",
                    "ExpressionAttributeValues": {":f": {"BOOL": False}},
                }
            },
        ]
        if idempotency is not None:
            items.append(self._idempotency_put(idempotency, expires_at))
        codes = self._table.transact(items)
        if codes is None:
            return True
        if idempotency is not None and len(codes) > 4 and codes[4] == "ConditionalCheckFailed":
            raise IdempotencyHit(self.get_idempotency(idempotency.key_hash))
        if "ConditionalCheckFailed" in codes:
            return False
        raise TransientConflict()

    def _idempotency_put(self, idempotency: IdempotencyRecord, expires_at: int) -> dict[str, Any]:
        """The idempotency record: registration id, status and a hash of the body, no personal data."""
        response = {"registration_id": idempotency.registration_id, "status": idempotency.status}
        return {
            "Put": {
                "TableName": self._table.name,
                "Item": {
                    **idem_key(idempotency.key_hash),
                    **to_item(
                        {
                            "body_hash": idempotency.body_hash,
                            "response": json.dumps(response),
                            "status_code": _IDEM_STATUS_CODE,
                            "expires_at": expires_at,
                        }
                    ),
                },
                "ConditionExpression": "attribute_not_exists(pk)",
                "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
            }
        }

    def get(self, registration_id: str) -> Registration | None:
        return get_registration(self._table, registration_id)

    def get_idempotency(self, key_hash: str) -> IdempotencyRecord | None:
        item = self._table.get(idem_key(key_hash))
        if not item:
            return None
        v = from_item(item)
        if int(v.get("expires_at", 0)) < time.time():
            return None
        response = json.loads(v["response"])
        return IdempotencyRecord(key_hash, v["body_hash"], str(response["registration_id"]), str(response["status"]))

    def reserve_code_attempt(self, registration_id: str, max_attempts: int) -> Registration | None:
        done, item = self._table.update_returning(
            reg_key(registration_id),
            "SET code_attempts = if_not_exists(code_attempts, :zero) + :one",
            "attribute_exists(pk) AND email_verified = :f "
            "AND (attribute_not_exists(code_attempts) OR code_attempts < :max) "
            # expired (an unverified registration past its TTL, deletion pending): absent
            "AND (attribute_not_exists(expires_at) OR expires_at > :now)",
            {":zero": 0, ":one": 1, ":f": False, ":max": max_attempts, ":now": int(time.time())},
        )
        return registration_from_item(item) if done and item else None

    def mark_email_verified(self, registration_id: str, email: str, nonce: str, max_attempts: int, now: int) -> bool:
        """Verify the registration if the code of `nonce` is still current, within budget and not yet
        used, and in the same transaction its email claim (both stop expiring), appending the
        email_verified event."""
        name = self._table.name
        items: list[dict[str, Any]] = [
            {
                "Update": {
                    "TableName": name,
                    "Key": reg_key(registration_id),
                    "UpdateExpression": f"SET email_verified = :t, {APPEND_EVENT} REMOVE expires_at",
                    "ConditionExpression": "code_nonce = :n AND email_verified = :f AND code_attempts <= :max",
                    "ExpressionAttributeValues": to_item(
                        {
                            ":t": True,
                            ":n": nonce,
                            ":f": False,
                            ":max": max_attempts,
                            **event_values("email_verified", now),
                        }
                    ),
                }
            },
            {
                "Update": {
                    "TableName": name,
                    "Key": email_key(email),
                    "UpdateExpression": "SET verified = :t REMOVE expires_at",
                    "ConditionExpression": "registration_id = :me",
                    "ExpressionAttributeValues": to_item({":t": True, ":me": registration_id}),
                }
            },
        ]
        try:
            return self._table.transact(items) is None
        except TransientConflict:
            return False

    def replace_code(
        self,
        registration_id: str,
        email: str,
        old_nonce: str,
        new_nonce: str,
        issued_at: int,
        resend_day: str,
        resend_count: int,
        job: OutboxJob,
    ) -> bool:
        update = {
            "Update": {
                "TableName": self._table.name,
                "Key": reg_key(registration_id),
                "UpdateExpression": "SET code_nonce = :new, code_issued_at = :at, code_sent_at = :zero, "
                "code_attempts = :zero, resend_day = :day, resend_count = :count "
                # the send lease was for the old code's email: the new one's sender must not wait on it
                "REMOVE code_send_lease, code_send_holder",
                "ConditionExpression": "code_nonce = :old AND email_verified = :f",
                "ExpressionAttributeValues": to_item(
                    {
                        ":new": new_nonce,
                        ":at": issued_at,
                        ":zero": 0,
                        ":day": resend_day,
                        ":count": resend_count,
                        ":old": old_nonce,
                        ":f": False,
                    }
                ),
            }
        }
        # The per-address counters move with it (they outlive this registration).
        claim = {
            "Update": {
                "TableName": self._table.name,
                "Key": email_key(email),
                "UpdateExpression": "SET code_sent_at = :at, code_day = :day, code_count = :count",
                "ConditionExpression": "registration_id = :me",
                "ExpressionAttributeValues": to_item(
                    {":at": issued_at, ":day": resend_day, ":count": resend_count, ":me": registration_id}
                ),
            }
        }
        try:
            return self._table.transact([update, claim, self._table.outbox_put(job, issued_at)]) is None
        except TransientConflict:
            return False

    def find_registration_id(self, email: str) -> str | None:
        item = self._table.get(email_key(email))
        if not item:
            return None
        v = from_item(item)
        if is_expired(v, time.time()):
            return None  # an unverified claim past its TTL, deletion pending: absent
        return str(v["registration_id"])

    def reserve_login(
        self, registration_id: str | None, throttle_key: str, now: int, window_s: int, max_attempts: int
    ) -> LoginGrant:
        if registration_id is not None:
            grant = reserve_in_window(
                self._table, reg_key(registration_id), now, window_s, max_attempts, must_exist=True
            )
            if grant is not None:
                allowed, item, retry_after = grant
                reg = registration_from_item(item) if allowed and item else None
                return LoginGrant(allowed, reg, retry_after)
        # No account (or its claim outlived it): the same budget on a throttle item of the email.
        grant = reserve_in_window(self._table, login_key(throttle_key), now, window_s, max_attempts, must_exist=False)
        allowed, _, retry_after = grant or (False, None, window_s)
        return LoginGrant(allowed, None, retry_after)

    def release_login(self, registration_id: str) -> None:
        self._table.update_if(
            reg_key(registration_id), "REMOVE login_attempts, login_window", "attribute_exists(pk)", {}
        )
