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

DynamoDB Streams GetRecords and DynamoDB GetItem: answered with what moto holds (already in
the wire shape) as JSON, without moto's model-driven serializer (~2 ms per stream record; the
largest share of a GetItem).

DynamoDB Streams, bounded. moto keeps every stream record for ever (0.13 MB per registrant under a
crowd). `trim_shard` drops the records every consumer has read past (beyond a retained window)
and, like DynamoDB, records older than 24 hours. Sequence numbers keep counting from where they
were (the shard remembers how many records it dropped), so iterators stay valid; one that points
into the trimmed part reads from the oldest record kept, as TRIM_HORIZON does.

DynamoDB TTL: `expire_items` deletes the items whose TTL attribute is past (not those more than
five years past, which DynamoDB ignores), each with a REMOVE stream record whose userIdentity
is the DynamoDB service, as TTL deletes are.

SQS DeleteMessage: moto remembers the receipt handles of every message ever deleted (so that a
second delete succeeds); the fix remembers the most recent ones only, and deletes in one pass.

Per-request overhead of moto's server, paid under the global lock: working out which backend a
request is for listed moto's package directory (os.listdir and a stat per service, ~150) and
finding the handler method ran inspect.getmembers over the response class, for every request.
Both answers never change in a process, so they are computed once.

DynamoDB UpdateExpression, parsed once. Each Update of a transaction parsed its UpdateExpression
twice (moto's request validation and the backend's update_item) and deep-copied the parsed
tree once more for its validator; updates were most of a transaction's cost. The trees of the
(few, fixed) expressions an application sends are kept, and the validator's copy is made from
a pickled form of the tree (same structure, ~5x faster than deepcopy).

SQS ReceiveMessage: the retention check of each received message computed all the queue's
attributes (counting every message in the queue), so receiving from a backlog was quadratic;
and those attributes (read for every message sent too) are computed in one pass.
"""

from __future__ import annotations

import base64
import calendar
import copy
import datetime
import functools
import json
import logging
import pickle  # nosec B403 # copies moto's parse trees in-process; never loads outside bytes
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


class _ConditionFailed(Exception):
    """A transaction operation's condition failed; `item` is the ALL_OLD image when asked for."""

    def __init__(self, message: str, item: dict[str, Any] | None) -> None:
        super().__init__(message)
        self.message, self.item = message, item


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

    if len(transact_items) > 100:
        raise TooManyTransactionsException()
    undo = undo if undo is not None else UndoLog()
    target_items: set[tuple[str, str]] = set()
    errors: list[tuple[str | None, str | None, dict[str, Any] | None]] = []
    for item in transact_items:
        if len(list(item.keys())) > 1:
            undo.roll_back()
            raise TransactWriteSingleOpException
        try:
            _operation(backend, item, undo, target_items)
            errors.append((None, None, None))
        except (MultipleTransactionsException, MockValidationException):
            undo.roll_back()
            raise
        except _ConditionFailed as e:
            errors.append(("ConditionalCheckFailed", e.message, e.item))
        except ConditionalCheckFailed as e:
            errors.append(("ConditionalCheckFailed", str(e.message), None))
        except Exception as e:  # noqa: BLE001 - moto reports every other failure as a cancellation reason
            errors.append((type(e).__name__, str(e), None))

    if any(code is not None for code, _, _ in errors):
        undo.roll_back()
        raise TransactionCanceledException(errors)


