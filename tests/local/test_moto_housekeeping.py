"""The local AWS stays flat under a crowd (infra/local/moto_fixes.py, moto_server.py): stream records
every consumer has read are trimmed (iterators and sequence numbers stay valid), TTL'd items are
deleted like DynamoDB's TTL does, and SQS forgets the receipt handles of old deletes."""

from __future__ import annotations

import datetime
import time
import uuid
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from infra.local import moto_fixes
from infra.local.moto_server import MotoServer
from infra.local.stream_poller import lambda_record

REGION = "ap-southeast-3"


@pytest.fixture(scope="module")
def server() -> Iterator[MotoServer]:
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PRAKERJA_TTL_SWEEP_S", "0")  # the tests sweep themselves
        mp.setenv("PRAKERJA_STREAM_RETAIN", "5")
        moto = MotoServer(0, REGION)
    moto.start()
    yield moto
    moto.stop()


def client(server: MotoServer, service: str) -> Any:
    return boto3.client(
        service, region_name=REGION, endpoint_url=server.url, aws_access_key_id="k", aws_secret_access_key="s"
    )


@pytest.fixture
def table(server: MotoServer) -> tuple[str, str]:
    """(table name, stream ARN) of a new streamed table with TTL on `expires_at`."""
    ddb = client(server, "dynamodb")
    name = f"t-{uuid.uuid4().hex[:8]}"
    created = ddb.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "S"},
        ],
        BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
    )
    ddb.update_time_to_live(TableName=name, TimeToLiveSpecification={"AttributeName": "expires_at", "Enabled": True})
    return name, created["TableDescription"]["LatestStreamArn"]


def put(server: MotoServer, name: str, pk: str, sk: str = "A", **numbers: float) -> None:
    item: dict[str, Any] = {"pk": {"S": pk}, "sk": {"S": sk}}
    item.update({k: {"N": str(v)} for k, v in numbers.items()})
    client(server, "dynamodb").put_item(TableName=name, Item=item)


def read(server: MotoServer, arn: str, kind: str, sequence: str | None = None) -> list[dict[str, Any]]:
    streams = client(server, "dynamodbstreams")
    shard = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]
    args: dict[str, Any] = {"StreamArn": arn, "ShardId": shard, "ShardIteratorType": kind}
    if sequence is not None:
        args["SequenceNumber"] = sequence
    iterator = streams.get_shard_iterator(**args)["ShardIterator"]
    return list(streams.get_records(ShardIterator=iterator, Limit=1000)["Records"])


def shard_length(server: MotoServer, name: str) -> int:
    return len(server._dynamodb().tables[name].stream_shard.items)


# -- stream records: trimmed once read, numbering and iterators intact --------------------------------
def test_records_every_consumer_read_are_trimmed_beyond_the_retained_window(server: MotoServer, table: Any):
    name, arn = table
    first, second = server.stream_consumer(arn, "relay"), server.stream_consumer(arn, "audit")
    for i in range(20):
        put(server, name, f"p{i}")
    records = read(server, arn, "TRIM_HORIZON")
    sequences = [r["dynamodb"]["SequenceNumber"] for r in records]
    assert len(sequences) == 20

    assert first(sequences[14]) == 0  # the other consumer has read nothing yet: everything stays
    assert shard_length(server, name) == 20
    assert second(sequences[9]) == 5  # both read through the 10th: all but the last 5 of those go
    assert shard_length(server, name) == 15
    assert second(sequences[19]) == 5  # now the first consumer (15th) is the slowest
    assert shard_length(server, name) == 10

    # Sequence numbers go on from where they were; reading after a kept record works as before.
    put(server, name, "p20")
    after = read(server, arn, "AFTER_SEQUENCE_NUMBER", sequences[14])
    assert [r["dynamodb"]["Keys"]["pk"]["S"] for r in after] == [f"p{i}" for i in range(15, 21)]
    assert int(after[-1]["dynamodb"]["SequenceNumber"]) == int(sequences[19]) + 1
    # TRIM_HORIZON (or a position already trimmed) starts at the oldest record kept.
    horizon = read(server, arn, "TRIM_HORIZON")
    assert horizon[0]["dynamodb"]["SequenceNumber"] == sequences[10]
    assert read(server, arn, "AFTER_SEQUENCE_NUMBER", sequences[0]) == horizon
    # LATEST is after the last record, however many were trimmed before it.
    streams = client(server, "dynamodbstreams")
    shard = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]
    latest = streams.get_shard_iterator(StreamArn=arn, ShardId=shard, ShardIteratorType="LATEST")["ShardIterator"]
    put(server, name, "p21")
    assert [r["dynamodb"]["Keys"]["pk"]["S"] for r in streams.get_records(ShardIterator=latest)["Records"]] == ["p21"]


