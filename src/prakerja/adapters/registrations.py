"""Registrations, their email claim, idempotency records and login throttles
(implements prakerja.domain.ports.RegistrationStore)."""

from __future__ import annotations

import dataclasses
import json
import time
from typing import Any

from prakerja.adapters.dynamo_codec import Item, from_item, to_item
from prakerja.adapters.keys import email_key, idem_key, is_email_claim, login_key, reg_key
from prakerja.adapters.table import Table
from prakerja.domain import errors
from prakerja.domain.models import IdempotencyRecord, LoginThrottle, OutboxJob, Registration
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

    def record_code_failure(self, registration_id: str, nonce: str, max_attempts: int) -> int | None:
        result = self._table.update_if(
            reg_key(registration_id),
            "ADD code_attempts :one",
            "code_nonce = :n AND code_attempts < :max AND email_verified = :f",
            {":one": 1, ":n": nonce, ":max": max_attempts, ":f": False},
            return_new=True,
        )
        if not isinstance(result, dict):
            return None
        return int(result["code_attempts"]["N"])

    def mark_email_verified(self, registration_id: str, nonce: str) -> bool:
        return bool(
            self._table.update_if(
                reg_key(registration_id),
                "SET email_verified = :t",
                "code_nonce = :n AND email_verified = :f",
                {":t": True, ":n": nonce, ":f": False},
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

    def login_lookup(self, email: str, throttle_key: str) -> tuple[str | None, LoginThrottle]:
        keys = [email_key(email), login_key(throttle_key)]
        found: list[Item] = []
        request: dict[str, Any] = {self._table.name: {"Keys": keys, "ConsistentRead": True}}
        for _ in range(3):
            resp = self._table.client.batch_get_item(RequestItems=request)
            found.extend(resp.get("Responses", {}).get(self._table.name, []))
            request = dict(resp.get("UnprocessedKeys") or {})
            if not request:
                break
        registration_id: str | None = None
        throttle = LoginThrottle()
        for item in found:
            v = from_item(item)
            if is_email_claim(v["pk"]):
                registration_id = v["registration_id"]
            else:
                throttle = LoginThrottle(int(v.get("failures", 0)), int(v.get("window_start", 0)))
        return registration_id, throttle

    def record_login_failure(self, throttle_key: str, now: int, window_s: int) -> None:
        counted = self._table.update_if(
            login_key(throttle_key),
            "ADD failures :one",
            "window_start > :cutoff",
            {":one": 1, ":cutoff": now - window_s},
        )
        if not counted:
            self._table.client.put_item(
                TableName=self._table.name,
                Item={
                    **login_key(throttle_key),
                    **to_item({"failures": 1, "window_start": now, "expires_at": now + window_s}),
                },
            )

    def reset_login_failures(self, throttle_key: str) -> None:
        self._table.client.delete_item(TableName=self._table.name, Key=login_key(throttle_key))