def _operation(backend: Any, item: dict[str, Any], undo: UndoLog, target_items: set[tuple[str, str]]) -> None:
    """One operation of a transaction: its checks as moto makes them, then the write, logged in `undo`."""
    from moto.dynamodb.comparisons import get_filter_expression
    from moto.dynamodb.exceptions import ConditionalCheckFailed, MultipleTransactionsException

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
    target = (str(table_name), str(dict(sorted(key.items()))))
    if target in target_items:
        raise MultipleTransactionsException()
    target_items.add(target)

    current = backend.get_item(table_name, key)
    if condition_expression is not None:
        condition_op = get_filter_expression(condition_expression, names, values)
        if not condition_op.expr(current):
            old = None
            if op.get("ReturnValuesOnConditionCheckFailure") == "ALL_OLD" and current:
                old = current.to_json()["Attributes"]
            raise _ConditionFailed(str(ConditionalCheckFailed(item=old).message), old)
    if op_type == "ConditionCheck":
        return
    table = backend.get_table(table_name)
    undo.record(table, *backend.get_keys_value(table, key))
    writes = {
        "condition_expression": condition_expression,
        "expression_attribute_names": names,
        "expression_attribute_values": values,
    }
    if op_type == "Put":
        backend.put_item(table_name, op["Item"], **writes)
    elif op_type == "Delete":
        backend.delete_item(table_name, key, **writes)
    else:
        backend.update_item(table_name, key, update_expression=op["UpdateExpression"], **writes)


def backend_transact_write_items(self: Any, transact_items: list[dict[str, Any]]) -> None:
    """The method that replaces `DynamoDBBackend.transact_write_items`."""
    transact_write_items(self, transact_items)


def message_within_retention(self: Any, queue_name: str, message: Any) -> bool:
    """`SQSBackend.is_message_valid_based_on_retention_period` without computing every queue
    attribute: moto 5.2.5 builds the queue's whole attribute dict (whose message counts walk every
    message in the queue) twice for each message it receives, so a receive cost grew with the backlog."""
    from moto.core.utils import unix_time

    retention_s = int(self.get_queue(queue_name).message_retention_period)
    return bool(retention_s + message.sent_timestamp / 1000 > unix_time())


_COUNTS = (
    "ApproximateNumberOfMessages",
    "ApproximateNumberOfMessagesDelayed",
    "ApproximateNumberOfMessagesNotVisible",
)


def queue_attributes(self: Any) -> dict[str, Any]:
    """`Queue.attributes` in one pass over the messages.

    moto computes the whole dict whenever any attribute is read (e.g. once per message sent, for
    ContentBasedDeduplication), and its three message counts each walked every message and read
    the clock twice per message. Same result, one walk, one clock reading.
    """
    from moto.core.utils import camelcase_to_underscores, unix_time_millis

    now = unix_time_millis()
    visible = delayed = not_visible = 0
    for message in self._messages:
        is_visible = now > message.visible_at
        is_delayed = now < message.delayed_until
        not_visible += not is_visible
        delayed += is_delayed
        visible += is_visible and not is_delayed
    counts = dict(zip(_COUNTS, (visible, delayed, not_visible), strict=True))
    names = list(self.BASE_ATTRIBUTES)
    if self.fifo_queue:
        names += self.FIFO_ATTRIBUTES
    if self.kms_master_key_id:
        names += self.KMS_ATTRIBUTES
    result: dict[str, Any] = {
        name: counts[name] if name in counts else getattr(self, camelcase_to_underscores(name)) for name in names
    }
    if self.policy:
        result["Policy"] = self.policy
    if self.redrive_policy:
        result["RedrivePolicy"] = json.dumps(self.redrive_policy)
    return {key: str(value).lower() if isinstance(value, bool) else value for key, value in result.items()}


STREAM_RECORD_LIFETIME_S = 24 * 3600
TTL_IGNORED_AFTER_S = 5 * 365 * 24 * 3600  # DynamoDB leaves items whose TTL is more than five years past
TTL_DELETE_IDENTITY = {"PrincipalId": "dynamodb.amazonaws.com", "Type": "Service"}  # GetRecords' shape
DELETED_RECEIPTS_KEPT = 10_000


def trimmed_count(shard: Any) -> int:
    """How many records were dropped from the front of `shard` (their sequence numbers stay used)."""
    return int(getattr(shard, "trimmed", 0))