def test_a_chained_iterator_keeps_reading_across_a_trim(server: MotoServer, table: Any):
    name, arn = table
    consumer = server.stream_consumer(arn, "relay")
    streams = client(server, "dynamodbstreams")
    shard = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]
    iterator = streams.get_shard_iterator(StreamArn=arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON")[
        "ShardIterator"
    ]
    seen: list[str] = []
    for batch in range(3):
        for i in range(10):
            put(server, name, f"b{batch}-{i}")
        page = streams.get_records(ShardIterator=iterator)
        seen += [r["dynamodb"]["Keys"]["pk"]["S"] for r in page["Records"]]
        consumer(page["Records"][-1]["dynamodb"]["SequenceNumber"])
        iterator = page["NextShardIterator"]
    assert seen == [f"b{b}-{i}" for b in range(3) for i in range(10)]
    assert shard_length(server, name) == 5


def test_records_older_than_24_hours_are_dropped_even_unread(server: MotoServer, table: Any):
    name, arn = table
    server.stream_consumer(arn, "relay")  # never reads
    for i in range(4):
        put(server, name, f"p{i}")
    shard = server._dynamodb().tables[name].stream_shard
    for record in shard.items[:3]:
        record.record["dynamodb"]["ApproximateCreationDateTime"] -= datetime.timedelta(hours=24, seconds=1)
    server.sweep()
    assert [r["dynamodb"]["Keys"]["pk"]["S"] for r in read(server, arn, "TRIM_HORIZON")] == ["p3"]


# -- TTL ------------------------------------------------------------------------------------------------
def test_the_sweep_deletes_expired_items_with_the_services_remove_record(server: MotoServer, table: Any):
    name, arn = table
    now = time.time()
    put(server, name, "expired", expires_at=int(now) - 10)
    put(server, name, "expired", "B", expires_at=int(now) - 3600)
    put(server, name, "fresh", expires_at=int(now) + 3600)
    put(server, name, "ancient", expires_at=int(now) - 6 * 365 * 24 * 3600)  # DynamoDB ignores these
    put(server, name, "no-ttl")
    client(server, "dynamodb").put_item(
        TableName=name, Item={"pk": {"S": "text"}, "sk": {"S": "A"}, "expires_at": {"S": "1"}}
    )
    before = len(read(server, arn, "TRIM_HORIZON"))

    assert server.sweep(now) == 2
    left = client(server, "dynamodb").scan(TableName=name)["Items"]
    assert sorted(i["pk"]["S"] for i in left) == ["ancient", "fresh", "no-ttl", "text"]
    removed = read(server, arn, "TRIM_HORIZON")[before:]
    assert [(r["eventName"], r["dynamodb"]["Keys"]["sk"]["S"]) for r in removed] == [
        ("REMOVE", "A"),
        ("REMOVE", "B"),
    ]
    assert all(r["userIdentity"] == {"Type": "Service", "PrincipalId": "dynamodb.amazonaws.com"} for r in removed)
    assert all("OldImage" in r["dynamodb"] and "NewImage" not in r["dynamodb"] for r in removed)
    # What the function gets from the stream poller, as Lambda writes it.
    event = lambda_record(removed[0], arn, REGION)
    assert event["userIdentity"] == {"type": "Service", "principalId": "dynamodb.amazonaws.com"}
    assert server.sweep(now) == 0


