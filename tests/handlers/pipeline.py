"""Drive the asynchronous half in-process: table stream -> outbox relay -> queues -> workers."""

from __future__ import annotations

import json
from typing import Any

from infra.sandbox import FakeContext, Sandbox, load_handler
from tests.conftest import sqs_event, sqs_record


class Pipeline:
    def __init__(self, box: Sandbox) -> None:
        self.box = box
        self.ddb = box.client("dynamodb")
        self.streams = box.client("dynamodbstreams")
        self.sqs = box.client("sqs")
        arn = self.ddb.describe_table(TableName=box.env["TABLE_NAME"])["Table"]["LatestStreamArn"]
        self.stream_arn = arn
        shard = self.streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]
        self.iterator = self.streams.get_shard_iterator(StreamArn=arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON")[
            "ShardIterator"
        ]

    def stream_batch(self) -> dict[str, Any]:
        resp = self.streams.get_records(ShardIterator=self.iterator, Limit=1000)
        self.iterator = resp["NextShardIterator"]
        records = [{**r, "eventSourceARN": self.stream_arn} for r in resp["Records"]]
        return {"Records": records}

    def relay(self, event: dict[str, Any] | None = None) -> dict[str, Any]:
        event = event or self.stream_batch()
        return load_handler("outbox_relay")(event, FakeContext())  # type: ignore[no-any-return]

    def drain(self, queue_env: str, function: str) -> int:
        url = self.box.env[queue_env]
        handled = 0
        while True:
            msgs = self.sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, AttributeNames=["All"]).get(
                "Messages", []
            )
            if not msgs:
                return handled
            event = sqs_event(
                *(
                    sqs_record(
                        m["Body"],
                        message_id=m["MessageId"],
                        receipt_handle=m["ReceiptHandle"],
                        receive_count=int(m["Attributes"].get("ApproximateReceiveCount", "1")),
                        sent_timestamp=m["Attributes"].get("SentTimestamp", "0"),
                    )
                    for m in msgs
                )
            )
            result = load_handler(function)(event, FakeContext())
            failed = {f["itemIdentifier"] for f in result.get("batchItemFailures", [])}
            for m in msgs:
                if m["MessageId"] not in failed:
                    self.sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
            handled += len(msgs)

    def sent_emails(self, to: str) -> list[Any]:
        from moto.core import DEFAULT_ACCOUNT_ID
        from moto.ses.models import ses_backends

        backend = ses_backends[DEFAULT_ACCOUNT_ID]["ap-southeast-3"]
        return [m for m in backend.sent_messages if to in m.destinations.get("ToAddresses", [])]

    def settle(self) -> None:
        """Relay every change, then run every worker until queues are empty."""
        for _ in range(5):
            self.relay()
            moved = self.drain("EMAIL_QUEUE_URL", "send_email") + self.drain("NIK_QUEUE_URL", "check_nik")
            if not moved:
                return


def body(response: dict[str, Any]) -> Any:
    return json.loads(response["body"]) if response.get("body") else None