def stream_shard_add(self: Any, old: Any, new: Any) -> None:
    """`StreamShard.add`, numbering records after the trimmed ones."""
    from moto.awslambda.utils import get_backend
    from moto.dynamodb.models.table import StreamRecord

    event_name = "INSERT" if old is None else "REMOVE" if new is None else "MODIFY"
    sequence = self.starting_sequence_number + trimmed_count(self) + len(self.items)
    self.items.append(
        StreamRecord(self.table, self.table.stream_specification["StreamViewType"], event_name, old, new, sequence)
    )
    result = None
    for arn, esm in self.table.lambda_event_source_mappings.items():
        result = get_backend(self.account_id, arn.split(":")[3]).send_dynamodb_items(
            arn, self.items, esm.event_source_arn
        )
    if result:
        trim_front(self, len(self.items))


def stream_shard_get(self: Any, start: int, quantity: int) -> list[dict[str, Any]]:
    """`StreamShard.get` by sequence number; a position in the trimmed part reads from the oldest kept."""
    index = max(0, start - self.starting_sequence_number - trimmed_count(self))
    return [record.to_json() for record in self.items[index : index + quantity]]


def shard_iterator_init(self: Any, streams_backend: Any, stream_shard: Any, kind: str, *args: Any) -> None:
    """`ShardIterator.__init__`: LATEST is after the last record, trimmed ones included."""
    from moto.dynamodbstreams.models import ShardIterator

    original(ShardIterator, "__init__")(self, streams_backend, stream_shard, kind, *args)
    if kind == "LATEST":
        self.sequence_number += trimmed_count(stream_shard)


def trim_front(shard: Any, count: int) -> int:
    count = max(0, min(count, len(shard.items)))
    if count:
        del shard.items[:count]
        shard.trimmed = trimmed_count(shard) + count
    return count


def trim_shard(shard: Any, read_through: int | None, retain: int, now: datetime.datetime | None = None) -> int:
    """Drop the records of `shard` up to sequence number `read_through` (what every consumer has read)
    except the last `retain` of those, and any record older than 24 hours. Returns how many went."""
    read = 0
    if read_through is not None:
        read = min(len(shard.items), read_through - shard.starting_sequence_number - trimmed_count(shard) + 1)
    cut = max(0, read - max(0, retain))
    now = now or datetime.datetime.now(datetime.UTC)
    oldest_kept = now - datetime.timedelta(seconds=STREAM_RECORD_LIFETIME_S)
    while cut < len(shard.items) and _created(shard.items[cut]) < oldest_kept:
        cut += 1
    return trim_front(shard, cut)


def _created(record: Any) -> datetime.datetime:
    created = record.record["dynamodb"]["ApproximateCreationDateTime"]
    return created if created.tzinfo else created.replace(tzinfo=datetime.UTC)


def ttl_enabled(table: Any) -> bool:
    return table.ttl.get("TimeToLiveStatus") == "ENABLED" and bool(table.ttl.get("AttributeName"))


def expired_keys(table: Any, now: float, hash_keys: list[Any] | None = None) -> list[tuple[Any, Any]]:
    """(hash key, range key or None) of the items of `table` (or of those under `hash_keys`) whose
    TTL has expired at `now`."""
    if not ttl_enabled(table):
        return []
    attribute = table.ttl["AttributeName"]
    hashes = list(table.items) if hash_keys is None else hash_keys
    found: list[tuple[Any, Any]] = []
    for h in hashes:
        entry = table.items.get(h)
        if entry is None:
            continue
        if table.range_key_attr is None:
            if _expired(entry, attribute, now):
                found.append((h, None))
        else:
            found.extend((h, r) for r, item in entry.items() if _expired(item, attribute, now))
    return found


def _expired(item: Any, attribute: str, now: float) -> bool:
    value = item.attrs.get(attribute)
    if value is None or value.type != "N":
        return False
    try:
        expires = float(value.value)
    except (TypeError, ValueError):
        return False
    return now - TTL_IGNORED_AFTER_S <= expires < now