def test_the_sweep_takes_the_table_a_slice_at_a_time(server: MotoServer, table: Any, monkeypatch: pytest.MonkeyPatch):
    from infra.local import moto_server

    monkeypatch.setattr(moto_server, "_TTL_SCAN_PER_LOCK", 2)
    name, _ = table
    now = time.time()
    for i in range(7):
        put(server, name, f"old{i}", expires_at=int(now) - 1)
        put(server, name, f"old{i}", "B", expires_at=int(now) + 60)
    assert server.sweep(now) == 7
    assert sorted(i["sk"]["S"] for i in client(server, "dynamodb").scan(TableName=name)["Items"]) == ["B"] * 7


def test_an_item_rewritten_after_it_was_found_expired_is_kept(server: MotoServer, table: Any):
    name, _ = table
    now = time.time()
    put(server, name, "renewed", expires_at=int(now) - 10)
    backend_table = server._dynamodb().tables[name]
    keys = moto_fixes.expired_keys(backend_table, now)
    assert len(keys) == 1
    put(server, name, "renewed", expires_at=int(now) + 60)
    assert moto_fixes.expire_items(backend_table, keys, now) == 0
    assert client(server, "dynamodb").scan(TableName=name)["Count"] == 1


def test_no_ttl_no_deletes(server: MotoServer):
    ddb = client(server, "dynamodb")
    name = f"plain-{uuid.uuid4().hex[:8]}"
    ddb.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    ddb.put_item(TableName=name, Item={"pk": {"S": "a"}, "expires_at": {"N": "1"}})
    server.sweep()
    assert ddb.scan(TableName=name)["Count"] == 1


# -- SQS: deleted receipt handles are not kept for ever --------------------------------------------------
def test_sqs_remembers_only_recent_deleted_receipt_handles(server: MotoServer, monkeypatch: pytest.MonkeyPatch):
    from moto.sqs.models import sqs_backends

    monkeypatch.setattr(moto_fixes, "DELETED_RECEIPTS_KEPT", 3)
    sqs = client(server, "sqs")
    url = sqs.create_queue(QueueName=f"q-{uuid.uuid4().hex[:8]}")["QueueUrl"]
    handles = []
    for i in range(6):
        sqs.send_message(QueueUrl=url, MessageBody=f"m{i}")
        message = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=1)["Messages"][0]
        sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
        handles.append(message["ReceiptHandle"])
    queue = sqs_backends["123456789012"][REGION].get_queue(url.rsplit("/", 1)[-1])
    assert len(queue.deleted_messages) == 3
    sqs.delete_message(QueueUrl=url, ReceiptHandle=handles[-1])  # a repeated delete still succeeds
    assert queue._messages == []
    with pytest.raises(ClientError, match="ReceiptHandleIsInvalid"):
        sqs.delete_message(QueueUrl=url, ReceiptHandle="not-a-handle")


# -- per-request overhead: answers that never change are computed once ---------------------------------
def test_backend_lookup_and_handler_methods_are_computed_once(monkeypatch: pytest.MonkeyPatch):
    import os

    from moto import backends
    from moto.core import utils
    from moto.dynamodb.responses import DynamoHandler

    assert moto_fixes.moto_modules() == frozenset(moto_fixes.original_function(backends, "list_of_moto_modules")())
    assert {"dynamodb", "sqs", "ses"} <= moto_fixes.moto_modules()
    assert moto_fixes.method_names(DynamoHandler) == frozenset(utils.method_names_from_class(DynamoHandler))
    listed: list[str] = []
    real_listdir = os.listdir
    monkeypatch.setattr(os, "listdir", lambda path: listed.append(path) or real_listdir(path))
    for _ in range(3):
        moto_fixes.moto_modules()
    assert listed == []


