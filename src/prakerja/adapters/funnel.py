"""Sharded funnel counters, incremented exactly once per stream record."""

from __future__ import annotations

import time
from typing import Any

from prakerja.adapters.dynamo_codec import from_item, to_item
from prakerja.adapters.keys import funnel_shard_key, seen_key
from prakerja.adapters.table import Table
from prakerja.domain.ports import TransientConflict

FUNNEL_SHARDS = 16
SEEN_TTL_S = 3 * 24 * 3600


class DynamoFunnelStore:
    """Sharded funnel counters, incremented exactly once per stream record.

    Each count is a transaction: one `SEEN#<eventID>` marker per counted stream record
    (condition: not seen) plus one ADD on a random counter shard, so a redelivered batch
    never counts twice and no single item takes every increment.
    """

    def __init__(self, table: Table) -> None:
        self._table = table

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
                        "TableName": self._table.name,
                        "Item": {**seen_key(event_id), **to_item({"expires_at": now + SEEN_TTL_S})},
                        "ConditionExpression": "attribute_not_exists(pk)",
                    }
                }
                for event_id, _ in chunk
            ]
            items.append(
                {
                    "Update": {
                        "TableName": self._table.name,
                        "Key": funnel_shard_key(shard),
                        "UpdateExpression": "ADD " + ", ".join(f"#s{i} :v{i}" for i in range(len(totals))),
                        "ExpressionAttributeNames": names,
                        "ExpressionAttributeValues": to_item(values),
                    }
                }
            )
            codes = self._table.transact(items)
            if codes is None:
                return
            seen = {i for i, c in enumerate(codes[: len(chunk)]) if c == "ConditionalCheckFailed"}
            if not seen:
                raise TransientConflict()
            chunk = [rec for i, rec in enumerate(chunk) if i not in seen]

    def totals(self) -> dict[str, int]:
        """The sum over the counter shards: one BatchGetItem of the FUNNEL#<k> items, no scan."""
        counts: dict[str, int] = {}
        pending: list[dict[str, Any]] = [funnel_shard_key(k) for k in range(FUNNEL_SHARDS)]
        for _ in range(8):
            if not pending:
                return counts
            resp = self._table.client.batch_get_item(
                RequestItems={self._table.name: {"Keys": pending, "ConsistentRead": True}}
            )
            for item in resp.get("Responses", {}).get(self._table.name, []):
                for name, value in from_item(item).items():
                    if isinstance(value, int) and not isinstance(value, bool) and name != "expires_at":
                        counts[name] = counts.get(name, 0) + value
            unprocessed: dict[str, Any] = resp.get("UnprocessedKeys") or {}
            pending = list((unprocessed.get(self._table.name) or {}).get("Keys", []))
        raise TransientConflict()
