"""DynamoDB adapters (single table, see docs/ARCHITECTURE.md). The boto3 client is injected."""

from __future__ import annotations

import dataclasses
import json
import time
import uuid
from typing import TYPE_CHECKING, Any

from prakerja.adapters.dynamo_codec import Item, from_item, key, ser, to_item
from prakerja.domain import errors
from prakerja.domain.models import IdempotencyRecord, LoginThrottle, OutboxJob, Registration
from prakerja.domain.ports import IdempotencyHit, TransientConflict
from prakerja.domain.resilience import BreakerMode, BreakerState

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
else:
    DynamoDBClient = Any

OUTBOX_TTL_S = 7 * 24 * 3600
_REG_FIELDS = {f.name for f in dataclasses.fields(Registration)}


def reg_key(registration_id: str) -> Item:
    return key(f"REG#{registration_id}", "REG")


def email_key(email: str) -> Item:
    return key(f"EMAIL#{email}", "EMAIL")


def login_key(throttle_key: str) -> Item:
    return key(f"LOGIN#{throttle_key}", "LOGIN")


def idem_key(key_hash: str) -> Item:
    return key(f"IDEM#{key_hash}", "IDEM")


def registration_to_item(reg: Registration) -> Item:
    item = to_item(dataclasses.asdict(reg))
    item.update(reg_key(reg.registration_id))
    return item


def registration_from_item(item: Item) -> Registration:
    values = from_item(item)
    return Registration(**{k: v for k, v in values.items() if k in _REG_FIELDS})


def outbox_put(table: str, job: OutboxJob, now: int) -> dict[str, Any]:
    item = to_item(
        {
            "kind": job.kind,
            "registration_id": job.registration_id,
            "payload": job.payload,
            "created_at": now,
            "expires_at": now + OUTBOX_TTL_S,
        }
    )
    item.update(key(f"OUTBOX#{uuid.uuid4().hex}", "OUTBOX"))
    return {"Put": {"TableName": table, "Item": item}}


def cancellation_codes(exc: Exception) -> list[str]:
    response = getattr(exc, "response", {}) or {}
    return [r.get("Code", "None") for r in response.get("CancellationReasons", [])]


class DynamoTable:
    def __init__(self, client: DynamoDBClient, table_name: str) -> None:
        self._client = client
        self._table = table_name

    def _get(self, item_key: Item, *, consistent: bool = True) -> Item | None:
        resp = self._client.get_item(TableName=self._table, Key=item_key, ConsistentRead=consistent)
        return resp.get("Item")

    def _update_if(
        self,
        item_key: Item,
        update: str,
        condition: str,
        values: dict[str, Any],
        names: dict[str, str] | None = None,
        return_new: bool = False,
    ) -> Item | bool | None:
        """UpdateItem with a condition; False when the condition fails."""
        kwargs: dict[str, Any] = {
            "TableName": self._table,
            "Key": item_key,
            "UpdateExpression": update,
            "ConditionExpression": condition,
            "ExpressionAttributeValues": {k: ser(v) for k, v in values.items()},
        }
        if names:
            kwargs["ExpressionAttributeNames"] = names
        if return_new:
            kwargs["ReturnValues"] = "UPDATED_NEW"
        try:
            resp = self._client.update_item(**kwargs)
        except self._client.exceptions.ConditionalCheckFailedException:
            return False
        return resp.get("Attributes") if return_new else True

    def _transact(self, items: list[dict[str, Any]]) -> list[str] | None:
        """Run a transaction; None on success, else the cancellation reason codes.
        Conflicts with concurrent transactions raise TransientConflict."""
        try:
            self._client.transact_write_items(TransactItems=items)  # type: ignore[arg-type]
        except self._client.exceptions.TransactionCanceledException as exc:
            codes = cancellation_codes(exc)
            if "TransactionConflict" in codes and "ConditionalCheckFailed" not in codes:
                raise TransientConflict() from exc
            return codes
        except self._client.exceptions.TransactionConflictException as exc:
            raise TransientConflict() from exc
        return None


