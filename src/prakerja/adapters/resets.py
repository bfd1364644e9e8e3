"""Password resets: one item per email hash (`RESET#<sha256 of email>`), known email or not
(implements prakerja.domain.password_reset.ResetStore)."""

from __future__ import annotations

from typing import Any

from prakerja.adapters.dynamo_codec import Item, from_item, to_item
from prakerja.adapters.keys import email_key, reg_key, reset_key
from prakerja.adapters.registration_items import get_registration
from prakerja.adapters.sessions import APPEND_EVENTS, event_values
from prakerja.adapters.table import Table
from prakerja.domain.models import OutboxJob, Registration
from prakerja.domain.password_reset import CompletedReset, ResetState
from prakerja.domain.ports import TransientConflict


def _state(item: Item | None) -> ResetState | None:
    if not item:
        return None
    v = from_item(item)
    if not v.get("nonce"):
        return None
    rid = v.get("registration_id")
    return ResetState(
        registration_id=str(rid) if rid else None,
        nonce=str(v["nonce"]),
        sent_at=int(v.get("sent_at", 0)),
        attempts=int(v.get("attempts", 0)),
        day=str(v.get("day", "")),
        count=int(v.get("count", 0)),
    )


class DynamoResetStore:
    def __init__(self, table: Table) -> None:
        self._table = table

    def lookup(self, email: str, email_hash: str) -> tuple[str | None, ResetState | None]:
        request: dict[str, Any] = {
            self._table.name: {"Keys": [email_key(email), reset_key(email_hash)], "ConsistentRead": True}
        }
        found: list[Item] = []
        for _ in range(3):
            resp = self._table.client.batch_get_item(RequestItems=request)
            found.extend(resp.get("Responses", {}).get(self._table.name, []))
            request = dict(resp.get("UnprocessedKeys") or {})
            if not request:
                break
        registration_id: str | None = None
        state: ResetState | None = None
        for item in found:
            if item["sk"]["S"] == "RESET":
                state = _state(item)
            else:
                registration_id = str(from_item(item)["registration_id"])
        return registration_id, state

    def start_reset(
        self,
        email: str,
        email_hash: str,
        previous: ResetState | None,
        new: ResetState,
        expires_at: int,
        job: OutboxJob | None,
    ) -> bool:
        fields = {
            "registration_id": new.registration_id,
            "nonce": new.nonce,
            "sent_at": new.sent_at,
            "attempts": 0,
            "day": new.day,
            "count": new.count,
            "expires_at": expires_at,
        }
        put: dict[str, Any] = {"TableName": self._table.name, "Item": {**reset_key(email_hash), **to_item(fields)}}
        if previous is None:
            put["ConditionExpression"] = "attribute_not_exists(pk) OR attribute_not_exists(nonce)"
        else:
            put["ConditionExpression"] = "nonce = :old"
            put["ExpressionAttributeValues"] = {":old": {"S": previous.nonce}}
        items: list[dict[str, Any]] = [{"Put": put}]
        if job is not None:
            items.append(self._table.outbox_put(job, new.sent_at))
        else:
            # No account: the same shape of transaction (two items, similar time) and it holds
            # only while the email is still free.
            items.append(
                {
                    "ConditionCheck": {
                        "TableName": self._table.name,
                        "Key": email_key(email),
                        "ConditionExpression": "attribute_not_exists(pk)",
                    }
                }
            )
        try:
            return self._table.transact(items) is None
        except TransientConflict:
            return False

    def reserve_reset_attempt(self, email_hash: str, max_attempts: int) -> tuple[bool, ResetState | None]:
        done, item = self._table.update_returning(
            reset_key(email_hash),
            "ADD attempts :one",
            "attribute_exists(nonce) AND attempts < :max",
            {":one": 1, ":max": max_attempts},
        )
        return done, _state(item)

    def get(self, registration_id: str) -> Registration | None:
        return get_registration(self._table, registration_id)

    def complete_reset(self, done: CompletedReset) -> str:
        name = self._table.name
        events = ["email_verified", "password_reset"] if done.verify_email else ["password_reset"]
        values: dict[str, Any] = {
            ":h": done.password_hash,
            ":t": True,
            ":next": done.expected_generation + 1,
            ":gen": done.expected_generation,
            **event_values(done.now, *events),
        }
        reg_update = {
            "Update": {
                "TableName": name,
                "Key": reg_key(done.registration_id),
                "UpdateExpression": "SET password_hash = :h, email_verified = :t, token_gen = :next, "
                + APPEND_EVENTS
                + " REMOVE login_attempts, login_window",
                "ConditionExpression": "attribute_exists(pk) AND "
                + (
                    "(attribute_not_exists(token_gen) OR token_gen = :gen)"
                    if done.expected_generation == 0
                    else "token_gen = :gen"
                ),
                "ExpressionAttributeValues": to_item(values),
            }
        }
        consume = {
            "Delete": {
                "TableName": name,
                "Key": reset_key(done.email_hash),
                "ConditionExpression": "nonce = :n",
                "ExpressionAttributeValues": {":n": {"S": done.nonce}},
            }
        }
        still_held = {
            "ConditionCheck": {
                "TableName": name,
                "Key": email_key(done.email),
                "ConditionExpression": "registration_id = :rid",
                "ExpressionAttributeValues": {":rid": {"S": done.registration_id}},
            }
        }
        try:
            codes = self._table.transact([reg_update, consume, still_held])
        except TransientConflict:
            return "STALE_GENERATION"
        if codes is None:
            return "OK"
        if (
            codes[0] == "ConditionalCheckFailed"
            and codes[1] != "ConditionalCheckFailed"
            and codes[2] != "ConditionalCheckFailed"
        ):
            return "STALE_GENERATION"
        return "GONE"