def expire_items(table: Any, keys: list[tuple[Any, Any]], now: float) -> int:
    """Delete the items at `keys` that are still expired at `now` (each may have been rewritten since
    it was found), with the service's REMOVE stream record. Returns how many were deleted."""
    attribute = table.ttl.get("AttributeName")
    deleted = 0
    for hash_key, range_key in keys:
        item = table.items.get(hash_key) if range_key is None else table.items.get(hash_key, {}).get(range_key)
        if item is None or not attribute or not _expired(item, attribute, now):
            continue
        if range_key is None:
            del table.items[hash_key]
        else:
            bucket = table.items[hash_key]
            del bucket[range_key]
            if not bucket:
                del table.items[hash_key]
        if table.stream_shard is not None:
            table.stream_shard.add(item, None)
            table.stream_shard.items[-1].record["userIdentity"] = dict(TTL_DELETE_IDENTITY)
        deleted += 1
    return deleted


class RecentSet:
    """A set that keeps only its `size` most recently added members (insertion order)."""

    def __init__(self, size: int = DELETED_RECEIPTS_KEPT) -> None:
        self._size = size
        self._members: dict[str, None] = {}

    def __contains__(self, member: object) -> bool:
        return member in self._members

    def __len__(self) -> int:
        return len(self._members)

    def add(self, member: str) -> None:
        self._members.pop(member, None)
        self._members[member] = None
        while len(self._members) > self._size:
            del self._members[next(iter(self._members))]

    def update(self, members: Any) -> None:
        for member in members:
            if member is not None:
                self.add(member)


def queue_delete_message(self: Any, receipt_handle: str) -> None:
    """`Queue.delete_message` in one pass, remembering the receipt handles of recent deletes only."""
    from moto.sqs.exceptions import ReceiptHandleIsInvalid

    if not isinstance(self.deleted_messages, RecentSet):
        recent = RecentSet(DELETED_RECEIPTS_KEPT)
        recent.update(self.deleted_messages)
        self.deleted_messages = recent
    if receipt_handle in self.deleted_messages:
        return  # already deleted: a second delete succeeds
    kept = []
    found = False
    for message in self._messages:
        if message.had_receipt_handle(receipt_handle):
            found = True
            self.pending_messages.discard(message)
            self.deleted_messages.update(message.all_receipt_handles)
        else:
            kept.append(message)
    if not found:
        raise ReceiptHandleIsInvalid()
    self._messages = kept


@functools.cache
def moto_modules() -> frozenset[str]:
    """`moto.backends.list_of_moto_modules()`, listed once (it walked moto's directory per request)."""
    from moto import backends

    return frozenset(original_function(backends, "list_of_moto_modules")())


@functools.cache
def method_names(cls: type) -> frozenset[str]:
    """`moto.core.utils.method_names_from_class(cls)` once per class (inspect.getmembers per request)."""
    from moto.core import utils

    return frozenset(utils.method_names_from_class(cls))


UPDATE_EXPRESSIONS_KEPT = 1024
_update_trees: dict[str, Any] = {}  # expression text -> parsed tree (never mutated: the validator copies)
_tree_blobs: dict[int, bytes] = {}  # id(tree) of the kept trees -> its pickled form


def parse_update_expression(cls: Any, expression: str) -> Any:
    """`UpdateExpressionParser.make` (a classmethod), parsing each expression text once."""
    tree = _update_trees.get(expression)
    if tree is None:
        tree = original(cls, "make").__func__(cls, expression)  # a syntax error raises, uncached
        if len(_update_trees) < UPDATE_EXPRESSIONS_KEPT:
            _update_trees[expression] = tree
            _tree_blobs[id(tree)] = pickle.dumps(tree)
    return tree


def copy_tree(tree: Any) -> Any:
    """A deep copy of a parsed expression tree; from its pickled form when it is a kept one."""
    blob = _tree_blobs.get(id(tree))  # kept trees live for ever: no other object can have their id
    if blob is None:
        return copy.deepcopy(tree)
    return pickle.loads(blob)  # noqa: S301  # nosec B301 # our own bytes, pickled here from a moto parse tree


