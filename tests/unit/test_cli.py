"""The `prakerja` operations CLI against an in-process moto (and a closed port)."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from infra import cli
from infra.cli import describe_body, main, physical_name

REGION = "ap-southeast-3"
TABLE = physical_name("RegistrationsTable")
RID = "0123456789abcdef0123456789abcdef"


@pytest.fixture
def session(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    for name in (
        "AWS_ENDPOINT_URL",
        "AWS_ENDPOINT_URL_DYNAMODB",
        "AWS_ENDPOINT_URL_SQS",
        "AWS_PROFILE",
        "PRAKERJA_STACK",
        "AWS_REGION",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setattr(cli, "RECEIVE_WAIT_S", 0)
    with mock_aws():
        s = boto3.session.Session(region_name=REGION)
        s.client("dynamodb").create_table(
            TableName=TABLE,
            BillingMode="PAY_PER_REQUEST",
            AttributeDefinitions=[
                {"AttributeName": "pk", "AttributeType": "S"},
                {"AttributeName": "sk", "AttributeType": "S"},
            ],
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        )
        sqs = s.client("sqs")
        for logical in ("NikQueue", "NikDLQ", "EmailQueue", "EmailDLQ", "PhotoQueue", "PhotoDLQ", "StreamDLQ"):
            sqs.create_queue(QueueName=physical_name(logical))
        yield s


def run(session: Any, *argv: str) -> int:
    return main(list(argv), session=session, endpoint_url=None)


def queue_url(session: Any, logical: str) -> str:
    return session.client("sqs").get_queue_url(QueueName=physical_name(logical))["QueueUrl"]


def drain(session: Any, logical: str) -> list[str]:
    sqs, url, bodies = session.client("sqs"), queue_url(session, logical), []
    while True:
        messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
        if not messages:
            return bodies
        for m in messages:
            bodies.append(m["Body"])
            sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])


def park(session: Any, count: int) -> list[str]:
    bodies = [
        json.dumps({"outbox_id": f"o{i}", "kind": "NIK_CHECK", "registration_id": f"{i:032x}", "payload": {"seq": 1}})
        for i in range(1, count + 1)
    ]
    for body in bodies:
        session.client("sqs").send_message(QueueUrl=queue_url(session, "NikDLQ"), MessageBody=body)
    return bodies


# -- batch ----------------------------------------------------------------------------------------------
def test_batch_create_is_idempotent_and_refuses_other_values(session, capsys):
    assert run(session, "batch", "create", "--id", "B1", "--name", "Gelombang 1", "--seats", "120") == 0
    assert "created batch B1: 120 seats in 3 shard(s)" in capsys.readouterr().out
    assert run(session, "batch", "create", "--id", "B1", "--name", "Gelombang 1", "--seats", "120") == 0
    assert "already exists with the same name and seats" in capsys.readouterr().out
    assert run(session, "batch", "create", "--id", "B1", "--name", "Gelombang 1", "--seats", "99") == 1
    captured = capsys.readouterr()
    assert captured.err.count("\n") == 1 and "B1 already exists" in captured.err and "120" in captured.err
    assert "Traceback" not in captured.err


def test_batch_create_validates(session, capsys):
    assert run(session, "batch", "create", "--id", "bad id", "--name", "x", "--seats", "1") == 1
    assert "id:" in capsys.readouterr().err
    assert run(session, "batch", "create", "--id", "ok", "--name", "x", "--seats", "1000001") == 1
    assert "seats:" in capsys.readouterr().err
    assert run(session, "batch", "create", "--id", "ok", "--name", "x", "--seats", "abc") == 2  # usage error


def test_batch_list(session, capsys):
    run(session, "batch", "create", "--id", "b2", "--name", "Second", "--seats", "3")
    run(session, "batch", "create", "--id", "b1", "--name", "First", "--seats", "1500")
    capsys.readouterr()
    assert run(session, "batch", "list", "--json") == 0
    assert json.loads(capsys.readouterr().out) == {
        "batches": [
            {"batch_id": "b1", "name": "First", "seats_total": 1500, "seats_left": 1500},
            {"batch_id": "b2", "name": "Second", "seats_total": 3, "seats_left": 3},
        ]
    }
    assert run(session, "batch", "list") == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["Batch", "Name", "Seats", "Left"]
    assert lines[2].split() == ["b1", "First", "1500", "1500"]


# -- funnel -----------------------------------------------------------------------------------------------
def seed_funnel(session: Any) -> None:
    ddb = session.client("dynamodb")
    shards = [
        {"registered": 600, "email_verified": 450, "nik_verified": 300, "photo_accepted": 250, "joined": 100},
        {"registered": 400, "email_verified": 289, "nik_verified": 200, "photo_accepted": 150},
    ]
    for i, counts in enumerate(shards):
        item = {"pk": {"S": f"FUNNEL#{i * 7:02d}"}, "sk": {"S": "FUNNEL"}}  # shards on distinct partition keys
        item.update({k: {"N": str(v)} for k, v in counts.items()})
        ddb.put_item(TableName=TABLE, Item=item)
    # not a counter: must not be counted
    ddb.put_item(TableName=TABLE, Item={"pk": {"S": "REG#x"}, "sk": {"S": "REG"}, "registered": {"N": "5"}})


def test_funnel_table(session, capsys):
    seed_funnel(session)
    assert run(session, "funnel") == 0
    assert capsys.readouterr().out == (
        "Step            Count   Share\n"
        "--------------  -----  ------\n"
        "Registrations    1000  100.0%\n"
        "Email verified    739   73.9%\n"
        "NIK verified      500   50.0%\n"
        "Photo accepted    400   40.0%\n"
        "Joined a batch    100   10.0%\n"
    )


def test_funnel_json(session, capsys):
    seed_funnel(session)
    assert run(session, "funnel", "--json") == 0
    rows = json.loads(capsys.readouterr().out)["funnel"]
    assert [r["step"] for r in rows] == ["registered", "email_verified", "nik_verified", "photo_accepted", "joined"]
    assert rows[1] == {"step": "email_verified", "label": "Email verified", "count": 739, "share": 0.739}
    assert rows[0]["share"] == 1.0


def test_funnel_without_registrations(session, capsys):
    assert run(session, "funnel", "--json") == 0
    assert all(r["count"] == 0 and r["share"] == 0.0 for r in json.loads(capsys.readouterr().out)["funnel"])
    assert run(session, "funnel") == 0
    assert "Registrations       0      -" in capsys.readouterr().out


# -- dlq ----------------------------------------------------------------------------------------------------
def test_dlq_list_leaves_the_messages_in_place(session, capsys):
    park(session, 3)
    assert run(session, "dlq", "list", "--json") == 0
    listed = json.loads(capsys.readouterr().out)
    assert listed["queue"] == "nik" and listed["approximate_count"] == 3
    assert sorted(m["registration_id"] for m in listed["messages"]) == [f"{i:032x}" for i in (1, 2, 3)]
    assert all(
        m["kind"] == "NIK_CHECK" and m["receive_count"] >= 1 and m["first_sent_at"].endswith("Z")
        for m in listed["messages"]
    )
    assert run(session, "dlq", "list") == 0  # at once: they were released, not consumed
    text = capsys.readouterr().out
    assert "nik DLQ: 3 message(s)" in text and f"{2:032x}" in text and "payload" not in text
    assert len(drain(session, "NikDLQ")) == 3


def test_dlq_list_max_and_other_queues(session, capsys):
    park(session, 3)
    assert run(session, "dlq", "list", "--max", "2") == 0
    assert "(first 2 shown" in capsys.readouterr().out
    assert run(session, "dlq", "list", "--queue", "stream", "--json") == 0
    assert json.loads(capsys.readouterr().out)["messages"] == []


def test_dlq_redrive_moves_messages_back(session, capsys):
    bodies = park(session, 12)
    assert run(session, "dlq", "redrive", "--max", "2") == 0
    assert "moved 2 message(s)" in capsys.readouterr().out
    assert run(session, "dlq", "redrive") == 0
    assert "moved 10 message(s)" in capsys.readouterr().out
    assert drain(session, "NikDLQ") == []
    assert sorted(drain(session, "NikQueue")) == sorted(bodies)


def test_dlq_redrive_of_an_empty_stream_dlq_replays_nothing(session, capsys):
    assert run(session, "dlq", "redrive", "--queue", "stream") == 0
    assert "replayed 0 stream batch(es)" in capsys.readouterr().out


def test_missing_queue_is_a_clear_error(session, capsys):
    session.client("sqs").delete_queue(QueueUrl=queue_url(session, "EmailDLQ"))
    assert run(session, "dlq", "list", "--queue", "email") == 1
    assert "EmailDLQ not found" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ('{"kind":"EMAIL","registration_id":"abc","payload":{"nonce":"n"}}', ("abc", "EMAIL")),
        ('{"Records":[{"s3":{"object":{"key":"uploads/' + RID + '/u1"}}}]}', (RID, "PHOTO_UPLOAD")),
        ('{"DDBStreamBatchInfo":{"shardId":"s"}}', (None, "STREAM_BATCH")),
        ("not json", (None, None)),
        ("[1, 2]", (None, None)),
    ],
)
def test_describe_body(body, expected):
    assert describe_body(body) == expected


# -- targets ------------------------------------------------------------------------------------------------
def test_local_stack_not_running_is_one_clear_line(monkeypatch, capsys):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.delenv("PRAKERJA_STACK", raising=False)
    monkeypatch.setenv("PRAKERJA_AWS_PORT", str(port))
    assert main(["funnel"]) == 1
    err = capsys.readouterr().err
    assert err == f"prakerja: cannot reach the local stack at http://127.0.0.1:{port}: is `make dev` running?\n"


STACK_TEMPLATE = {
    "Resources": {
        "Table": {
            "Type": "AWS::DynamoDB::Table",
            "Properties": {
                "TableName": "deployed-table",
                "BillingMode": "PAY_PER_REQUEST",
                "AttributeDefinitions": [
                    {"AttributeName": "pk", "AttributeType": "S"},
                    {"AttributeName": "sk", "AttributeType": "S"},
                ],
                "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
            },
        },
        "NikQueue": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": "deployed-nik"}},
        "NikDLQ": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": "deployed-nik-dlq"}},
    },
    "Outputs": {
        "TableName": {"Value": {"Ref": "Table"}},
        "NikQueueUrl": {"Value": {"Ref": "NikQueue"}},
        "NikDLQUrl": {"Value": {"Ref": "NikDLQ"}},
    },
}


def test_deployed_stack_target_reads_the_stack_outputs(session, capsys, monkeypatch):
    session.client("cloudformation").create_stack(StackName="prakerja-prod", TemplateBody=json.dumps(STACK_TEMPLATE))
    assert (
        run(session, "--stack", "prakerja-prod", "batch", "create", "--id", "p1", "--name", "Prod", "--seats", "5") == 0
    )
    assert (
        session.client("dynamodb")
        .get_item(TableName="deployed-table", Key={"pk": {"S": "BATCHES"}, "sk": {"S": "BATCH#p1"}})
        .get("Item")
    )
    sqs = session.client("sqs")
    dlq = sqs.get_queue_url(QueueName="deployed-nik-dlq")["QueueUrl"]
    sqs.send_message(QueueUrl=dlq, MessageBody='{"kind":"NIK_CHECK","registration_id":"r1"}')
    monkeypatch.setenv("PRAKERJA_STACK", "prakerja-prod")
    assert run(session, "dlq", "redrive", "--region", REGION) == 0  # options also after the command
    assert "moved 1 message(s)" in capsys.readouterr().out
    nik = sqs.get_queue_url(QueueName="deployed-nik")["QueueUrl"]
    assert sqs.receive_message(QueueUrl=nik)["Messages"][0]["Body"] == '{"kind":"NIK_CHECK","registration_id":"r1"}'
    assert run(session, "dlq", "list", "--queue", "email") == 1
    assert "has no output EmailDLQUrl" in capsys.readouterr().err


def test_unknown_stack(session, capsys):
    assert run(session, "--stack", "nope", "funnel") == 1
    assert capsys.readouterr().err == f"prakerja: stack nope not found in {REGION}\n"
