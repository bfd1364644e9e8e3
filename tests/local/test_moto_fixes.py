"""The local stack's TransactWriteItems (infra/local/moto_fixes.py): cost per transaction
independent of table size, exact rollback of cancelled transactions, stream left intact."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws
from moto.core import DEFAULT_ACCOUNT_ID
from moto.dynamodb.models import DynamoDBBackend, dynamodb_backends
from moto.dynamodb.models.dynamo_type import Item

from infra.local import moto_fixes

REGION = "ap-southeast-3"
TABLE = "registrations"
PAIRS = "pairs"  # hash + range key


@pytest.fixture
def ddb(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    monkeypatch.setattr(DynamoDBBackend, "transact_write_items", moto_fixes.backend_transact_write_items)
    with mock_aws():
        client = boto3.client("dynamodb", region_name=REGION)
        client.create_table(
            TableName=TABLE,
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[
                {"AttributeName": "pk", "AttributeType": "S"},
                {"AttributeName": "email", "AttributeType": "S"},
            ],
            GlobalSecondaryIndexes=[
                {
                    "IndexName": "by-email",
                    "KeySchema": [{"AttributeName": "email", "KeyType": "HASH"}],
                    "Projection": {"ProjectionType": "ALL"},
                }
            ],
            BillingMode="PAY_PER_REQUEST",
            StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
        )
        client.create_table(
            TableName=PAIRS,
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
            AttributeDefinitions=[
                {"AttributeName": "pk", "AttributeType": "S"},
                {"AttributeName": "sk", "AttributeType": "S"},
            ],
            BillingMode="PAY_PER_REQUEST",
            StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
        )
        yield client


def put(ddb: Any, pk: str, **attrs: str) -> None:
    ddb.put_item(TableName=TABLE, Item={"pk": {"S": pk}, **{k: {"S": v} for k, v in attrs.items()}})


def everything(ddb: Any) -> dict[str, list[dict[str, Any]]]:
    return {
        name: sorted(ddb.scan(TableName=name)["Items"], key=lambda i: (i["pk"]["S"], i.get("sk", {}).get("S", "")))
        for name in (TABLE, PAIRS)
    }


class StreamReader:
    """The table's stream shard as seen before the transactions, like the stream poller's iterator
    (read through moto's backend: in-process moto does not route the streams API)."""

    def __init__(self, table: str) -> None:
        self._table = dynamodb_backends[DEFAULT_ACCOUNT_ID][REGION].get_table(table)
        self._shard = self._table.stream_shard
        self._seen = len(self._shard.items)

    def read(self) -> list[tuple[str, str]]:
        assert self._table.stream_shard is self._shard, "the table's stream shard was replaced"
        records = [r.to_json() for r in self._shard.items[self._seen :]]
        self._seen = len(self._shard.items)
        return [(r["eventName"], r["dynamodb"]["Keys"]["pk"]["S"]) for r in records]


def test_items_copied_per_transaction_do_not_grow_with_the_table(ddb: Any, monkeypatch: pytest.MonkeyPatch):
    for i in range(300):
        put(ddb, f"reg#{i}", email=f"u{i}@example.com", name="Siti")
    copied: list[Any] = []
    real_deepcopy = Item.__deepcopy__

    def counting_deepcopy(item: Item, memo: dict[int, Any]) -> Item:
        copied.append(item)
        return real_deepcopy(item, memo)

    monkeypatch.setattr(Item, "__deepcopy__", counting_deepcopy)
    ddb.transact_write_items(
        TransactItems=[
            {
                "Put": {
                    "TableName": TABLE,
                    "Item": {"pk": {"S": "reg#new"}},
                    "ConditionExpression": "attribute_not_exists(pk)",
                }
            },
            {
                "Update": {
                    "TableName": TABLE,
                    "Key": {"pk": {"S": "reg#1"}},
                    "UpdateExpression": "SET #n = :n",
                    "ExpressionAttributeNames": {"#n": "name"},
                    "ExpressionAttributeValues": {":n": {"S": "Budi"}},
                }
            },
            {"Delete": {"TableName": TABLE, "Key": {"pk": {"S": "reg#2"}}}},
        ]
    )
    # The undo log copies the items the transaction touches (and moto's update_item copies the
    # item it updates): a handful, not the 300 items of the table.
    assert len(copied) <= 2 * 3, len(copied)
    assert ddb.get_item(TableName=TABLE, Key={"pk": {"S": "reg#1"}})["Item"]["name"]["S"] == "Budi"
    assert "Item" in ddb.get_item(TableName=TABLE, Key={"pk": {"S": "reg#new"}})
    assert "Item" not in ddb.get_item(TableName=TABLE, Key={"pk": {"S": "reg#2"}})


def test_a_condition_failure_in_the_middle_leaves_nothing_written(ddb: Any):
    put(ddb, "reg#1", email="a@example.com", name="Siti")
    put(ddb, "reg#2", email="b@example.com", name="Budi")
    ddb.put_item(TableName=PAIRS, Item={"pk": {"S": "nik#1"}, "sk": {"S": "a"}, "v": {"S": "old"}})
    before = everything(ddb)
    stream, pairs_stream = StreamReader(TABLE), StreamReader(PAIRS)

    with pytest.raises(ddb.exceptions.TransactionCanceledException) as cancelled:
        ddb.transact_write_items(
            TransactItems=[
                {"Put": {"TableName": TABLE, "Item": {"pk": {"S": "reg#3"}, "email": {"S": "c@example.com"}}}},
                {
                    "Update": {
                        "TableName": TABLE,
                        "Key": {"pk": {"S": "reg#1"}},
                        "UpdateExpression": "SET #n = :n REMOVE email",
                        "ExpressionAttributeNames": {"#n": "name"},
                        "ExpressionAttributeValues": {":n": {"S": "Changed"}},
                    }
                },
                {"Delete": {"TableName": TABLE, "Key": {"pk": {"S": "reg#2"}}}},
                {
                    "Put": {
                        "TableName": PAIRS,
                        "Item": {"pk": {"S": "nik#1"}, "sk": {"S": "a"}, "v": {"S": "new"}},
                    }
                },
                {"Put": {"TableName": PAIRS, "Item": {"pk": {"S": "nik#2"}, "sk": {"S": "b"}}}},
                {
                    "ConditionCheck": {
                        "TableName": TABLE,
                        "Key": {"pk": {"S": "reg#absent"}},
                        "ConditionExpression": "attribute_exists(pk)",
                    }
                },
                {"Put": {"TableName": TABLE, "Item": {"pk": {"S": "reg#after"}}}},
            ]
        )
    reasons = [r["Code"] for r in cancelled.value.response["CancellationReasons"]]
    assert reasons == ["None", "None", "None", "None", "None", "ConditionalCheckFailed", "None"]
    assert everything(ddb) == before
    by_email = ddb.query(
        TableName=TABLE,
        IndexName="by-email",
        KeyConditionExpression="email = :e",
        ExpressionAttributeValues={":e": {"S": "a@example.com"}},
    )
    assert [i["pk"]["S"] for i in by_email["Items"]] == ["reg#1"]
    # The stream records nothing for the cancelled transaction and keeps working afterwards.
    assert stream.read() == [] and pairs_stream.read() == []
    put(ddb, "reg#4")
    ddb.delete_item(TableName=TABLE, Key={"pk": {"S": "reg#1"}})
    assert stream.read() == [("INSERT", "reg#4"), ("REMOVE", "reg#1")]


def test_two_operations_on_one_item_roll_back_the_writes_before_them(ddb: Any):
    put(ddb, "reg#1", name="Siti")
    before = everything(ddb)
    stream = StreamReader(TABLE)
    with pytest.raises(ddb.exceptions.ClientError) as failed:
        ddb.transact_write_items(
            TransactItems=[
                {"Put": {"TableName": TABLE, "Item": {"pk": {"S": "reg#2"}}}},
                {"Delete": {"TableName": TABLE, "Key": {"pk": {"S": "reg#1"}}}},
                {"Put": {"TableName": TABLE, "Item": {"pk": {"S": "reg#2"}, "x": {"S": "again"}}}},
            ]
        )
    assert failed.value.response["Error"]["Code"] == "ValidationException"
    assert everything(ddb) == before
    assert stream.read() == []


def test_a_committed_transaction_writes_everything_and_streams_it_once(ddb: Any):
    put(ddb, "reg#1", name="Siti")
    stream = StreamReader(TABLE)
    ddb.transact_write_items(
        TransactItems=[
            {
                "Put": {
                    "TableName": TABLE,
                    "Item": {"pk": {"S": "reg#2"}},
                    "ConditionExpression": "attribute_not_exists(pk)",
                }
            },
            {
                "Delete": {
                    "TableName": TABLE,
                    "Key": {"pk": {"S": "reg#1"}},
                    "ConditionExpression": "attribute_exists(pk)",
                }
            },
        ]
    )
    assert [i["pk"]["S"] for i in everything(ddb)[TABLE]] == ["reg#2"]
    assert stream.read() == [("INSERT", "reg#2"), ("REMOVE", "reg#1")]


# -- DynamoDB Streams GetRecords without moto's response serializer ------------------------------
def _server_call(client: Any, host: str, target: str, body: dict[str, Any]) -> dict[str, Any]:
    response = client.post(
        "/",
        headers={
            "Host": host,
            "X-Amz-Target": target,
            "Content-Type": "application/x-amz-json-1.0",
            "Authorization": f"AWS4-HMAC-SHA256 Credential=local/20260101/{REGION}/dynamodb/aws4_request, "
            "SignedHeaders=host, Signature=x",
        },
        data=json.dumps(body),
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    return dict(json.loads(response.get_data(as_text=True)))


def test_get_records_answers_exactly_what_motos_serializer_did(monkeypatch: pytest.MonkeyPatch):
    from moto.dynamodbstreams.responses import DynamoDBStreamsHandler
    from moto.server import DomainDispatcherApplication, create_backend_app
    from werkzeug.test import Client

    client = Client(DomainDispatcherApplication(create_backend_app))
    ddb, streams = f"dynamodb.{REGION}.amazonaws.com", f"streams.dynamodb.{REGION}.amazonaws.com"
    table = f"streamed-{uuid.uuid4().hex[:8]}"
    _server_call(
        client,
        ddb,
        "DynamoDB_20120810.CreateTable",
        {
            "TableName": table,
            "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
            "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}],
            "BillingMode": "PAY_PER_REQUEST",
            "StreamSpecification": {"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
        },
    )
    item = {
        "pk": {"S": "a"},
        "n": {"N": "1.5"},
        "l": {"L": [{"S": "x"}, {"M": {"b": {"BOOL": True}}}]},
        "bin": {"B": "AAEC"},
        "ss": {"SS": ["p", "q"]},
        "bs": {"BS": ["AAE="]},
        "nothing": {"NULL": True},
    }
    _server_call(client, ddb, "DynamoDB_20120810.PutItem", {"TableName": table, "Item": item})
    _server_call(
        client,
        ddb,
        "DynamoDB_20120810.UpdateItem",
        {
            "TableName": table,
            "Key": {"pk": {"S": "a"}},
            "UpdateExpression": "SET n = :n",
            "ExpressionAttributeValues": {":n": {"N": "2"}},
        },
    )
    _server_call(client, ddb, "DynamoDB_20120810.DeleteItem", {"TableName": table, "Key": {"pk": {"S": "a"}}})
    arn = _server_call(client, ddb, "DynamoDB_20120810.DescribeTable", {"TableName": table})["Table"]["LatestStreamArn"]
    description = _server_call(client, streams, "DynamoDBStreams_20120810.DescribeStream", {"StreamArn": arn})
    shard = description["StreamDescription"]["Shards"][0]["ShardId"]

    def records() -> list[dict[str, Any]]:
        iterator = _server_call(
            client,
            streams,
            "DynamoDBStreams_20120810.GetShardIterator",
            {"StreamArn": arn, "ShardId": shard, "ShardIteratorType": "TRIM_HORIZON"},
        )["ShardIterator"]
        page = _server_call(
            client, streams, "DynamoDBStreams_20120810.GetRecords", {"ShardIterator": iterator, "Limit": 100}
        )
        return list(page["Records"])

    monkeypatch.setattr(
        DynamoDBStreamsHandler, "get_records", moto_fixes.original(DynamoDBStreamsHandler, "get_records")
    )
    by_serializer = records()
    monkeypatch.setattr(DynamoDBStreamsHandler, "get_records", moto_fixes.get_records_as_json)
    assert [r["eventName"] for r in by_serializer] == ["INSERT", "MODIFY", "REMOVE"]
    assert records() == by_serializer


# -- SQS ReceiveMessage: the retention check does not count the queue ---------------------------
def test_receiving_from_a_backlog_does_not_compute_the_queue_attributes_per_message(monkeypatch: pytest.MonkeyPatch):
    from moto.sqs.models import Queue, SQSBackend

    monkeypatch.setattr(SQSBackend, "is_message_valid_based_on_retention_period", moto_fixes.message_within_retention)
    computed: list[int] = []
    real_attributes = moto_fixes.original(Queue, "attributes")

    def counting_attributes(queue: Any) -> Any:
        computed.append(1)
        return real_attributes.fget(queue)  # type: ignore[attr-defined]

    with mock_aws():
        sqs = boto3.client("sqs", region_name=REGION)
        url = sqs.create_queue(QueueName="backlog")["QueueUrl"]
        for start in range(0, 200, 10):
            sqs.send_message_batch(
                QueueUrl=url, Entries=[{"Id": str(i), "MessageBody": f"m{i}"} for i in range(start, start + 10)]
            )
        monkeypatch.setattr(Queue, "attributes", property(counting_attributes))
        got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
    assert len(got) == 10
    assert computed == []  # moto 5.2.5 computed them twice per received message


class _Message:
    def __init__(self, sent_ms: float) -> None:
        self.sent_timestamp = sent_ms


class _Backend:
    def __init__(self, retention_s: int) -> None:
        self._queue = type("Q", (), {"message_retention_period": retention_s})()

    def get_queue(self, name: str) -> Any:
        return self._queue


def test_messages_past_their_retention_period_are_not_valid(monkeypatch: pytest.MonkeyPatch):
    import moto.core.utils

    monkeypatch.setattr(moto.core.utils, "unix_time", lambda dt=None: 1_000_000.0)
    backend = _Backend(retention_s=60)
    assert moto_fixes.message_within_retention(backend, "q", _Message(sent_ms=(1_000_000 - 59) * 1000))
    assert not moto_fixes.message_within_retention(backend, "q", _Message(sent_ms=(1_000_000 - 61) * 1000))


def test_queue_attributes_in_one_pass_equal_motos(monkeypatch: pytest.MonkeyPatch):
    from moto.sqs.models import Queue

    with mock_aws():
        sqs = boto3.client("sqs", region_name=REGION)
        dlq = sqs.create_queue(QueueName="parked")["QueueUrl"]
        dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        for name, extra in (
            ("work", {"RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 3})}),
            ("work.fifo", {"FifoQueue": "true", "ContentBasedDeduplication": "true"}),
        ):
            url = sqs.create_queue(QueueName=name, Attributes={"VisibilityTimeout": "60", **extra})["QueueUrl"]
            group = {"MessageGroupId": "g"} if name.endswith(".fifo") else {}
            for i in range(6):
                delay = {} if group or i % 3 else {"DelaySeconds": 30}
                sqs.send_message(QueueUrl=url, MessageBody=f"m{i}", **group, **delay)
            sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=2)  # in flight
            with monkeypatch.context() as unpatched:
                unpatched.setattr(Queue, "attributes", moto_fixes.original(Queue, "attributes"))
                by_moto = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
            with monkeypatch.context() as patched:
                patched.setattr(Queue, "attributes", property(moto_fixes.queue_attributes))
                ours = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
            assert ours == by_moto
            assert by_moto["ApproximateNumberOfMessagesNotVisible"] == "2"
    assert int(by_moto["ApproximateNumberOfMessages"]) == 4  # the FIFO queue: 6 sent, 2 in flight


def test_get_item_answers_exactly_what_motos_serializer_did(monkeypatch: pytest.MonkeyPatch):
    from moto.dynamodb.responses import DynamoHandler
    from moto.server import DomainDispatcherApplication, create_backend_app
    from werkzeug.test import Client

    client = Client(DomainDispatcherApplication(create_backend_app))
    ddb = f"dynamodb.{REGION}.amazonaws.com"
    table = f"items-{uuid.uuid4().hex[:8]}"
    _server_call(
        client,
        ddb,
        "DynamoDB_20120810.CreateTable",
        {
            "TableName": table,
            "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
            "AttributeDefinitions": [
                {"AttributeName": "pk", "AttributeType": "S"},
                {"AttributeName": "sk", "AttributeType": "S"},
            ],
            "BillingMode": "PAY_PER_REQUEST",
        },
    )
    item = {
        "pk": {"S": "REG#1"},
        "sk": {"S": "REG"},
        "n": {"N": "12.50"},
        "big": {"N": "123456789012345678901234567890"},
        "l": {"L": [{"S": "x"}, {"M": {"b": {"BOOL": False}, "n": {"NULL": True}}}]},
        "bin": {"B": "AAEC/w=="},
        "ns": {"NS": ["1", "2.5"]},
        "text": {"S": "Siti Nurhaliza \u00e9 \u2603"},
    }
    _server_call(client, ddb, "DynamoDB_20120810.PutItem", {"TableName": table, "Item": item})
    requests = [
        {"TableName": table, "Key": {"pk": {"S": "REG#1"}, "sk": {"S": "REG"}}, "ConsistentRead": True},
        {"TableName": table, "Key": {"pk": {"S": "REG#absent"}, "sk": {"S": "REG"}}},
        {
            "TableName": table,
            "Key": {"pk": {"S": "REG#1"}, "sk": {"S": "REG"}},
            "ProjectionExpression": "#n, l[1].b, bin",
            "ExpressionAttributeNames": {"#n": "n"},
        },
    ]
    monkeypatch.setattr(DynamoHandler, "get_item", moto_fixes.remember_original(DynamoHandler, "get_item"))
    by_serializer = [_server_call(client, ddb, "DynamoDB_20120810.GetItem", r) for r in requests]
    monkeypatch.setattr(DynamoHandler, "get_item", moto_fixes.get_item_as_json)
    assert by_serializer[0]["Item"] == item and by_serializer[1] == {}
    assert [_server_call(client, ddb, "DynamoDB_20120810.GetItem", r) for r in requests] == by_serializer
