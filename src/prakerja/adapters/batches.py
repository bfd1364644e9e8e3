"""DynamoDB adapter for batches and seat shards (implements prakerja.domain.batch.BatchStore).

Items (docs/ARCHITECTURE.md): catalogue `BATCHES` / `BATCH#<id>`; shards `SEAT#<id>#<k>` / `SEAT`.

Reads, and why their consistency is what it is:
- registration: strongly consistent (it decides the answer when no seat is taken);
- catalogue entry: strongly consistent, then cached for the life of the execution
  environment: entries are immutable once created (create is idempotent and never
  changes an existing one), so a join reads it once per cold start, which keeps the single
  `BATCHES` partition cold;
- seat shards: eventually consistent (half the read cost). `taken` only grows, so a stale
  read can only show MORE seats left than there are; the transaction's `taken < allot`
  condition is what decides. A shard item an eventually consistent read does not return yet
  (just created) is taken to be in its initial state (nothing taken).
"""

from __future__ import annotations

import time
from typing import Any

from prakerja.adapters.dynamo_codec import Item, from_item, to_item
from prakerja.adapters.keys import CATALOGUE_PK, catalogue_key, reg_key, seat_key, seat_pk
from prakerja.adapters.registration_items import APPEND_EVENT, event_values, get_registration
from prakerja.adapters.table import Table
from prakerja.domain import errors
from prakerja.domain.batch import Batch, BatchState, SeatOutcome, SeatShard, allotments
from prakerja.domain.models import Registration
from prakerja.domain.ports import TransientConflict

BATCH_GET_MAX_KEYS = 100
BATCH_GET_ROUNDS = 8
_CACHE_MAX = 1024


def batch_from_item(item: Item) -> Batch:
    v = from_item(item)
    return Batch(
        batch_id=str(v["batch_id"]),
        name=str(v["name"]),
        seats_total=int(v["seats_total"]),
        shards=int(v["shards"]),
        created_at=int(v.get("created_at", 0)),
    )


class DynamoBatchStore:
    def __init__(self, table: Table) -> None:
        self._table = table
        self._catalogue: dict[str, Batch] = {}

    # -- reads ------------------------------------------------------------------------------------
    def get_registration(self, registration_id: str) -> Registration | None:
        return get_registration(self._table, registration_id)

    def get_batch(self, batch_id: str) -> BatchState | None:
        batch = self._catalogue.get(batch_id)
        if batch is None:
            item = self._table.get(catalogue_key(batch_id))
            if item is None:
                return None
            batch = batch_from_item(item)
            if len(self._catalogue) >= _CACHE_MAX:
                self._catalogue.clear()
            self._catalogue[batch_id] = batch
        return self._with_shards([batch])[0]

    def list_batches(self) -> list[BatchState]:
        batches: list[Batch] = []
        kwargs: dict[str, Any] = {
            "TableName": self._table.name,
            "KeyConditionExpression": "pk = :p",
            "ExpressionAttributeValues": {":p": {"S": CATALOGUE_PK}},
        }
        while True:
            resp = self._table.client.query(**kwargs)
            batches.extend(batch_from_item(i) for i in resp.get("Items", []))
            if "LastEvaluatedKey" not in resp:
                break
            kwargs["ExclusiveStartKey"] = resp["LastEvaluatedKey"]
        return self._with_shards(batches)

    def _with_shards(self, batches: list[Batch]) -> list[BatchState]:
        wanted = [seat_key(b.batch_id, k) for b in batches for k in range(b.shards)]
        found = self._batch_get(wanted, consistent=False)
        states = []
        for b in batches:
            shards = []
            for k, allot in enumerate(allotments(b.seats_total, b.shards)):
                item = found.get(seat_pk(b.batch_id, k))
                if item is None:
                    shards.append(SeatShard(k, allot, 0))
                else:
                    v = from_item(item)
                    shards.append(SeatShard(k, int(v.get("allot", allot)), int(v.get("taken", 0))))
            states.append(BatchState(b, tuple(shards)))
        return states

    def _batch_get(self, keys: list[Item], *, consistent: bool) -> dict[str, Item]:
        """BatchGetItem in chunks of 100, retrying UnprocessedKeys with backoff; by pk."""
        found: dict[str, Item] = {}
        for start in range(0, len(keys), BATCH_GET_MAX_KEYS):
            request: dict[str, Any] = {
                self._table.name: {"Keys": keys[start : start + BATCH_GET_MAX_KEYS], "ConsistentRead": consistent}
            }
            for attempt in range(BATCH_GET_ROUNDS):
                resp = self._table.client.batch_get_item(RequestItems=request)
                for item in resp.get("Responses", {}).get(self._table.name, []):
                    found[item["pk"]["S"]] = item
                request = resp.get("UnprocessedKeys") or {}
                if not request:
                    break
                time.sleep(min(0.5, 0.01 * 2**attempt))
            else:
                raise errors.ServiceUnavailable("The seat counts could not be read; please retry.")
        return found

    # -- writes -----------------------------------------------------------------------------------
    def create_batch(self, batch: Batch, allot: list[int]) -> bool:
        items: list[dict[str, Any]] = [
            {
                "Put": {
                    "TableName": self._table.name,
                    "Item": {
                        **catalogue_key(batch.batch_id),
                        **to_item(
                            {
                                "batch_id": batch.batch_id,
                                "name": batch.name,
                                "seats_total": batch.seats_total,
                                "shards": batch.shards,
                                "created_at": batch.created_at,
                            }
                        ),
                    },
                    "ConditionExpression": "attribute_not_exists(pk)",
                }
            }
        ]
        items.extend(
            {
                "Put": {
                    "TableName": self._table.name,
                    "Item": {
                        **seat_key(batch.batch_id, k),
                        **to_item({"batch_id": batch.batch_id, "allot": n, "taken": 0}),
                    },
                    "ConditionExpression": "attribute_not_exists(pk)",
                }
            }
            for k, n in enumerate(allot)
        )
        return self._table.transact_if(items)

    def take_seat(self, registration_id: str, batch_id: str, shard: int, joined_at: int) -> SeatOutcome:
        codes = self._table.transact(
            [
                {
                    "Update": {
                        "TableName": self._table.name,
                        "Key": seat_key(batch_id, shard),
                        "UpdateExpression": "SET taken = taken + :one",
                        "ConditionExpression": "taken < allot",
                        "ExpressionAttributeValues": to_item({":one": 1}),
                    }
                },
                {
                    "Update": {
                        "TableName": self._table.name,
                        "Key": reg_key(registration_id),
                        "UpdateExpression": f"SET batch_id = :b, joined_at = :now, seat_shard = :k, {APPEND_EVENT}",
                        "ConditionExpression": "attribute_not_exists(batch_id) AND nik_status = :verified "
                        "AND photo_status = :accepted",
                        "ExpressionAttributeValues": to_item(
                            {
                                ":b": batch_id,
                                ":now": joined_at,
                                ":k": shard,
                                ":verified": "VERIFIED",
                                ":accepted": "ACCEPTED",
                                **event_values("batch_joined", joined_at),
                            }
                        ),
                    }
                },
            ]
        )
        if codes is None:
            return SeatOutcome.JOINED
        if len(codes) > 1 and codes[1] == "ConditionalCheckFailed":
            return SeatOutcome.REGISTRATION_REFUSED
        if codes and codes[0] == "ConditionalCheckFailed":
            return SeatOutcome.SHARD_FULL
        raise TransientConflict()  # throttled or conflicting: the caller retries
