"""Registrations, their email claim, idempotency records and login throttles
(implements prakerja.domain.ports.RegistrationStore)."""

from __future__ import annotations

import dataclasses
import json
import time
from typing import Any

from prakerja.adapters.dynamo_codec import Item, from_item, to_item
from prakerja.adapters.keys import email_key, idem_key, login_key, reg_key
from prakerja.adapters.table import Table
from prakerja.domain import errors
from prakerja.domain.models import IdempotencyRecord, LoginGrant, OutboxJob, Registration
from prakerja.domain.ports import IdempotencyHit, TransientConflict

_REG_FIELDS = {f.name for f in dataclasses.fields(Registration)}
# Stored idempotency items keep the answer they replay: the created registration (HTTP 201).
_IDEM_STATUS_CODE = 201


def registration_to_item(reg: Registration) -> Item:
    item = to_item(dataclasses.asdict(reg))
    item.update(reg_key(reg.registration_id))
    return item


def registration_from_item(item: Item) -> Registration:
    values = from_item(item)
    return Registration(**{k: v for k, v in values.items() if k in _REG_FIELDS})


def get_registration(table: Table, registration_id: str) -> Registration | None:
    """A strongly consistent read of one registration (shared by every store that needs it)."""
    item = table.get(reg_key(registration_id))
    return registration_from_item(item) if item else None


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
            {
                "Put": {
                    "TableName": name,
                    "Item": {
                        **email_key(reg.email),
                        **to_item({"registration_id": reg.registration_id, "created_at": reg.created_at}),
                    },
                    "ConditionExpression": "attribute_not_exists(pk)",
                }
            },
            self._table.outbox_put(job, reg.created_at),
        ]
        if idempotency is not None:
            response = {"registration_id": idempotency.registration_id, "status": idempotency.status}
            items.append(
                {
                    "Put": {
                        "TableName": name,
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
            )
        codes = self._table.transact(items)
        if codes is None:
            return
        if idempotency is not None and len(codes) > 3 and codes[3] == "ConditionalCheckFailed":
            raise IdempotencyHit(self.get_idempotency(idempotency.key_hash))
        if len(codes) > 1 and codes[1] == "ConditionalCheckFailed":
            raise errors.EmailTaken("This email address already has a registration; log in instead.")
        raise TransientConflict()

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
            "AND (attribute_not_exists(code_attempts) OR code_attempts < :max)",
            {":zero": 0, ":one": 1, ":f": False, ":max": max_attempts},
        )
        return registration_from_item(item) if done and item else None

    def mark_email_verified(self, registration_id: str, nonce: str, max_attempts: int) -> bool:
        return bool(
            self._table.update_if(
                reg_key(registration_id),
                "SET email_verified = :t",
                "code_nonce = :n AND email_verified = :f AND code_attempts <= :max",
                {":t": True, ":n": nonce, ":f": False, ":max": max_attempts},
            )
        )

    def replace_code(
        self,
        registration_id: str,
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
                "code_attempts = :zero, resend_day = :day, resend_count = :count",
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
        try:
            return self._table.transact([update, self._table.outbox_put(job, issued_at)]) is None
        except TransientConflict:
            return False

    def claim_code_send(self, registration_id: str, nonce: str, holder: str, now: int, lease_s: int) -> bool:
        return bool(
            self._table.update_if(
                reg_key(registration_id),
                "SET code_send_lease = :until, code_send_holder = :me",
                "code_nonce = :n AND email_verified = :f"
                " AND (attribute_not_exists(code_sent_at) OR code_sent_at = :zero)"
                " AND (attribute_not_exists(code_send_lease) OR code_send_lease < :now OR code_send_holder = :me)",
                {":until": now + lease_s, ":me": holder, ":n": nonce, ":f": False, ":zero": 0, ":now": now},
            )
        )

    def release_code_send(self, registration_id: str, holder: str) -> None:
        self._table.update_if(
            reg_key(registration_id),
            "REMOVE code_send_lease, code_send_holder",
            "code_send_holder = :me",
            {":me": holder},
        )

    def mark_code_sent(self, registration_id: str, nonce: str, sent_at: int) -> bool:
        return bool(
            self._table.update_if(
                reg_key(registration_id),
                "SET code_sent_at = :at",
                "code_nonce = :n AND (attribute_not_exists(code_sent_at) OR code_sent_at = :zero)",
                {":at": sent_at, ":n": nonce, ":zero": 0},
            )
        )

    def find_registration_id(self, email: str) -> str | None:
        item = self._table.get(email_key(email))
        return str(from_item(item)["registration_id"]) if item else None

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


def reserve_in_window(
    table: Table, item_key: Item, now: int, window_s: int, max_attempts: int, *, must_exist: bool
) -> tuple[bool, Item | None, int] | None:
    """Reserve one attempt of a budget of `max_attempts` per window (attributes `login_attempts`,
    `login_window` = the window's start) with conditional updates only, so concurrent callers
    never share an attempt. (allowed, item after the reservation, seconds until the window ends),
    or None when `must_exist` and the item is absent."""
    exists = "attribute_exists(pk) AND " if must_exist else ""
    for _ in range(4):
        # A new window when there is none or it has ended (the common case: a success releases).
        done, item = table.update_returning(
            item_key,
            "SET login_attempts = :one, login_window = :now" + ("" if must_exist else ", expires_at = :exp"),
            exists + "(attribute_not_exists(login_window) OR login_window <= :cutoff)",
            {":one": 1, ":now": now, ":cutoff": now - window_s, **({} if must_exist else {":exp": now + window_s})},
        )
        if done:
            return True, item, 0
        if item is None:
            if must_exist:
                return None
            continue
        window = int(from_item(item).get("login_window", 0))
        # The window is live: one more attempt in it, if any is left.
        done, item = table.update_returning(
            item_key,
            "ADD login_attempts :one",
            "login_window = :w AND login_attempts < :max",
            {":one": 1, ":w": window, ":max": max_attempts},
        )
        if done:
            return True, item, 0
        if item is None:
            if must_exist:
                return None
            continue
        state = from_item(item)
        if int(state.get("login_window", 0)) == window and int(state.get("login_attempts", 0)) >= max_attempts:
            return False, item, max(1, window + window_s - now)
        # The window changed between the two writes (released or restarted): decide again.
    return False, None, 1
