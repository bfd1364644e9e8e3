"""Fixes to moto behaviour the local stack relies on (applied once, before moto serves).

Cancelled transactions and the table stream: moto backs up a table by deep copy before
TransactWriteItems and, when the transaction is cancelled, puts the copy back. The copy has
its own stream shard, so every shard iterator handed out before (the stream poller's) keeps
reading the old shard: it sees the cancelled writes (which never happened) and never sees a
write again. DynamoDB itself records nothing for a cancelled transaction. The fix keeps the
original shard, drops the records the cancelled transaction added, and re-attaches it.
"""

from __future__ import annotations

from typing import Any

_applied = False


def apply() -> None:
    global _applied
    if _applied:
        return
    from moto.dynamodb.models import DynamoDBBackend

    original = DynamoDBBackend.transact_write_items

    def transact_write_items(self: Any, transact_items: list[dict[str, Any]]) -> None:
        shards = {
            name: (table.stream_shard, len(table.stream_shard.items))
            for name, table in self.tables.items()
            if getattr(table, "stream_shard", None) is not None
        }
        try:
            original(self, transact_items)
        except Exception:
            for name, (shard, length) in shards.items():
                table = self.tables.get(name)
                if table is not None and table.stream_shard is not shard:
                    del shard.items[length:]
                    shard.table = table
                    table.stream_shard = shard
            raise

    DynamoDBBackend.transact_write_items = transact_write_items  # type: ignore[method-assign]
    _applied = True