# -- UpdateExpression: parsed once per text, validated on a copy ------------------------------------------
UPDATES = [
    ("SET #s = :s, attempts = if_not_exists(attempts, :zero) + :one", {"#s": "status"}),
    ("ADD shards :one SET tags = list_append(if_not_exists(tags, :empty), :tags)", None),
    ("SET m.nested = :s REMOVE gone", None),
    ("SET attempts = attempts - :one DELETE letters :letters", None),
]
VALUES = {
    ":s": {"S": "VERIFIED"},
    ":zero": {"N": "0"},
    ":one": {"N": "1"},
    ":empty": {"L": []},
    ":tags": {"L": [{"S": "x"}]},
    ":letters": {"SS": ["a"]},
}


def _run_updates(ddb: Any, name: str) -> list[dict[str, Any]]:
    ddb.put_item(
        TableName=name,
        Item={"pk": {"S": "r"}, "sk": {"S": "A"}, "m": {"M": {}}, "gone": {"S": "x"}, "letters": {"SS": ["a", "b"]}},
    )
    seen = []
    for _ in range(2):
        for expression, names in UPDATES:
            used = {k: v for k, v in VALUES.items() if k in expression}
            args: dict[str, Any] = {"ExpressionAttributeValues": used}
            if names:
                args["ExpressionAttributeNames"] = names
            ddb.update_item(
                TableName=name, Key={"pk": {"S": "r"}, "sk": {"S": "A"}}, UpdateExpression=expression, **args
            )
            seen.append(ddb.get_item(TableName=name, Key={"pk": {"S": "r"}, "sk": {"S": "A"}})["Item"])
    with pytest.raises(ClientError, match="ValidationException"):
        ddb.update_item(TableName=name, Key={"pk": {"S": "r"}, "sk": {"S": "A"}}, UpdateExpression="SET = oops")
    return seen


def test_updates_give_what_moto_gave_with_each_expression_parsed_once(
    server: MotoServer, table: Any, monkeypatch: pytest.MonkeyPatch
):
    from moto.dynamodb.parsing.expressions import UpdateExpressionParser
    from moto.dynamodb.parsing.validators import Validator

    ddb = client(server, "dynamodb")
    name, _ = table
    parsed: list[str] = []
    real_make = moto_fixes.original(UpdateExpressionParser, "make").__func__
    monkeypatch.setattr(moto_fixes, "_update_trees", {})
    monkeypatch.setattr(moto_fixes, "_tree_blobs", {})

    def counting_make(cls: Any, expression: str) -> Any:
        parsed.append(expression)
        return real_make(cls, expression)

    monkeypatch.setitem(moto_fixes._ORIGINALS, (UpdateExpressionParser, "make"), classmethod(counting_make))
    with_fix = _run_updates(ddb, name)
    assert sorted(set(parsed)) == sorted([e for e, _ in UPDATES] + ["SET = oops"])
    assert len(parsed) == len(UPDATES) + 1  # each text once (the bad one raises every time, uncached)

    monkeypatch.setattr(UpdateExpressionParser, "make", moto_fixes.original(UpdateExpressionParser, "make"))
    monkeypatch.setattr(Validator, "__init__", moto_fixes.original(Validator, "__init__"))
    client(server, "dynamodb").delete_item(TableName=name, Key={"pk": {"S": "r"}, "sk": {"S": "A"}})
    assert _run_updates(ddb, name) == with_fix


# -- process memory: few malloc arenas, free pages handed back ----------------------------------------------
def test_malloc_arena_cap_applies_unless_the_environment_sets_one():
    import sys

    from infra.local import memory

    assert memory.limit_arenas({"MALLOC_ARENA_MAX": "4"}) is False  # the operator's setting wins
    on_glibc = sys.platform.startswith("linux") and memory._libc() is not None
    assert memory.limit_arenas({}) is on_glibc
    assert memory.release_free_memory() in (True, False)
    if on_glibc:
        assert memory.release_free_memory() is not None