def validator_init(
    self: Any,
    expression: Any,
    expression_attribute_names: Any,
    expression_attribute_values: Any,
    item: Any,
    table: Any,
) -> None:
    """`Validator.__init__` with `copy_tree` in place of `deepcopy`."""
    self.expression_attribute_names = expression_attribute_names
    self.expression_attribute_values = expression_attribute_values
    self.item = item
    self.table = table
    self.processors = self.get_ast_processors()
    self.node_to_validate = copy_tree(expression)


_ORIGINAL_FUNCTIONS: dict[tuple[str, str], Any] = {}


def original_function(module: Any, name: str) -> Any:
    return _ORIGINAL_FUNCTIONS.get((module.__name__, name), getattr(module, name))


def _replace_function(module: Any, name: str, new: Any) -> None:
    _ORIGINAL_FUNCTIONS.setdefault((module.__name__, name), getattr(module, name))
    setattr(module, name, new)


def _wire_json(value: Any) -> Any:
    """JSON for what json cannot encode itself, as the JSON protocol writes it: timestamps as epoch
    seconds, binary attribute values base64-encoded."""
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    if isinstance(value, datetime.datetime):
        seconds = calendar.timegm(value.timetuple())
        return seconds + (value.microsecond // 1000) / 1000.0 if value.microsecond else seconds
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def get_records_as_json(self: Any) -> str:
    """`DynamoDBStreamsHandler.get_records` answering with the records as they are stored.

    moto keeps stream records in their wire shape already (typed attribute values); its generic
    response serializer walked every attribute of every record against the service model, which
    made GetRecords (batches of 100 registration images) the costliest call under a crowd.
    """
    limit = self._get_param("Limit")
    result = self.backend.get_records(self._get_param("ShardIterator"), 1000 if limit is None else limit)
    return json.dumps(result, default=_wire_json)


def get_item_as_json(self: Any) -> str:
    """`DynamoHandler.get_item` answering with the item as moto holds it (already typed attribute
    values) instead of walking it through the generic serializer: the most frequent call."""
    from moto.dynamodb.responses import DynamoHandler

    result = original(DynamoHandler, "get_item")(self)
    return json.dumps(result.result, default=_wire_json)


_ORIGINALS: dict[tuple[type, str], Any] = {}


def original(cls: type, name: str) -> Any:
    """moto's own `cls.name`, whether or not this module has replaced it."""
    return _ORIGINALS.get((cls, name), cls.__dict__[name])


def remember_original(cls: type, name: str) -> Any:
    """Keep moto's own `cls.name` (before anything replaces it) for `original`; returns it."""
    return _ORIGINALS.setdefault((cls, name), cls.__dict__[name])


def _replace(cls: type, name: str, new: Any) -> None:
    remember_original(cls, name)
    setattr(cls, name, new)


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

    from moto.dynamodb.models.table import StreamShard
    from moto.dynamodb.responses import DynamoHandler
    from moto.dynamodbstreams.models import ShardIterator
    from moto.dynamodbstreams.responses import DynamoDBStreamsHandler
    from moto.sqs.models import Queue, SQSBackend

    _replace(DynamoDBBackend, "transact_write_items", backend_transact_write_items)
    _replace(SQSBackend, "is_message_valid_based_on_retention_period", message_within_retention)
    _replace(Queue, "attributes", property(queue_attributes))
    _replace(DynamoDBStreamsHandler, "get_records", get_records_as_json)
    _replace(DynamoHandler, "get_item", get_item_as_json)
    _replace(StreamShard, "add", stream_shard_add)
    _replace(StreamShard, "get", stream_shard_get)
    _replace(ShardIterator, "__init__", shard_iterator_init)
    _replace(Queue, "delete_message", queue_delete_message)
    from moto import backends
    from moto.core import responses
    from moto.dynamodb.parsing.expressions import UpdateExpressionParser  # type: ignore[attr-defined]
    from moto.dynamodb.parsing.validators import Validator

    _replace(UpdateExpressionParser, "make", classmethod(parse_update_expression))
    _replace(Validator, "__init__", validator_init)
    _replace_function(backends, "list_of_moto_modules", moto_modules)
    _replace_function(responses, "method_names_from_class", method_names)
    _applied = True
