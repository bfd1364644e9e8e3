"""Fixes to moto behaviour the local stack relies on (applied once, before moto serves).

TransactWriteItems, cost and rollback. moto 5.2.5 backs up every table a transaction names by
deep copy before it starts, and puts the copies back when the transaction is cancelled. That
makes each transaction cost as much as the tables are large (a surge of registrations slowed
down quadratically and the copies grew the process by gigabytes), and the restored copy has its
own stream shard, so every shard iterator handed out before (the stream poller's) kept reading
the old shard: it saw the cancelled writes and never saw a write again.

The replacement below keeps moto's semantics (the same checks, errors and cancellation reasons,
in the same order) but keeps an undo log instead: before an operation writes an item, a copy of
that one item (or "absent") is recorded; a cancelled transaction puts the touched items back in
reverse order, straight into the table's storage, and drops the stream records it added.
DynamoDB itself records nothing for a cancelled transaction. Tables are never copied or
replaced, so their stream shards (and the iterators into them) stay intact.
"""

from __future__ import annotations

import copy
import logging
from dataclasses import dataclass, field
from typing import Any

log = logging.getLogger("infra.local.moto")
_MOTO_VERSION = "5.2.5"  # the version whose transact_write_items this mirrors (requirements/dev.txt)
_OPERATIONS = frozenset({"ConditionCheck", "Put", "Delete", "Update"})
_applied = False


@dataclass
class _Touched:
    table: Any
    hash_key: Any
    range_key: Any
    before: Any  # a copy of the item before the transaction wrote it, or None when it was absent
    had_bucket: bool  # range-key tables: whether the hash key had a bucket before


@dataclass
class UndoLog:
    """What one transaction wrote, so that a cancellation can put it back exactly."""

    touched: list[_Touched] = field(default_factory=list)
    streams: dict[int, tuple[Any, Any, int]] = field(default_factory=dict)  # id(table) -> (table, shard, length)

    def record(self, table: Any, hash_key: Any, range_key: Any) -> None:
        if id(table) not in self.streams and table.stream_shard is not None:
            self.streams[id(table)] = (table, table.stream_shard, len(table.stream_shard.items))
        if table.range_key_attr is not None:
            had_bucket = hash_key in table.items
            current = table.items[hash_key].get(range_key) if had_bucket else None
        else:
            had_bucket = True
            current = table.items.get(hash_key)
        self.touched.append(_Touched(table, hash_key, range_key, copy.deepcopy(current), had_bucket))

    def roll_back(self) -> None:
        for t in reversed(self.touched):
            if t.table.range_key_attr is None:
                if t.before is None:
                    t.table.items.pop(t.hash_key, None)
                else:
                    t.table.items[t.hash_key] = t.before
                continue
            bucket = t.table.items.get(t.hash_key)
            if t.before is not None:
                t.table.items[t.hash_key][t.range_key] = t.before
            elif bucket is not None:
                bucket.pop(t.range_key, None)
                if not bucket and not t.had_bucket:
                    del t.table.items[t.hash_key]
        for table, shard, length in self.streams.values():
            if table.stream_shard is shard:
                del shard.items[length:]
        self.touched.clear()
        self.streams.clear()


def transact_write_items(backend: Any, transact_items: list[dict[str, Any]], undo: UndoLog | None = None) -> None:
    """moto 5.2.5's `DynamoDBBackend.transact_write_items` with an undo log instead of table copies."""
    from moto.dynamodb.exceptions import (
        ConditionalCheckFailed,
        MockValidationException,
        MultipleTransactionsException,
        TooManyTransactionsException,
        TransactionCanceledException,
        TransactWriteSingleOpException,
    )
    from moto.dynamodb.comparisons import get_filter_expression

    if len(transact_items) > 100:
        raise TooManyTransactionsException()
    undo = undo if undo is not None else UndoLog()
    target_items: set[tuple[str, str]] = set()

    def check_unicity(table_name: str, key: dict[str, Any]) -> None:
        item = (str(table_name), str(dict(sorted(key.items()))))
        if item in target_items:
            raise MultipleTransactionsException()
        target_items.add(item)

    errors: list[tuple[str | None, str | None, dict[str, Any] | None]] = []
    for item in transact_items:
        original_item: dict[str, Any] | None = None
        if len(list(item.keys())) > 1:
            undo.roll_back()
            raise TransactWriteSingleOpException
        try:
            op_type, op = next(iter(item.items()))
            if op_type not in _OPERATIONS:
                raise ValueError("Unsupported transaction operation")
            table_name = op["TableName"]
            condition_expression = op.get("ConditionExpression")
            names = op.get("ExpressionAttributeNames")
            values = op.get("ExpressionAttributeValues")
            if op_type == "Put":
                attrs = op["Item"]
                table = backend.get_table(table_name)
                key = {table.hash_key_attr: attrs[table.hash_key_attr]}
                if table.range_key_attr is not None:
                    key[table.range_key_attr] = attrs[table.range_key_attr]
            else:
                key = op["Key"]
            check_unicity(table_name, key)

            current = backend.get_item(table_name, key)
            if condition_expression is not None:
                condition_op = get_filter_expression(condition_expression, names, values)
                if not condition_op.expr(current):
                    if op.get("ReturnValuesOnConditionCheckFailure") == "ALL_OLD" and current:
                        original_item = current.to_json()["Attributes"]
                    raise ConditionalCheckFailed(item=original_item)

            if op_type != "ConditionCheck":
                table = backend.get_table(table_name)
                hash_key, range_key = backend.get_keys_value(table, key)
                undo.record(table, hash_key, range_key)
            if op_type == "Put":
                backend.put_item(
                    table_name,
                    op["Item"],
                    condition_expression=condition_expression,
                    expression_attribute_names=names,
                    expression_attribute_values=values,
                )
            elif op_type == "Delete":
                backend.delete_item(
                    table_name,
                    key,
                    condition_expression=condition_expression,
                    expression_attribute_names=names,
                    expression_attribute_values=values,
                )
            elif op_type == "Update":
                backend.update_item(
                    table_name,
                    key,
                    update_expression=op["UpdateExpression"],
                    condition_expression=condition_expression,
                    expression_attribute_names=names,
                    expression_attribute_values=values,
                )
            errors.append((None, None, None))
        except (MultipleTransactionsException, MockValidationException):
            undo.roll_back()
            raise
        except ConditionalCheckFailed as e:
            errors.append(("ConditionalCheckFailed", str(e.message), original_item))
        except Exception as e:  # noqa: BLE001 - moto reports every other failure as a cancellation reason
            errors.append((type(e).__name__, str(e), original_item))

    if any(code is not None for code, _, _ in errors):
        undo.roll_back()
        raise TransactionCanceledException(errors)


def backend_transact_write_items(self: Any, transact_items: list[dict[str, Any]]) -> None:
    """The method that replaces `DynamoDBBackend.transact_write_items`."""
    transact_write_items(self, transact_items)


def apply() -> None:
    global _applied
    if _applied:
        return
    import moto
    from moto.dynamodb.models import DynamoDBBackend

    if moto.__version__ != _MOTO_VERSION:
        log.warning(
            "moto_fixes mirrors moto %s's TransactWriteItems; this is moto %s: re-check the fix",
            _MOTO_VERSION,
            moto.__version__,
        )

    DynamoDBBackend.transact_write_items = backend_transact_write_items  # type: ignore[method-assign]
    _applied = True
