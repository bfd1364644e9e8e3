"""Registrations, their email claim, idempotency records and login throttles
(implements prakerja.domain.ports.RegistrationStore)."""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Mapping, Sequence
from typing import Any

from prakerja.adapters.dynamo_codec import Item, from_item, ser, to_item
from prakerja.adapters.keys import email_key, idem_key, login_key, nik_claim_key, reg_key, reset_key, seat_key
from prakerja.adapters.table import Table
from prakerja.domain.models import (
    Consent,
    EmailClaim,
    IdempotencyRecord,
    LoginGrant,
    OutboxJob,
    ProcessingEvent,
    Registration,
)
from prakerja.domain.ports import EmailClaimed, IdempotencyHit, TransientConflict
from prakerja.domain.security import sha256_hex

_REG_FIELDS = {f.name for f in dataclasses.fields(Registration)}
# Stored idempotency items keep the answer they replay: the created registration (HTTP 201).
_IDEM_STATUS_CODE = 201
# On a registration that took over an unverified one's email (not a new person for the funnel).
TAKEOVER_MARK = "takeover"
# Appends one event to the registration's processing history, in the write of the state change.
APPEND_EVENT = "events = list_append(if_not_exists(events, :no_events), :event)"


def event_values(name: str, at: int) -> dict[str, Any]:
    """ExpressionAttributeValues (plain values) for APPEND_EVENT."""
    return {":no_events": [], ":event": [{"e": name, "t": int(at)}]}


def registration_to_item(reg: Registration) -> Item:
    values = {f.name: getattr(reg, f.name) for f in dataclasses.fields(Registration)}
    consent = reg.consent
    values["consent"] = (
        {"terms_version": consent.terms_version, "accepted": True, "accepted_at": consent.accepted_at}
        if consent
        else None
    )
    values["events"] = [{"e": e.name, "t": e.at} for e in reg.events]
    item = to_item(values)
    item.update(reg_key(reg.registration_id))
    return item


def _events(raw: Any) -> tuple[ProcessingEvent, ...]:
    if not isinstance(raw, Sequence):
        return ()
    return tuple(
        ProcessingEvent(str(e["e"]), int(e["t"])) for e in raw if isinstance(e, Mapping) and "e" in e and "t" in e
    )


def registration_from_item(item: Item) -> Registration:
    values = from_item(item)
    fields = {k: v for k, v in values.items() if k in _REG_FIELDS}
    consent = values.get("consent")
    fields["consent"] = (
        Consent(str(consent["terms_version"]), int(consent["accepted_at"])) if isinstance(consent, Mapping) else None
    )
    fields["events"] = _events(values.get("events"))
    return Registration(**fields)


def is_expired(values: Mapping[str, Any], now: float) -> bool:
    """An item whose TTL has passed is absent, even while DynamoDB has not deleted it yet."""
    expires_at = values.get("expires_at")
    return isinstance(expires_at, int | float) and expires_at <= now


def get_registration(table: Table, registration_id: str) -> Registration | None:
    """A strongly consistent read of one registration (shared by every store that needs it);
    an unverified registration past its expiry is absent."""
    item = table.get(reg_key(registration_id))
    if not item:
        return None
    reg = registration_from_item(item)
    return None if is_expired({"expires_at": reg.expires_at}, time.time()) else reg


def claim_from_item(item: Item) -> EmailClaim:
    v = from_item(item)
    verified = v.get("verified")
    sent_at = v.get("code_sent_at")
    expires_at = v.get("expires_at")
    return EmailClaim(
        email=str(v["pk"]).removeprefix("EMAIL#"),
        registration_id=str(v["registration_id"]),
        verified=bool(verified) if verified is not None else None,
        expires_at=int(expires_at) if expires_at is not None else None,
        code_sent_at=int(sent_at) if sent_at is not None else None,
        code_day=str(v.get("code_day", "")),
        code_count=int(v.get("code_count", 0)),
    )


def _claim_item(reg: Registration) -> Item:
    """The email claim of a new (unverified) registration, carrying its code counters."""
    return {
        **email_key(reg.email),
        **to_item(
            {
                "registration_id": reg.registration_id,
                "created_at": reg.created_at,
                "verified": False,
                "expires_at": reg.expires_at,
                "code_sent_at": reg.code_issued_at,  # when its code email was asked for (the per-address budget)
                "code_day": reg.resend_day,
                "code_count": reg.resend_count,
            }
        ),
    }


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
            {"Put": {"TableName": name, "Item": _claim_item(reg), "ConditionExpression": "attribute_not_exists(pk)"}},
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
                    "Item": _claim_item(reg),
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

    def delete_registration(self, reg: Registration) -> bool:
        """Delete the registration and everything keyed by its personal data in ONE transaction:
        the registration item (email, phone, name, NIK ciphertext and masked form, events), its
        email claim, its NIK claim (the fingerprint), its login throttle and password reset (both
        keyed by the hashed email), and give
        back its seat. False when the registration changed since `reg` was read."""
        name = self._table.name
        rid = reg.registration_id
        values: dict[str, Any] = {":seq": reg.nik_seq, ":gen": reg.token_gen}
        condition = [
            "attribute_exists(pk)",
            "(attribute_not_exists(nik_seq) OR nik_seq = :seq)",
            "(attribute_not_exists(token_gen) OR token_gen = :gen)",  # not revoked meanwhile
        ]
        for attr, value in (("batch_id", reg.batch_id), ("photo_upload_key", reg.photo_upload_key)):
            if value is None:
                condition.append(f"attribute_not_exists({attr})")
            else:
                condition.append(f"{attr} = :{attr}")
                values[f":{attr}"] = value
        mine = {"ConditionExpression": "attribute_not_exists(pk) OR registration_id = :me"}
        me = {":me": {"S": rid}}
        items: list[dict[str, Any]] = [
            {
                "Delete": {
                    "TableName": name,
                    "Key": reg_key(rid),
                    "ConditionExpression": " AND ".join(condition),
                    "ExpressionAttributeValues": to_item(values),
                }
            },
            {"Delete": {"TableName": name, "Key": email_key(reg.email), **mine, "ExpressionAttributeValues": me}},
            {"Delete": {"TableName": name, "Key": login_key(sha256_hex(reg.email))}},
            {"Delete": {"TableName": name, "Key": reset_key(sha256_hex(reg.email))}},
        ]
        if reg.nik_fp and reg.nik_status in ("PENDING", "VERIFIED"):
            # (a REJECTED check released its claim already; another registration may hold it now)
            items.append(
                {
                    "Delete": {
                        "TableName": name,
                        "Key": nik_claim_key(reg.nik_fp),
                        **mine,
                        "ExpressionAttributeValues": me,
                    }
                }
            )
        if reg.batch_id is not None and reg.seat_shard is not None:
            items.append(
                {
                    "Update": {
                        "TableName": name,
                        "Key": seat_key(reg.batch_id, reg.seat_shard),
                        "UpdateExpression": "SET taken = taken - :one",
                        "ConditionExpression": "taken > :zero",
                        "ExpressionAttributeValues": {":one": ser(1), ":zero": ser(0)},
                    }
                }
            )
        codes = self._table.transact(items)
        if codes is None:
            return True
        if "ConditionalCheckFailed" in codes:
            return False
        raise TransientConflict()

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