class DynamoRegistrationStore(DynamoTable):
    """Implements prakerja.domain.ports.RegistrationStore."""

    def create(self, reg: Registration, job: OutboxJob, idempotency: IdempotencyRecord | None, expires_at: int) -> None:
        items: list[dict[str, Any]] = [
            {
                "Put": {
                    "TableName": self._table,
                    "Item": registration_to_item(reg),
                    "ConditionExpression": "attribute_not_exists(pk)",
                }
            },
            {
                "Put": {
                    "TableName": self._table,
                    "Item": {
                        **email_key(reg.email),
                        **to_item({"registration_id": reg.registration_id, "created_at": reg.created_at}),
                    },
                    "ConditionExpression": "attribute_not_exists(pk)",
                }
            },
            outbox_put(self._table, job, reg.created_at),
        ]
        if idempotency is not None:
            items.append(
                {
                    "Put": {
                        "TableName": self._table,
                        "Item": {
                            **idem_key(idempotency.key_hash),
                            **to_item(
                                {
                                    "body_hash": idempotency.body_hash,
                                    "response": json.dumps(idempotency.response),
                                    "status_code": idempotency.status_code,
                                    "expires_at": expires_at,
                                }
                            ),
                        },
                        "ConditionExpression": "attribute_not_exists(pk)",
                        "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
                    }
                }
            )
        codes = self._transact(items)
        if codes is None:
            return
        if idempotency is not None and len(codes) > 3 and codes[3] == "ConditionalCheckFailed":
            raise IdempotencyHit(self.get_idempotency(idempotency.key_hash))
        if len(codes) > 1 and codes[1] == "ConditionalCheckFailed":
            raise errors.EmailTaken("This email address already has a registration; log in instead.")
        raise TransientConflict()

    def get(self, registration_id: str) -> Registration | None:
        item = self._get(reg_key(registration_id))
        return registration_from_item(item) if item else None

    def get_idempotency(self, key_hash: str) -> IdempotencyRecord | None:
        item = self._get(idem_key(key_hash))
        if not item:
            return None
        v = from_item(item)
        if int(v.get("expires_at", 0)) < time.time():
            return None
        return IdempotencyRecord(key_hash, v["body_hash"], json.loads(v["response"]), int(v["status_code"]))

    def record_code_failure(self, registration_id: str, nonce: str, max_attempts: int) -> int | None:
        result = self._update_if(
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
            self._update_if(
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
        sent_at: int,
        resend_day: str,
        resend_count: int,
        job: OutboxJob,
    ) -> bool:
        update = {
            "Update": {
                "TableName": self._table,
                "Key": reg_key(registration_id),
                "UpdateExpression": "SET code_nonce = :new, code_sent_at = :at, code_attempts = :zero, "
                "resend_day = :day, resend_count = :count",
                "ConditionExpression": "code_nonce = :old AND email_verified = :f",
                "ExpressionAttributeValues": to_item(
                    {
                        ":new": new_nonce,
                        ":at": sent_at,
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
            return self._transact([update, outbox_put(self._table, job, sent_at)]) is None
        except TransientConflict:
            return False

    def login_lookup(self, email: str, throttle_key: str) -> tuple[str | None, LoginThrottle]:
        keys = [email_key(email), login_key(throttle_key)]
        found: list[Item] = []
        request: dict[str, Any] = {self._table: {"Keys": keys, "ConsistentRead": True}}
        for _ in range(3):
            resp = self._client.batch_get_item(RequestItems=request)
            found.extend(resp.get("Responses", {}).get(self._table, []))
            request = resp.get("UnprocessedKeys") or {}
            if not request:
                break
        registration_id: str | None = None
        throttle = LoginThrottle()
        for item in found:
            v = from_item(item)
            if v["pk"].startswith("EMAIL#"):
                registration_id = v["registration_id"]
            else:
                throttle = LoginThrottle(int(v.get("failures", 0)), int(v.get("window_start", 0)))
        return registration_id, throttle

    def record_login_failure(self, throttle_key: str, now: int, window_s: int) -> None:
        counted = self._update_if(
            login_key(throttle_key),
            "ADD failures :one",
            "window_start > :cutoff",
            {":one": 1, ":cutoff": now - window_s},
        )
        if not counted:
            self._client.put_item(
                TableName=self._table,
                Item={
                    **login_key(throttle_key),
                    **to_item({"failures": 1, "window_start": now, "expires_at": now + window_s}),
                },
            )

    def reset_login_failures(self, throttle_key: str) -> None:
        self._client.delete_item(TableName=self._table, Key=login_key(throttle_key))


FUNNEL_SHARDS = 16
SEEN_TTL_S = 3 * 24 * 3600


class DynamoFunnelStore(DynamoTable):
    """Sharded funnel counters, incremented exactly once per stream record.

    Each count is a transaction: one `SEEN#<eventID>` marker per counted stream record
    (condition: not seen) plus one ADD on a random counter shard, so a redelivered batch
    never counts twice and no single item takes every increment.
    """

    def count(self, increments: list[tuple[str, str]], shard: int) -> None:
        """increments: (stream eventID, funnel step). Raises TransientConflict on contention."""
        pending = list(increments)
        while pending:
            chunk, pending = pending[:90], pending[90:]
            self._count_chunk(chunk, shard)

    def _count_chunk(self, chunk: list[tuple[str, str]], shard: int) -> None:
        for _ in range(len(chunk) + 1):
            if not chunk:
                return
            now = int(time.time())
            totals: dict[str, int] = {}
            for _, step in chunk:
                totals[step] = totals.get(step, 0) + 1
            names = {f"#s{i}": step for i, step in enumerate(totals)}
            values = {f":v{i}": n for i, n in enumerate(totals.values())}
            items: list[dict[str, Any]] = [
                {
                    "Put": {
                        "TableName": self._table,
                        "Item": {**key(f"SEEN#{event_id}", "SEEN"), **to_item({"expires_at": now + SEEN_TTL_S})},
                        "ConditionExpression": "attribute_not_exists(pk)",
                    }
                }
                for event_id, _ in chunk
            ]
            items.append(
                {
                    "Update": {
                        "TableName": self._table,
                        "Key": key("FUNNEL", f"SHARD#{shard:02d}"),
                        "UpdateExpression": "ADD " + ", ".join(f"#s{i} :v{i}" for i in range(len(totals))),
                        "ExpressionAttributeNames": names,
                        "ExpressionAttributeValues": to_item(values),
                    }
                }
            )
            codes = self._transact(items)
            if codes is None:
                return
            seen = {i for i, c in enumerate(codes[: len(chunk)]) if c == "ConditionalCheckFailed"}
            if not seen:
                raise TransientConflict()
            chunk = [rec for i, rec in enumerate(chunk) if i not in seen]

    def totals(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        kwargs: dict[str, Any] = {
            "TableName": self._table,
            "KeyConditionExpression": "pk = :p",
            "ExpressionAttributeValues": {":p": {"S": "FUNNEL"}},
            "ConsistentRead": True,
        }
        while True:
            resp = self._client.query(**kwargs)
            for item in resp.get("Items", []):
                for name, value in from_item(item).items():
                    if isinstance(value, int) and not isinstance(value, bool):
                        counts[name] = counts.get(name, 0) + value
            if "LastEvaluatedKey" not in resp:
                return counts
            kwargs["ExclusiveStartKey"] = resp["LastEvaluatedKey"]


def nik_claim_key(fingerprint: str) -> Item:
    return key(f"NIK#{fingerprint}", "NIK")


class DynamoNikStore(DynamoRegistrationStore):
    """Implements prakerja.domain.nik_service.NikStore."""

    def submit_nik(self, registration_id: str, expected_seq: int, pending: Any, job: OutboxJob) -> None:
        now = int(time.time())
        items: list[dict[str, Any]] = [
            {
                "Update": {
                    "TableName": self._table,
                    "Key": reg_key(registration_id),
                    "UpdateExpression": (
                        "SET nik_status = :pending, nik_fp = :fp, nik_masked = :masked, nik_ct = :ct, "
                        "nik_request_hash = :rh, nik_seq = :seq, nik_day = :day, nik_day_count = :dc "
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
                            ":day": pending.day,
                            ":dc": pending.day_count,
                            ":expected": expected_seq,
                        }
                    ),
                }
            },
            {
                "Put": {
                    "TableName": self._table,
                    "Item": {
                        **nik_claim_key(pending.fingerprint),
                        **to_item({"registration_id": registration_id, "claimed_at": now}),
                    },
                    "ConditionExpression": "attribute_not_exists(pk) OR registration_id = :me",
                    "ExpressionAttributeValues": {":me": {"S": registration_id}},
                }
            },
            outbox_put(self._table, job, now),
        ]
        codes = self._transact(items)
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
        values: dict[str, Any] = {":status": status, ":seq": seq, ":pending": "PENDING", ":at": now}
        update = "SET nik_status = :status, nik_checked_at = :at"
        if reason:
            update += ", nik_reason = :reason"
            values[":reason"] = reason
        update += " REMOVE nik_ct" + ("" if reason else ", nik_reason")
        items: list[dict[str, Any]] = [
            {
                "Update": {
                    "TableName": self._table,
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
                        "TableName": self._table,
                        "Key": nik_claim_key(release_fingerprint),
                        "ConditionExpression": "attribute_not_exists(pk) OR registration_id = :me",
                        "ExpressionAttributeValues": {":me": {"S": registration_id}},
                    }
                }
            )
        items.append(outbox_put(self._table, job, now))
        codes = self._transact(items)
        return codes is None

    def mark_nik_delayed(self, registration_id: str, seq: int) -> None:
        self._update_if(
            reg_key(registration_id),
            "SET nik_reason = :u",
            "nik_seq = :seq AND nik_status = :pending",
            {":u": "UNAVAILABLE", ":seq": seq, ":pending": "PENDING"},
        )


class DynamoPhotoStore(DynamoRegistrationStore):
    """Implements prakerja.domain.photo_service.PhotoStore."""

    def set_upload_key(self, registration_id: str, key_: str) -> bool:
        return bool(
            self._update_if(reg_key(registration_id), "SET photo_upload_key = :k", "attribute_exists(pk)", {":k": key_})
        )

    def record_photo(self, registration_id: str, key_: str, status: str, reason: str | None) -> bool:
        now = int(time.time())
        values: dict[str, Any] = {":s": status, ":k": key_, ":at": now}
        if status == "ACCEPTED":
            update = (
                "SET photo_status = :s, photo_key = :k, photo_checked_at = :at, "
                "photo_accepted_at = if_not_exists(photo_accepted_at, :at) REMOVE photo_reason"
            )
        else:
            update = "SET photo_status = :s, photo_reason = :r, photo_checked_at = :at"
            values[":r"] = reason or "not-an-image"
        return bool(self._update_if(reg_key(registration_id), update, "photo_upload_key = :k", values))


class DynamoBreakerStore(DynamoTable):
    """Circuit-breaker state shared by every worker instance (one item, optimistic versioning)."""

    def __init__(self, client: DynamoDBClient, table_name: str, name: str = "registry") -> None:
        super().__init__(client, table_name)
        self._key = key(f"BREAKER#{name}", "BREAKER")

    def load(self) -> BreakerState:
        item = self._get(self._key)
        if not item:
            return BreakerState()
        v = from_item(item)
        return BreakerState(
            mode=BreakerMode(v.get("mode", "CLOSED")),
            consecutive_failures=int(v.get("consecutive_failures", 0)),
            window_start=v.get("window_start"),
            window_calls=int(v.get("window_calls", 0)),
            window_failures=int(v.get("window_failures", 0)),
            opened_at=v.get("opened_at"),
            probe_started_at=v.get("probe_started_at"),
            version=int(v.get("version", 0)),
        )

    def save(self, new: BreakerState, expected_version: int) -> bool:
        values = dataclasses.asdict(new)
        values["mode"] = str(new.mode)
        try:
            self._client.put_item(
                TableName=self._table,
                Item={**self._key, **to_item(values)},
                ConditionExpression="attribute_not_exists(pk) OR version = :v",
                ExpressionAttributeValues={":v": ser(expected_version)},
            )
        except self._client.exceptions.ConditionalCheckFailedException:
            return False
        return True


class DynamoSlotStore(DynamoTable):
    """Per-second call slots shared by every worker: at most `cap` slots of one epoch second."""

    def __init__(self, client: DynamoDBClient, table_name: str, name: str = "registry") -> None:
        super().__init__(client, table_name)
        self._name = name

    def take(self, second: int, cap: int, min_index: int = 0) -> int | None:
        if min_index >= cap:
            return None
        slot_key = key(f"RATE#{self._name}#{second}", "RATE")
        values = {":one": 1, ":exp": second + 3600, ":cap": cap, ":min": min_index}
        for _ in range(3):
            # Usually: the next slot, if it has not started yet.
            taken = self._update_if(
                slot_key,
                "ADD calls :one SET expires_at = :exp",
                "calls >= :min AND calls < :cap",
                values,
                return_new=True,
            )
            if isinstance(taken, dict):
                return int(taken["calls"]["N"]) - 1
            # The counter is behind the clock (or new): jump it to the first slot still ahead.
            jumped = self._update_if(
                slot_key,
                "SET calls = :next, expires_at = :exp",
                "attribute_not_exists(calls) OR calls < :min",
                {":next": min_index + 1, ":exp": second + 3600, ":min": min_index},
            )
            if jumped:
                return min_index
            current = self._get(slot_key)  # both refused: full, unless another caller raced us
            if current is None or int(from_item(current).get("calls", 0)) >= cap:
                return None
        return None
